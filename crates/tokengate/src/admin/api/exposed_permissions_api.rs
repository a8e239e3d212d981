//! What an app exposes, read and removed: `/admin/v1/apps/{app_id}/scopes` (delegated
//! permissions) and `/roles` (app roles), each listed, and removed by value or id while nothing
//! still grants it. Adding them lives in `apps_api`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::directory_updates;
use tokengate_proto::admin::{AppRoleView, Problem, ScopeView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::ApiPath;
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::{existing_app, path_id};
use super::directory_views::{role_view, scope_view};
use crate::state::now;

/// The delegated permissions an app exposes.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/scopes",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The scopes", body = Vec<ScopeView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_scopes(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<ScopeView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(Json(app.scopes.into_iter().map(scope_view).collect()))
}

/// Remove a delegated permission; refused (409) while a consent still grants it.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/scopes/{scope}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("scope" = String, Path, description = "The scope's value or id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such app, or no such scope on it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Consents still grant it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_scope(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((app_id, scope)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app", &app_id)?;
    directory_updates::remove_scope_by(s.store.as_ref(), &caller.actor, id, &scope, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The app roles an app defines.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/roles",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The app roles", body = Vec<AppRoleView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_roles(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<AppRoleView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(Json(app.app_roles.into_iter().map(role_view).collect()))
}

/// Remove an app role; refused (409) while any app, user or group holds it.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/roles/{role}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("role" = String, Path, description = "The app role's value or id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such app, or no such role on it", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A principal still holds it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_role(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((app_id, role)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app", &app_id)?;
    directory_updates::remove_app_role_by(s.store.as_ref(), &caller.actor, id, &role, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
