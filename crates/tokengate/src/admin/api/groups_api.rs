//! Groups: `/admin/v1/tenants/{tenant_id}/groups` (list, create) and
//! `/admin/v1/groups/{group_id}/members` (add a user).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::directory_admin;
use tokengate_proto::admin::{GroupView, NewGroupMemberRequest, NewGroupRequest, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{body_id, existing_tenant, path_id};
use super::directory_views::group_view;
use crate::state::now;

/// Every group of a tenant.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant_id}/groups",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant's groups", body = Vec<GroupView>),
        ReadRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<Vec<GroupView>>, ApiProblem> {
    let id = existing_tenant(s.store.as_ref(), &tenant_id).await?;
    Ok(Json(s.store.groups(id).await?.into_iter().map(group_view).collect()))
}

/// Create a group.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants/{tenant_id}/groups",
    tag = "directory",
    params(("tenant_id" = String, Path, description = "Tenant GUID")),
    request_body = NewGroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = GroupView),
        (status = 400, description = "Empty name", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewGroupRequest>,
) -> Result<(StatusCode, Json<GroupView>), ApiProblem> {
    let tenant = path_id("tenant", &tenant_id)?;
    let group =
        directory_admin::create_group_by(s.store.as_ref(), &caller.actor, tenant, &request.display_name, now()).await?;
    Ok((StatusCode::CREATED, Json(group_view(group))))
}

/// Add a user of the group's tenant to the group.
#[utoipa::path(
    post,
    path = "/admin/v1/groups/{group_id}/members",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    request_body = NewGroupMemberRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Added"),
        (status = 400, description = "user_id is no GUID", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such user, or no such group in the user's tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already a member", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_member(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewGroupMemberRequest>,
) -> Result<StatusCode, ApiProblem> {
    let group = path_id("group", &group_id)?;
    let user = body_id("user_id", &request.user_id)?;
    directory_admin::add_group_member_by(s.store.as_ref(), &caller.actor, group, user, now())
        .await
        .map_err(|e| worded(e, || format!("user {user} is already a member of group {group_id}")))?;
    Ok(StatusCode::NO_CONTENT)
}
