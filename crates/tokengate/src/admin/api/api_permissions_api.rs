//! `/admin/v1/apps/{app_id}/api-permissions`: the permissions of other APIs an app is configured
//! to ask for (Entra's "API permissions", `requiredResourceAccess`): what `.default` stands for
//! and what consent asks. Configuring is not granting: application permissions still need an
//! app role grant, delegated ones consent.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tokengate_core::api_permissions::{self, ConfiguredPermissions};
use tokengate_proto::admin::{ApiPermissionView, NewApiPermissionRequest, Problem};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::path_id;
use crate::state::now;

fn view(p: ConfiguredPermissions) -> ApiPermissionView {
    ApiPermissionView {
        resource_app_id: p.resource_app_id.to_string(),
        resource_name: p.resource_name,
        scopes: p.scopes,
        roles: p.roles,
    }
}

/// Which of a resource's configured permissions to remove.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemovedPermissions {
    /// Scope values, comma-separated.
    #[serde(default)]
    scopes: Option<String>,
    /// App role values, comma-separated. With neither, every permission on the resource goes.
    #[serde(default)]
    roles: Option<String>,
}

fn values(list: Option<&str>) -> Vec<String> {
    list.unwrap_or_default().split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// The app's configured permissions, per resource.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/api-permissions",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The configured permissions", body = Vec<ApiPermissionView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<ApiPermissionView>>, ApiProblem> {
    let id = path_id("app", &app_id)?;
    Ok(Json(api_permissions::api_permissions(s.store.as_ref(), id).await?.into_iter().map(view).collect()))
}

/// Configure delegated scopes and/or application permissions (app roles) of a resource API.
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/api-permissions",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewApiPermissionRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Configured: the resource's permissions now", body = ApiPermissionView),
        (status = 400, description = "Nothing named, or a role applications cannot hold", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app, resource, scope or role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewApiPermissionRequest>,
) -> Result<(StatusCode, Json<ApiPermissionView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let (resource, scopes, roles) = (&request.resource, &request.scopes, &request.roles);
    let configured =
        api_permissions::add_api_permission_by(s.store.as_ref(), &caller.actor, id, resource, scopes, roles, now())
            .await?;
    Ok((StatusCode::CREATED, Json(view(configured))))
}

/// Remove configured permissions of a resource (`?scopes=a,b&roles=c`); naming none removes the
/// resource altogether.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/api-permissions/{resource}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("resource" = String, Path, description = "The resource app's client id or App ID URI (percent-encoded)"),
        RemovedPermissions,
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such app or resource, or the permission is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((app_id, resource)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<RemovedPermissions>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app", &app_id)?;
    let (scopes, roles) = (values(query.scopes.as_deref()), values(query.roles.as_deref()));
    api_permissions::remove_api_permission_by(s.store.as_ref(), &caller.actor, id, &resource, &scopes, &roles, now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
