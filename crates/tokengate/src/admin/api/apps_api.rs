//! App registrations: `/admin/v1/tenants/{tenant_id}/apps` (list, create), `/admin/v1/apps/{app_id}`
//! (show) and the permissions an app exposes (`/scopes`, `/roles`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use tokengate_core::directory::{AllowedMemberType, SignInAudience};
use tokengate_core::directory_admin::{self, NewApp};
use tokengate_proto::admin::{
    AppRoleView, AppView, NewAppRequest, NewAppRoleRequest, NewScopeRequest, Problem, ScopeView,
};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{existing_app, existing_tenant, path_id};
use super::directory_views::{app_view, member_type, redirect_uri, role_view, scope_view};
use super::entity_tags::tagged;
use crate::state::now;

/// Every app registered in a tenant.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant_id}/apps",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant's apps", body = Vec<AppView>),
        ReadRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Vec<AppView>>, ApiProblem> {
    let id = existing_tenant(s.store.as_ref(), &tenant_id).await?;
    Ok(Json(s.store.apps(id).await?.into_iter().map(app_view).collect()))
}

/// Register an app (and its service principal) in a tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant_id}/apps",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    request_body = NewAppRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = AppView),
        (status = 400, description = "Invalid name, App ID URI, redirect URI or token version", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An App ID URI is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewAppRequest>,
) -> Result<(StatusCode, Json<AppView>), ApiProblem> {
    let tenant = path_id("tenant", &tenant_id)?;
    let uris = request.identifier_uris.join(", ");
    let new = NewApp {
        display_name: request.display_name,
        identifier_uris: request.identifier_uris,
        sign_in_audience: if request.multi_tenant {
            SignInAudience::AzureADMultipleOrgs
        } else {
            SignInAudience::AzureADMyOrg
        },
        access_token_accepted_version: request.access_token_version,
        is_public_client: request.is_public_client,
        redirect_uris: request.redirect_uris.into_iter().map(redirect_uri).collect(),
        // The defaults of `tokengate app create`: opt-in hardening stays opt-in here too.
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (app, _) = directory_admin::create_app_by(s.store.as_ref(), &caller.actor, tenant, new, now())
        .await
        .map_err(|e| worded(e, || format!("an App ID URI ({uris}) is already used by another app")))?;
    Ok((StatusCode::CREATED, Json(app_view(app))))
}

/// One app registration by client id, with its `ETag` (for `If-Match` on `PATCH`).
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The app", body = AppView,
            headers(("ETag" = String, description = "The app's current version, for If-Match"))),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Response, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(tagged(app_view(app)))
}

/// Expose a delegated permission (scope) on an app.
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/scopes",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewScopeRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = ScopeView),
        (status = 400, description = "Invalid scope value", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The app already exposes this scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_scope(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewScopeRequest>,
) -> Result<(StatusCode, Json<ScopeView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let value = request.value.clone();
    let scope = directory_admin::add_scope_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        &request.value,
        &request.display_name,
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("app {app_id} already exposes the scope '{value}'")))?;
    Ok((StatusCode::CREATED, Json(scope_view(scope))))
}

/// Define an app role on an app.
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/roles",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewAppRoleRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = AppRoleView),
        (status = 400, description = "Invalid role value", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The app already defines this role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_role(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewAppRoleRequest>,
) -> Result<(StatusCode, Json<AppRoleView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let allowed = if request.allowed_member_types.is_empty() {
        vec![AllowedMemberType::Application]
    } else {
        request.allowed_member_types.into_iter().map(member_type).collect()
    };
    let value = request.value.clone();
    let role = directory_admin::add_app_role_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        &request.value,
        &request.display_name,
        allowed,
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("app {app_id} already defines the app role '{value}'")))?;
    Ok((StatusCode::CREATED, Json(role_view(role))))
}
