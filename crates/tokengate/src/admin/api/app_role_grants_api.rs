//! App role grants: an application permission (an app role of a resource) granted to a client
//! app, as admin consent grants it (`/admin/v1/tenants/{tenant_id}/app-role-grants`), listed per
//! client app, shown and revoked by id (`/admin/v1/app-role-grants/{grant_id}`, which also
//! revokes user and group assignments).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::{directory_admin, directory_removals};
use tokengate_proto::admin::{AppRoleGrantView, NewAppRoleGrantRequest, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{body_id, existing_app, path_id, tenant_named};
use super::directory_views::grant_view;
use crate::state::now;

/// Grant an app role of a resource app to a client app's service principal in a tenant.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant_id}/app-role-grants",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    request_body = NewAppRoleGrantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Granted", body = AppRoleGrantView),
        (status = 400, description = "An id is no GUID, or the role cannot be granted to applications", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such resource app, role, or client service principal in the tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The client already holds the role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn grant(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewAppRoleGrantRequest>,
) -> Result<(StatusCode, Json<AppRoleGrantView>), ApiProblem> {
    let tenant = path_id("tenant", &tenant_id)?;
    let client = body_id("client_app_id", &request.client_app_id)?;
    let resource = body_id("resource_app_id", &request.resource_app_id)?;
    let role = request.role_value.clone();
    let grant = directory_admin::grant_app_role_by(
        s.store.as_ref(),
        &caller.actor,
        tenant,
        client,
        resource,
        &request.role_value,
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("app {client} already holds the app role '{role}' of {resource}")))?;
    Ok((StatusCode::CREATED, Json(grant_view(grant))))
}

/// Whose grants: the client app's service principal in this tenant (default: the app's home).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantsQuery {
    /// Tenant GUID or domain.
    #[serde(default)]
    tenant_id: Option<String>,
}

/// The app roles a client app holds in a tenant (its service principal's grants).
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/app-role-grants",
    tag = "directory",
    params(("app_id" = String, Path, description = "The client app's id (GUID)"), GrantsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grants", body = Vec<AppRoleGrantView>),
        ReadRefusals,
        (status = 404, description = "No such app, tenant, or service principal of the app there", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_for_app(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<GrantsQuery>,
) -> Result<Json<Vec<AppRoleGrantView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    let tenant = match &query.tenant_id {
        Some(t) => tenant_named(s.store.as_ref(), t).await?.id,
        None => app.tenant_id,
    };
    let sp = s.store.service_principal(tenant, app.app_id).await?.ok_or_else(|| {
        ApiProblem::not_found(format!("service principal of app {app_id} in tenant {tenant} not found"))
    })?;
    Ok(Json(s.store.app_role_grants(sp.object_id, None).await?.into_iter().map(grant_view).collect()))
}

/// One app role grant or assignment by id.
#[utoipa::path(
    get,
    path = "/admin/v1/app-role-grants/{grant_id}",
    tag = "directory",
    params(("grant_id" = String, Path, description = "The grant's id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grant", body = AppRoleGrantView),
        ReadRefusals,
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(grant_id): ApiPath<String>,
) -> Result<Json<AppRoleGrantView>, ApiProblem> {
    let id = path_id("app role grant", &grant_id)?;
    let grant = s.store.app_role_grant(id).await?;
    let grant = grant.ok_or_else(|| ApiProblem::not_found(format!("app role grant {grant_id} not found")))?;
    Ok(Json(grant_view(grant)))
}

/// Revoke an app role grant (or a user's or group's assignment). Tokens already issued keep the
/// role until they expire: revoke the client or user too to cut them at once.
#[utoipa::path(
    delete,
    path = "/admin/v1/app-role-grants/{grant_id}",
    tag = "directory",
    params(("grant_id" = String, Path, description = "The grant's id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        WriteRefusals,
        (status = 404, description = "No such grant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(grant_id): ApiPath<String>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app role grant", &grant_id)?;
    directory_removals::revoke_app_role_grant_by(s.store.as_ref(), &caller.actor, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
