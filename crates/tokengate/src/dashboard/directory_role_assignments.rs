//! App role assignments of users and groups as the pages show them: the roles named by the
//! tenant's apps, and the roles users and groups may be given (`{app id}/{role value}`).

use serde::Deserialize;
use tokengate_proto::admin::{AppRoleGrantView, AppView, MemberTypeView, NewAppRoleAssignmentRequest};

use super::refused;
use crate::dashboard::admin_calls::{ApiFailure, Caller};
use crate::dashboard::dashboard_state::DashboardState;

/// The tenant's apps: to name the roles of assignments, and to offer roles to assign.
pub async fn tenant_apps(state: &DashboardState, caller: Caller<'_>) -> Result<Vec<AppView>, ApiFailure> {
    state.calls.get(caller, &format!("/admin/v1/tenants/{}/apps", state.tenant_id)).await
}

/// An app role assignment with the names it refers to.
pub struct AssignmentRow {
    pub id: String,
    pub app_name: String,
    pub app_id: String,
    pub role_value: String,
    pub created_at: String,
}

/// An app role users and groups may hold, as a choice (`{app id}/{role value}`).
pub struct AssignableRole {
    pub key: String,
    pub label: String,
}

pub fn assignment_rows(assignments: Vec<AppRoleGrantView>, apps: &[AppView]) -> Vec<AssignmentRow> {
    assignments
        .into_iter()
        .map(|a| {
            let app = apps.iter().find(|x| x.app_id == a.resource_app_id);
            let role = app.and_then(|x| x.app_roles.iter().find(|r| r.id == a.app_role_id));
            AssignmentRow {
                app_name: app.map_or_else(|| a.resource_app_id.clone(), |x| x.display_name.clone()),
                role_value: role.map_or_else(|| a.app_role_id.clone(), |r| r.value.clone()),
                app_id: a.resource_app_id,
                id: a.id,
                created_at: a.created_at,
            }
        })
        .collect()
}

pub fn assignable_roles(apps: &[AppView]) -> Vec<AssignableRole> {
    apps.iter()
        .flat_map(|app| {
            app.app_roles.iter().filter(|r| r.enabled && r.allowed_member_types.contains(&MemberTypeView::User)).map(
                move |r| AssignableRole {
                    key: format!("{}/{}", app.app_id, r.value),
                    label: format!("{} — {}", app.display_name, r.value),
                },
            )
        })
        .collect()
}

/// `role` (`{app id}/{role value}`) as the API's request.
pub fn assignment_request(role: &str) -> Result<NewAppRoleAssignmentRequest, ApiFailure> {
    let (resource, value) =
        role.split_once('/').ok_or_else(|| refused("Choose the app role to assign from the list."))?;
    Ok(NewAppRoleAssignmentRequest { resource_app_id: resource.to_owned(), role_value: value.to_owned() })
}

/// Assigns the chosen role (`{app id}/{role value}`) to the user or group the admin API path
/// `holder` names (`/admin/v1/users/{id}` or `/admin/v1/groups/{id}`); the role's value.
pub async fn assign_role(
    state: &DashboardState,
    caller: Caller<'_>,
    holder: &str,
    role: &str,
) -> Result<String, ApiFailure> {
    let request = assignment_request(role)?;
    let path = format!("{holder}/app-role-assignments");
    let _assigned: AppRoleGrantView = state.calls.post(caller, &path, &request).await?;
    Ok(request.role_value)
}

/// Removes one app role assignment of the user or group `holder` names.
pub async fn unassign_role(
    state: &DashboardState,
    caller: Caller<'_>,
    holder: &str,
    assignment_id: &str,
) -> Result<(), ApiFailure> {
    let path = format!("{holder}/app-role-assignments/{}", crate::dashboard::admin_calls::encode(assignment_id));
    state.calls.delete(caller, &path, None).await
}

/// `role` is `{app id}/{role value}`, as the page's choices name it.
#[derive(Deserialize)]
pub struct RoleForm {
    pub role: String,
}

#[derive(Deserialize)]
pub struct AssignmentForm {
    pub assignment_id: String,
}
