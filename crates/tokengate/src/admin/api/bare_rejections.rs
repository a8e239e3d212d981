//! The admin API's last word on errors: every 4xx/5xx that leaves it is a problem document.
//! Handlers and the `Api*` extractors already answer with `ApiProblem`; what is left are the
//! answers axum builds itself — 405 for a method a path does not have (empty body, with `Allow`),
//! 404 for a path under `/admin/v1/` that names no operation, and any plain-text rejection of an
//! extractor. This layer rewrites those into `application/problem+json` at the same status,
//! keeping their headers (`Allow`, `WWW-Authenticate`, `Retry-After`).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api_problem::ApiProblem;

/// The most of a bare error body that becomes the problem's detail.
const DETAIL_LIMIT: usize = 1024;

/// Middleware (`axum::middleware::from_fn`): rewrites every error answer that is not already a
/// problem document.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, DETAIL_LIMIT)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_default();
    let detail = match status {
        // axum adds `Allow` once the answer leaves the route.
        StatusCode::METHOD_NOT_ALLOWED => format!("{path} does not answer {method}; `Allow` names the methods it does"),
        StatusCode::NOT_FOUND if text.is_empty() => no_such_operation(&method, &path),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    let mut problem = ApiProblem::with_status(status, detail).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// The answer for a path under `/admin/v1/` that names no operation.
pub async fn no_operation(method: Method, uri: axum::http::Uri) -> ApiProblem {
    ApiProblem::not_found(no_such_operation(&method, uri.path()))
}

fn no_such_operation(method: &Method, path: &str) -> String {
    format!("no admin API operation {method} {path}; the operations are listed in /admin/v1/openapi.json")
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/problem+json"))
}
