//! `/admin/v1/tenants/{tenant_id}/app-role-grants`: an application permission (an app role of a
//! resource) granted to a client app, as admin consent grants it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::directory_admin;
use tokengate_proto::admin::{AppRoleGrantView, NewAppRoleGrantRequest, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminWriter;
use super::api_extractors::ApiJson;
use super::api_problem::{ApiProblem, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{body_id, path_id};
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
    AdminWriter(_caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    Path(tenant_id): Path<String>,
    ApiJson(request): ApiJson<NewAppRoleGrantRequest>,
) -> Result<(StatusCode, Json<AppRoleGrantView>), ApiProblem> {
    let tenant = path_id("tenant", &tenant_id)?;
    let client = body_id("client_app_id", &request.client_app_id)?;
    let resource = body_id("resource_app_id", &request.resource_app_id)?;
    let role = request.role_value.clone();
    let grant = directory_admin::grant_app_role(s.store.as_ref(), tenant, client, resource, &request.role_value, now())
        .await
        .map_err(|e| worded(e, || format!("app {client} already holds the app role '{role}' of {resource}")))?;
    Ok((StatusCode::CREATED, Json(grant_view(grant))))
}
