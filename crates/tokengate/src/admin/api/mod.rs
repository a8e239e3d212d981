//! The admin REST API, `/admin/v1/...` on the admin listener: JSON in and out (wire types in
//! `tokengate_proto::admin`), RFC 9457 problems for every error, bearer tokens of the built-in
//! issuer with the admin API's app roles. The OpenAPI 3.1 document is generated from the handlers
//! and types (utoipa), served at `/admin/v1/openapi.json`, and checked in at
//! `docs/admin-openapi.json` (a test compares the two).

pub mod admin_api_state;
mod admin_caller;
mod api_extractors;
mod api_permissions_api;
mod api_problem;
mod app_role_assignments_api;
mod app_role_grants_api;
mod app_updates_api;
mod apps_api;
mod audit_api;
mod audit_filter_params;
mod audit_summary_api;
mod audit_tail_api;
mod audit_verification_api;
mod bare_rejections;
mod certificates_api;
mod consents_api;
mod covering_revocation;
mod directory_conflicts;
mod directory_ids;
mod directory_views;
mod entity_tags;
mod entra_claim_meanings;
mod exposed_permissions_api;
mod group_updates_api;
mod groups_api;
mod keys_api;
mod nodes_api;
mod policies_api;
mod policy_validation_api;
mod redirect_uris_api;
mod revocations_api;
mod secrets_api;
mod service_principals_api;
mod shared_refusals;
mod tenant_updates_api;
mod tenants_api;
mod token_debugger_api;
mod token_route_checks;
mod unverified_token;
mod user_updates_api;
mod users_api;

#[cfg(test)]
pub(crate) mod admin_api_tests;
#[cfg(test)]
mod api_rejections_tests;
#[cfg(test)]
mod audit_api_tests;
#[cfg(test)]
mod directory_api_tests;
#[cfg(test)]
mod directory_changes_api_tests;
#[cfg(test)]
mod policies_api_tests;
#[cfg(test)]
mod token_debugger_tests;

use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use admin_api_state::{AdminApiState, ADMIN_ROLE, AUDITOR_ROLE};
pub use admin_caller::AdminRole;
pub use api_problem::ApiProblem;

/// Where the generated document is checked in (relative to the repository root).
#[cfg(test)]
const CHECKED_IN_DOCUMENT: &str = "docs/admin-openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokengate admin API",
        version = "1",
        description = "Manage tokengate: revocations (the kill switch), nodes, signing keys, tenants, apps, \
            secrets, users, groups, app role grants and the audit log; explain a token. \
            Every operation needs `Authorization: Bearer <token>` from the built-in issuer for the admin \
            API app (`api://tokengate-admin` in `tokengate dev`) holding the app role `Tokengate.Admin` \
            (everything) or `Tokengate.Auditor` (read only). Errors are RFC 9457 problem documents."
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "revocations", description = "The kill switch: revoke tokens, users, client apps, keys, refresh-token families on every node"),
        (name = "nodes", description = "The nodes sharing the store and how far each has applied the feed"),
        (name = "keys", description = "The built-in issuer's signing keys"),
        (name = "tenants", description = "Tenants of the built-in issuer"),
        (name = "debug", description = "Explain a token: claims, verdict, revocation and each route's decision"),
        (name = "directory", description = "Apps (settings, redirect URIs, scopes, app roles, secrets, certificates, service principals, API permissions), users, groups, memberships, app role grants and assignments, and consents of the built-in issuer's tenants. Updates answer an `ETag`-guarded `If-Match` with 412 when the object changed since it was read"),
        (name = "audit", description = "The audit log: filtered pages, a JSON-lines export, and a live tail as server-sent events"),
        (name = "policies", description = "The gateway policy's versions: history, publish and rollback under If-Match, diff, and simulation against recent decisions"),
    )
)]
struct AdminApiDoc;

/// The one security scheme every operation names.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token of the built-in issuer for the admin API app"))
                    .build(),
            ),
        );
    }
}

