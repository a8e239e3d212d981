//! `/admin/v1/users/{object_id}`: change a user (`PATCH`, with `If-Match`), delete one, and read
//! their group memberships (`/groups`). A new password goes in once and never comes back.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use tokengate_core::directory::User;
use tokengate_core::directory_removals;
use tokengate_core::directory_updates::{self, UserUpdate};
use tokengate_proto::admin::{GroupView, Problem, UserUpdateRequest, UserView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::existing_user;
use super::directory_views::{group_view, user_view};
use super::entity_tags::{entity_tag, tagged, IfMatch};
use crate::state::now;

/// Change a user's display name, UPN or password; only the fields given change. With
/// `If-Match`, only if the user is still the version read; without, unconditionally.
#[utoipa::path(
    patch,
    path = "/admin/v1/users/{object_id}",
    tag = "directory",
    params(
        ("object_id" = String, Path, description = "The user's object id (GUID) or UPN"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the user as read; without it the update is unconditional"),
    ),
    request_body = UserUpdateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated (the password is not echoed)", body = UserView,
            headers(("ETag" = String, description = "The user's new version"))),
        (status = 400, description = "Invalid UPN, a domain not the tenant's, or a weak password", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The UPN is taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The user changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<UserUpdateRequest>,
) -> Result<Response, ApiProblem> {
    let id = existing_user(s.store.as_ref(), &object_id).await?.object_id;
    let upn = request.user_principal_name.clone().unwrap_or_default();
    let update = UserUpdate {
        display_name: request.display_name,
        user_principal_name: request.user_principal_name,
        password: request.password,
    };
    let check = |u: &User| if_match.admits(&entity_tag(&user_view(u.clone())));
    let user = directory_updates::update_user_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        update,
        if_match.precondition(&check),
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("a user named {} already exists", upn.trim().to_ascii_lowercase())))?;
    Ok(tagged(user_view(user)))
}

/// Delete a user: every token and session they hold is revoked on the feed first, then they go
/// with their memberships, app role assignments and consents.
#[utoipa::path(
    delete,
    path = "/admin/v1/users/{object_id}",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID) or UPN")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (and their tokens revoked)"),
        WriteRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<StatusCode, ApiProblem> {
    let id = existing_user(s.store.as_ref(), &object_id).await?.object_id;
    directory_removals::delete_user_by(s.store.as_ref(), &caller.actor, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The groups a user is a direct member of.
#[utoipa::path(
    get,
    path = "/admin/v1/users/{object_id}/groups",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID) or UPN")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's groups", body = Vec<GroupView>),
        ReadRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn groups(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<Json<Vec<GroupView>>, ApiProblem> {
    let user = existing_user(s.store.as_ref(), &object_id).await?;
    Ok(Json(s.store.groups_of(user.object_id).await?.into_iter().map(group_view).collect()))
}
