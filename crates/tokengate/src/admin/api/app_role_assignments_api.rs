//! App roles assigned to users and groups (roles whose allowed member types include users):
//! `/admin/v1/users/{object_id}/app-role-assignments` and
//! `/admin/v1/groups/{group_id}/app-role-assignments` (list, assign), each with `/{assignment_id}`
//! (remove). An assignment removed here must belong to the principal the path names.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::{directory_admin, directory_removals};
use tokengate_proto::admin::{AppRoleGrantView, NewAppRoleAssignmentRequest, Problem};
use uuid::Uuid;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{body_id, existing_group, existing_user, path_id};
use super::directory_views::grant_view;
use crate::state::now;

/// A user or group as a principal: (tenant, object id, words naming it).
type Principal = (Uuid, Uuid, String);

async fn user(s: &AdminApiState, id: &str) -> Result<Principal, ApiProblem> {
    let u = existing_user(s.store.as_ref(), id).await?;
    Ok((u.tenant_id, u.object_id, format!("user {id}")))
}

async fn group(s: &AdminApiState, id: &str) -> Result<Principal, ApiProblem> {
    let g = existing_group(s.store.as_ref(), id).await?;
    Ok((g.tenant_id, g.object_id, format!("group {id}")))
}

async fn list(s: &AdminApiState, (_, id, _): Principal) -> Result<Json<Vec<AppRoleGrantView>>, ApiProblem> {
    Ok(Json(s.store.app_role_grants(id, None).await?.into_iter().map(grant_view).collect()))
}

async fn assign(
    s: &AdminApiState,
    actor: &str,
    (tenant, id, name): Principal,
    request: NewAppRoleAssignmentRequest,
) -> Result<(StatusCode, Json<AppRoleGrantView>), ApiProblem> {
    let resource = body_id("resource_app_id", &request.resource_app_id)?;
    let role = request.role_value.clone();
    let grant =
        directory_admin::assign_user_role_by(s.store.as_ref(), actor, tenant, id, resource, &request.role_value, now())
            .await
            .map_err(|e| worded(e, || format!("{name} already holds the app role '{role}' of {resource}")))?;
    Ok((StatusCode::CREATED, Json(grant_view(grant))))
}

async fn unassign(
    s: &AdminApiState,
    actor: &str,
    (_, id, name): Principal,
    assignment_id: &str,
) -> Result<StatusCode, ApiProblem> {
    let missing = || ApiProblem::not_found(format!("app role assignment {assignment_id} of {name} not found"));
    let assignment = path_id("app role assignment", assignment_id)?;
    let grant = s.store.app_role_grant(assignment).await?.ok_or_else(missing)?;
    if grant.principal_id != id {
        return Err(missing());
    }
    directory_removals::revoke_app_role_grant_by(s.store.as_ref(), actor, assignment, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The app roles assigned to a user (directly; group assignments are the group's).
#[utoipa::path(
    get,
    path = "/admin/v1/users/{object_id}/app-role-assignments",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID) or UPN")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The assignments", body = Vec<AppRoleGrantView>),
        ReadRefusals,
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_for_user(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
) -> Result<Json<Vec<AppRoleGrantView>>, ApiProblem> {
    list(&s, user(&s, &object_id).await?).await
}

/// Assign an app role (one users may hold) of a resource app to a user.
#[utoipa::path(
    post,
    path = "/admin/v1/users/{object_id}/app-role-assignments",
    tag = "directory",
    params(("object_id" = String, Path, description = "The user's object id (GUID) or UPN")),
    request_body = NewAppRoleAssignmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Assigned", body = AppRoleGrantView),
        (status = 400, description = "resource_app_id is no GUID, or the role is not for users", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such user, resource app or role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user already holds the role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_to_user(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(object_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewAppRoleAssignmentRequest>,
) -> Result<(StatusCode, Json<AppRoleGrantView>), ApiProblem> {
    assign(&s, &caller.actor, user(&s, &object_id).await?, request).await
}

/// Remove an app role assignment of a user.
#[utoipa::path(
    delete,
    path = "/admin/v1/users/{object_id}/app-role-assignments/{assignment_id}",
    tag = "directory",
    params(
        ("object_id" = String, Path, description = "The user's object id (GUID) or UPN"),
        ("assignment_id" = String, Path, description = "The assignment's id (GUID)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such user, or no such assignment of theirs", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unassign_from_user(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((object_id, assignment_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    unassign(&s, &caller.actor, user(&s, &object_id).await?, &assignment_id).await
}

/// The app roles assigned to a group (its members hold them in their tokens).
#[utoipa::path(
    get,
    path = "/admin/v1/groups/{group_id}/app-role-assignments",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The assignments", body = Vec<AppRoleGrantView>),
        ReadRefusals,
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_for_group(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
) -> Result<Json<Vec<AppRoleGrantView>>, ApiProblem> {
    list(&s, group(&s, &group_id).await?).await
}

/// Assign an app role (one users may hold) of a resource app to a group.
#[utoipa::path(
    post,
    path = "/admin/v1/groups/{group_id}/app-role-assignments",
    tag = "directory",
    params(("group_id" = String, Path, description = "The group's object id (GUID)")),
    request_body = NewAppRoleAssignmentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Assigned", body = AppRoleGrantView),
        (status = 400, description = "resource_app_id is no GUID, or the role is not for users and groups", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such group, resource app or role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The group already holds the role", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn assign_to_group(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(group_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewAppRoleAssignmentRequest>,
) -> Result<(StatusCode, Json<AppRoleGrantView>), ApiProblem> {
    assign(&s, &caller.actor, group(&s, &group_id).await?, request).await
}

/// Remove an app role assignment of a group.
#[utoipa::path(
    delete,
    path = "/admin/v1/groups/{group_id}/app-role-assignments/{assignment_id}",
    tag = "directory",
    params(
        ("group_id" = String, Path, description = "The group's object id (GUID)"),
        ("assignment_id" = String, Path, description = "The assignment's id (GUID)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        WriteRefusals,
        (status = 404, description = "No such group, or no such assignment of it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unassign_from_group(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((group_id, assignment_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    unassign(&s, &caller.actor, group(&s, &group_id).await?, &assignment_id).await
}