fn routes() -> OpenApiRouter<Arc<AdminApiState>> {
    OpenApiRouter::with_openapi(AdminApiDoc::openapi())
        .routes(routes!(revocations_api::list, revocations_api::create))
        .routes(routes!(nodes_api::list))
        .routes(routes!(keys_api::list))
        .routes(routes!(tenants_api::list, tenants_api::create))
        .routes(routes!(tenants_api::show))
        .routes(routes!(token_debugger_api::explain))
        .routes(routes!(apps_api::list, apps_api::create))
        .routes(routes!(apps_api::show))
        .routes(routes!(apps_api::add_scope))
        .routes(routes!(apps_api::add_role))
        .routes(routes!(secrets_api::create, secrets_api::list))
        .routes(routes!(secrets_api::delete))
        .routes(routes!(users_api::list, users_api::create))
        .routes(routes!(users_api::show))
        .routes(routes!(users_api::disable))
        .routes(routes!(users_api::enable))
        .routes(routes!(groups_api::list, groups_api::create))
        .routes(routes!(groups_api::add_member))
        .routes(routes!(app_role_grants_api::grant))
        .routes(routes!(audit_api::page))
        .routes(routes!(audit_api::export))
        .routes(routes!(audit_tail_api::tail))
        .routes(routes!(policies_api::history, policies_api::publish))
        .routes(routes!(policies_api::show))
        .routes(routes!(policies_api::rollback))
        .routes(routes!(policies_api::compare))
        .routes(routes!(policies_api::simulate))
        .routes(routes!(app_updates_api::update, app_updates_api::delete))
        .routes(routes!(redirect_uris_api::list, redirect_uris_api::add, redirect_uris_api::remove))
        .routes(routes!(exposed_permissions_api::list_scopes))
        .routes(routes!(exposed_permissions_api::remove_scope))
        .routes(routes!(exposed_permissions_api::list_roles))
        .routes(routes!(exposed_permissions_api::remove_role))
        .routes(routes!(certificates_api::add, certificates_api::list))
        .routes(routes!(certificates_api::delete))
        .routes(routes!(service_principals_api::list, service_principals_api::provision))
        .routes(routes!(api_permissions_api::list, api_permissions_api::add))
        .routes(routes!(api_permissions_api::remove))
        .routes(routes!(app_role_grants_api::list_for_app))
        .routes(routes!(app_role_grants_api::show, app_role_grants_api::revoke))
        .routes(routes!(user_updates_api::update, user_updates_api::delete))
        .routes(routes!(user_updates_api::groups))
        .routes(routes!(app_role_assignments_api::list_for_user, app_role_assignments_api::assign_to_user))
        .routes(routes!(app_role_assignments_api::unassign_from_user))
        .routes(routes!(app_role_assignments_api::list_for_group, app_role_assignments_api::assign_to_group))
        .routes(routes!(app_role_assignments_api::unassign_from_group))
        .routes(routes!(group_updates_api::show, group_updates_api::update, group_updates_api::delete))
        .routes(routes!(group_updates_api::members))
        .routes(routes!(group_updates_api::remove_member))
        .routes(routes!(tenant_updates_api::update))
        .routes(routes!(consents_api::list, consents_api::grant))
        .routes(routes!(consents_api::show, consents_api::revoke))
        .routes(routes!(keys_api::rotate))
        .routes(routes!(policy_validation_api::validate))
        .routes(routes!(audit_summary_api::summary))
        .routes(routes!(audit_verification_api::verification))
}

/// The routes and the document they describe, with the refusals every operation can answer.
fn routes_and_document() -> (Router<Arc<AdminApiState>>, utoipa::openapi::OpenApi) {
    let (router, mut document) = routes().split_for_parts();
    shared_refusals::declare(&mut document);
    (router, document)
}

/// The document the handlers describe (tests compare it with the checked-in one).
#[cfg(test)]
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_and_document().1
}

/// The document as served and checked in.
#[cfg(test)]
pub fn openapi_json() -> String {
    render(&openapi())
}

pub fn router(state: Arc<AdminApiState>) -> Router {
    let (router, document) = routes_and_document();
    // Rendered on first request, not at start: most nodes never serve it, and idle memory counts.
    let rendered = Arc::new(std::sync::OnceLock::<String>::new());
    let document = Arc::new(document);
    router
        .with_state(state)
        .route(
            "/admin/v1/openapi.json",
            get(move || {
                let (rendered, document) = (rendered.clone(), document.clone());
                async move { serve_document(rendered.get_or_init(|| render(&document))) }
            }),
        )
        // A path under /admin/v1/ that names no operation: a problem, not axum's empty 404.
        .route("/admin/v1/{*rest}", axum::routing::any(bare_rejections::no_operation))
        .layer(axum::middleware::from_fn(bare_rejections::problem_for_bare_errors))
}

fn render(document: &utoipa::openapi::OpenApi) -> String {
    let mut text = document.to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// Answers every `/admin/v1/...` request on a node whose admin API is not configured.
pub fn unconfigured_router(reason: String) -> Router {
    let reason = Arc::new(reason);
    Router::new().route(
        "/admin/v1/{*rest}",
        axum::routing::any(move || {
            let reason = reason.clone();
            async move { ApiProblem::unavailable(reason.as_str().to_owned()) }
        }),
    )
}

fn serve_document(document: &str) -> Response {
    let mut response = document.to_owned().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// ISO 8601 (RFC 3339, UTC) for a unix second; the number itself if out of range.
pub fn iso8601(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
