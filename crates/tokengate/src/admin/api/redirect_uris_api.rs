//! `/admin/v1/apps/{app_id}/redirect-uris`: where an app may receive authorization responses,
//! per platform (web, SPA, public client): list, add, remove.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tokengate_core::{directory_admin, directory_updates};
use tokengate_proto::admin::{Problem, RedirectPlatformView, RedirectUriView};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{existing_app, path_id};
use super::directory_views::{redirect_platform, redirect_uri, redirect_view};
use crate::state::now;

/// Which redirect URI to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RedirectUriQuery {
    /// The URI exactly as registered.
    uri: String,
    /// Only on this platform (default: every platform it is registered for).
    #[serde(default)]
    platform: Option<RedirectPlatformView>,
}

/// An app's redirect URIs.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/redirect-uris",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The redirect URIs", body = Vec<RedirectUriView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<RedirectUriView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(Json(app.redirect_uris.into_iter().map(redirect_view).collect()))
}

/// Register one more redirect URI (https; http only for localhost; custom schemes for public
/// clients).
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/redirect-uris",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = RedirectUriView,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = RedirectUriView),
        (status = 400, description = "Not an acceptable redirect URI", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already registered", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<RedirectUriView>,
) -> Result<(StatusCode, Json<RedirectUriView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let uri = request.uri.clone();
    directory_admin::add_redirect_uri_by(s.store.as_ref(), &caller.actor, id, redirect_uri(request.clone()), now())
        .await
        .map_err(|e| worded(e, || format!("app {app_id} already has the redirect URI '{uri}'")))?;
    Ok((StatusCode::CREATED, Json(request)))
}

/// Unregister a redirect URI (`?uri=...`, optionally `&platform=web|spa|public_client`).
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/redirect-uris",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)"), RedirectUriQuery),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "No uri given", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app, or the URI is not registered", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RedirectUriQuery>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app", &app_id)?;
    let platform = query.platform.map(redirect_platform);
    directory_updates::remove_redirect_uri_by(s.store.as_ref(), &caller.actor, id, &query.uri, platform, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
