//! `/admin/v1/groups/{group_id}`: show (with `ETag`), rename (`PATCH`, with `If-Match`), delete;
//! `/members` listed and `/members/{user_id}` removed (adding lives in `groups_api`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use tokengate_core::directory::Group;
use tokengate_core::{directory_removals, directory_updates};
use tokengate_proto::admin::{GroupUpdateRequest, GroupView, Problem, UserView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::{existing_group, existing_user, path_id};
use super::directory_views::{group_view, user_view};
use super::entity_tags::{entity_tag, tagged, IfMatch};
use crate::state::now;

/// One group, with its `ETag` (for `If-Match` on `PATCH`).
#[utoipa::path(
    get,
    path = "/admin/v1/groups/{group_id}",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The group", body = GroupView,
            headers(("ETag" = String, description = "The group's current version, for If-Match"))),
        ReadRefusals,
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<Response, ApiProblem> {
    Ok(tagged(group_view(existing_group(s.store.as_ref(), &group_id).await?)))
}

/// Rename a group. With `If-Match`, only if the group is still the version read; without,
/// unconditionally.
#[utoipa::path(
    patch,
    path = "/admin/v1/groups/{group_id}",
    tag = "directory",
    params(
        ("group_id" = String, Path, description = "The group's object id (GUID)"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the group as read; without it the update is unconditional"),
    ),
    request_body = GroupUpdateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = GroupView,
            headers(("ETag" = String, description = "The group's new version"))),
        (status = 400, description = "Empty name", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The group changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<GroupUpdateRequest>,
) -> Result<Response, ApiProblem> {
    let id = path_id("group", &group_id)?;
    let check = |g: &Group| if_match.admits(&entity_tag(&group_view(g.clone())));
    let precondition = if_match.precondition(&check);
    let group = directory_updates::update_group_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        request.display_name,
        precondition,
        now(),
    )
    .await?;
    Ok(tagged(group_view(group)))
}

/// Delete a group with its memberships and app role assignments.
#[utoipa::path(
    delete,
    path = "/admin/v1/groups/{group_id}",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        WriteRefusals,
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("group", &group_id)?;
    directory_removals::delete_group_by(s.store.as_ref(), &caller.actor, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's direct members.
#[utoipa::path(
    get,
    path = "/admin/v1/groups/{group_id}/members",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The members", body = Vec<UserView>),
        ReadRefusals,
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn members(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<Json<Vec<UserView>>, ApiProblem> {
    let group = existing_group(s.store.as_ref(), &group_id).await?;
    Ok(Json(s.store.group_members(group.object_id).await?.into_iter().map(user_view).collect()))
}

/// Remove a member from the group.
#[utoipa::path(
    delete,
    path = "/admin/v1/groups/{group_id}/members/{user_id}",
    tag = "directory",
    params(
        ("group_id" = String, Path, description = "The group's object id (GUID)"),
        ("user_id" = String, Path, description = "The member's object id (GUID) or UPN"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such group or user, or the user is no member", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_member(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((group_id, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    let group = path_id("group", &group_id)?;
    let user = existing_user(s.store.as_ref(), &user_id).await?.object_id;
    directory_removals::remove_group_member_by(s.store.as_ref(), &caller.actor, group, user, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
