//! Refusals every operation can answer whatever its handler does, declared on each operation of
//! the generated document in one place (so a new operation cannot forget them):
//! - 400 for any operation: a malformed `Authorization` header (RFC 6750 `invalid_request`), a
//!   path segment that is not UTF-8 once percent-decoded, a query string that does not parse;
//! - 413 and 415 for an operation with a body: larger than the limit, or not `application/json`
//!   (400 for a JSON body that does not parse or does not fit the schema).
//!
//! An operation that declares one of these itself keeps its own, more specific description.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

const PROBLEM: &str = "application/problem+json";

const ANY_OPERATION: &[(&str, &str)] =
    &[("400", "Malformed request: the Authorization header, a path segment or a query parameter cannot be read")];

const WITH_BODY: &[(&str, &str)] = &[
    ("400", "Malformed request: the body is not JSON or does not fit the schema, or a header, path segment or query parameter cannot be read"),
    ("413", "The body is larger than the admin API accepts"),
    ("415", "The body is not `Content-Type: application/json`"),
];

/// Adds the shared refusals to every operation of `document`.
pub fn declare(document: &mut utoipa::openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            declare_on(operation);
        }
    }
}

fn declare_on(operation: &mut Operation) {
    let refusals = if operation.request_body.is_some() { WITH_BODY } else { ANY_OPERATION };
    for (status, description) in refusals {
        operation.responses.responses.entry((*status).to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
                    .build(),
            )
        });
    }
}
