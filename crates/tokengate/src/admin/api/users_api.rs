//! Users: `/admin/v1/tenants/{tenant_id}/users` (list, create), `/admin/v1/users/{object_id}`
//! (show) and `/disable`, `/enable`. A password goes in once and never comes back out: no
//! answer shows it, and the directory audits only the object id and UPN.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use tokengate_core::directory_admin;
use tokengate_proto::admin::{NewUserRequest, Problem, UserView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{existing_tenant, existing_user, path_id};
use super::directory_views::user_view;
use super::entity_tags::tagged;
use crate::state::now;

/// Every user of a tenant.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant_id}/users",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant's users", body = Vec<UserView>),
        ReadRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Vec<UserView>>, ApiProblem> {
    let id = existing_tenant(s.store.as_ref(), &tenant_id).await?;
    Ok(Json(s.store.users(id).await?.into_iter().map(user_view).collect()))
}

/// Create a user with a password.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant_id}/users",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    request_body = NewUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (the password is not echoed)", body = UserView),
        (status = 400, description = "Invalid UPN, a domain not the tenant's, or a weak password", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The UPN is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiProblem> {
    let tenant = path_id("tenant", &tenant_id)?;
    let upn = request.user_principal_name.trim().to_ascii_lowercase();
    let user = directory_admin::create_user_by(
        s.store.as_ref(),
        &caller.actor,
        tenant,
        &request.user_principal_name,
        &request.display_name,
        &request.password,
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("a user named {upn} already exists")))?;
    Ok((StatusCode::CREATED, Json(user_view(user))))
}

/// One user by object id or UPN, with its `ETag` (for `If-Match` on `PATCH`).
#[utoipa::path(
    get,
    path = "/admin/v1/users/{object_id}",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID) or user principal name")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user", body = UserView,
            headers(("ETag" = String, description = "The user's current version, for If-Match"))),
        ReadRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<Response, ApiProblem> {
    let user = existing_user(s.store.as_ref(), &object_id).await?;
    Ok(tagged(user_view(user)))
}

/// Disable a user: they cannot sign in, and a user revocation on the feed denies every token
/// already issued to them and ends their sessions (enabling them again does not revive those).
#[utoipa::path(
    post,
    path = "/admin/v1/users/{object_id}/disable",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disabled and revoked", body = UserView),
        WriteRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<Json<UserView>, ApiProblem> {
    set_enabled(&s, &caller.actor, &object_id, false).await
}

/// Enable a user again: they may sign in anew.
#[utoipa::path(
    post,
    path = "/admin/v1/users/{object_id}/enable",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled", body = UserView),
        WriteRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enable(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<Json<UserView>, ApiProblem> {
    set_enabled(&s, &caller.actor, &object_id, true).await
}

/// The caller is the actor of the change and of the revocation a disable writes.
async fn set_enabled(
    s: &AdminApiState,
    actor: &str,
    object_id: &str,
    enabled: bool,
) -> Result<Json<UserView>, ApiProblem> {
    let id = existing_user(s.store.as_ref(), object_id).await?.object_id;
    let user = directory_admin::set_user_enabled_by(s.store.as_ref(), actor, id, enabled, now()).await?;
    Ok(Json(user_view(user)))
}
