//! `/admin/v1/apps/{app_id}`: change an app's settings (`PATCH`, with `If-Match`) and delete it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tokengate_core::directory::{AppRegistration, SignInAudience};
use tokengate_core::directory_removals;
use tokengate_core::directory_updates::{self, AppUpdate};
use tokengate_proto::admin::{AppUpdateRequest, AppView, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminWriter;
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::path_id;
use super::directory_views::app_view;
use super::entity_tags::{entity_tag, tagged, IfMatch};
use crate::state::now;

/// Change an app's name, App ID URIs, audience, token version or flags; only the fields given
/// change. With `If-Match`, only if the app is still the version read; without, unconditionally.
#[utoipa::path(
    patch,
    path = "/admin/v1/apps/{app_id}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the app as read; without it the update is unconditional"),
    ),
    request_body = AppUpdateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = AppView,
            headers(("ETag" = String, description = "The app's new version"))),
        (status = 400, description = "Invalid name, App ID URI, audience or token version", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An App ID URI is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The app changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<AppUpdateRequest>,
) -> Result<Response, ApiProblem> {
    let id = path_id("app", &app_id)?;
    let sign_in_audience = match request.sign_in_audience.as_deref() {
        None => None,
        Some(text) => Some(SignInAudience::parse(text).ok_or_else(|| {
            ApiProblem::bad_request(format!(
                "sign_in_audience must be AzureADMyOrg or AzureADMultipleOrgs, not '{text}'"
            ))
        })?),
    };
    let uris = request.identifier_uris.clone().unwrap_or_default().join(", ");
    let update = AppUpdate {
        display_name: request.display_name,
        identifier_uris: request.identifier_uris,
        sign_in_audience,
        access_token_accepted_version: request.access_token_version,
        is_public_client: request.is_public_client,
        single_use_client_assertions: request.single_use_client_assertions,
        entra_compatible_refresh_tokens: request.entra_compatible_refresh_tokens,
        group_membership_claims: request.group_membership_claims,
    };
    let check = |app: &AppRegistration| if_match.admits(&entity_tag(&app_view(app.clone())));
    let app = directory_updates::update_app_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        update,
        if_match.precondition(&check),
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("an App ID URI ({uris}) is already used by another app")))?;
    Ok(tagged(app_view(app)))
}

/// Delete an app registration: every token it holds is revoked on the feed first, then the app
/// goes with its service principals, secrets, certificates, grants and consents.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (and its tokens revoked)"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The admin API's own app cannot be deleted through it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("app", &app_id)?;
    // Deleting the app whose tokens admit callers here would lock every admin out.
    if s.requirements.audiences.iter().any(|a| a == &id.to_string()) {
        return Err(ApiProblem::conflict(format!(
            "app {app_id} is the admin API's own app: deleting it would lock every admin out"
        )));
    }
    directory_removals::delete_app_by(s.store.as_ref(), &caller.actor, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
