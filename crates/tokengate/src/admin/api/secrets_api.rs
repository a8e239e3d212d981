//! Client secrets of an app: `/admin/v1/apps/{app_id}/secrets` (create: the value shown once;
//! list: metadata only) and `/admin/v1/apps/{app_id}/secrets/{key_id}` (delete).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::{directory_admin, directory_removals};
use tokengate_proto::admin::{CreatedSecretView, NewSecretRequest, Problem, SecretView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::path_id;
use super::directory_views::secret_view;
use crate::state::now;

/// Six months: long enough to be practical, short enough that forgotten secrets lapse.
const DEFAULT_LIFETIME_DAYS: i64 = 180;

/// Create a client secret; the answer is the only time its value is shown.
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/secrets",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewSecretRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; `value` is shown this once", body = CreatedSecretView),
        (status = 400, description = "Lifetime out of range, or a public client", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewSecretRequest>,
) -> Result<(StatusCode, Json<CreatedSecretView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let days = request.lifetime_days.unwrap_or(DEFAULT_LIFETIME_DAYS);
    let created =
        directory_admin::create_secret_by(s.store.as_ref(), &caller.actor, id, &request.display_name, days, now())
            .await?;
    let view = CreatedSecretView { secret: secret_view(created.secret), value: created.value };
    Ok((StatusCode::CREATED, Json(view)))
}

/// An app's client secrets: key id, name, hint and expiry (never the value or its hash).
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/secrets",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The secrets' metadata", body = Vec<SecretView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<SecretView>>, ApiProblem> {
    let id = path_id("app", &app_id)?;
    if s.store.app(id).await?.is_none() {
        return Err(ApiProblem::not_found(format!("app {app_id} not found")));
    }
    Ok(Json(s.store.secrets(id).await?.into_iter().map(secret_view).collect()))
}

/// Delete a client secret: it stops working at once.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/secrets/{key_id}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("key_id" = String, Path, description = "The secret's key id (GUID)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        WriteRefusals,
        (status = 404, description = "No such app, or no such secret on it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((app_id, key_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    let app = path_id("app", &app_id)?;
    let key = path_id("secret", &key_id)?;
    directory_removals::delete_secret_by(s.store.as_ref(), &caller.actor, app, key, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
