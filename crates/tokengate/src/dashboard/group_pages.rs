//! Groups of the dashboard tenant: list, create, one group's page (members by UPN or object id,
//! the app roles the group holds), delete.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{AppRoleGrantView, GroupView, NewGroupMemberRequest, NewGroupRequest, UserView};

use super::directory_role_assignments::{
    assign_role, assignable_roles, assignment_rows, tenant_apps, unassign_role, AssignableRole, AssignmentForm,
    AssignmentRow, RoleForm,
};
use super::{answer, confirmed, refused, ConfirmForm};
use crate::dashboard::admin_calls::encode;
use crate::dashboard::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::{SignedIn, WriteForm};

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/groups", get(groups).post(create))
        .route("/dashboard/groups/{id}", get(group_detail))
        .route("/dashboard/groups/{id}/members", post(add_member))
        .route("/dashboard/groups/{id}/members/remove", post(remove_member))
        .route("/dashboard/groups/{id}/assignments", post(assign))
        .route("/dashboard/groups/{id}/assignments/remove", post(unassign))
        .route("/dashboard/groups/{id}/delete", post(delete_group))
}

fn group_path(id: &str) -> String {
    format!("/admin/v1/groups/{}", encode(id))
}

fn group_page(id: &str) -> String {
    format!("/dashboard/groups/{}", encode(id))
}

#[derive(Template)]
#[template(path = "dashboard/groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<GroupView>,
}

async fn groups(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let groups: Vec<GroupView> =
        state.calls.get(signed_in.caller(), &format!("/admin/v1/tenants/{}/groups", state.tenant_id)).await?;
    let layout = Layout::new(&signed_in, "Groups", Section::Directory);
    Ok(page(&state, StatusCode::OK, &GroupsPage { layout, groups }))
}

#[derive(Deserialize)]
struct NewGroupForm {
    display_name: String,
}

async fn create(State(state): State<Arc<DashboardState>>, form: WriteForm<NewGroupForm>) -> Response {
    let signed_in = &form.signed_in;
    let request = NewGroupRequest { display_name: form.form.display_name.trim().to_owned() };
    let path = format!("/admin/v1/tenants/{}/groups", state.tenant_id);
    match state.calls.post::<_, GroupView>(signed_in.caller(), &path, &request).await {
        Ok(group) => {
            done(signed_in, format!("Created the group {}.", group.display_name), &group_page(&group.object_id))
        }
        Err(e) => failed(signed_in, &e, "/dashboard/groups"),
    }
}

#[derive(Template)]
#[template(path = "dashboard/group_detail.html")]
struct GroupDetailPage {
    layout: Layout,
    group: GroupView,
    members: Vec<UserView>,
    assignments: Vec<AssignmentRow>,
    assignable: Vec<AssignableRole>,
}

async fn group_detail(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let group: GroupView = state.calls.get(caller, &group_path(&id)).await?;
    let members: Vec<UserView> = state.calls.get(caller, &format!("{}/members", group_path(&id))).await?;
    let assignments: Vec<AppRoleGrantView> =
        state.calls.get(caller, &format!("{}/app-role-assignments", group_path(&id))).await?;
    let apps = tenant_apps(&state, caller).await?;
    let layout = Layout::new(&signed_in, format!("Group: {}", group.display_name), Section::Directory);
    let detail = GroupDetailPage {
        layout,
        group,
        members,
        assignments: assignment_rows(assignments, &apps),
        assignable: assignable_roles(&apps),
    };
    Ok(page(&state, StatusCode::OK, &detail))
}

/// `user` is a UPN or an object id.
#[derive(Deserialize)]
struct MemberForm {
    user: String,
}

async fn add_member(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<MemberForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let outcome = async {
        let named = form.form.user.trim();
        if named.is_empty() {
            return Err(refused("Enter the user's UPN (name@domain) or object id."));
        }
        // The API adds members by object id; a UPN is looked up first.
        let user: UserView = state.calls.get(signed_in.caller(), &format!("/admin/v1/users/{}", encode(named))).await?;
        let request = NewGroupMemberRequest { user_id: user.object_id.clone() };
        let path = format!("{}/members", group_path(&id));
        state.calls.post::<_, serde_json::Value>(signed_in.caller(), &path, &request).await?;
        Ok(format!("Added {} to the group.", user.user_principal_name))
    };
    answer(signed_in, &group_page(&id), outcome.await)
}

#[derive(Deserialize)]
struct RemoveMemberForm {
    user_id: String,
}

async fn remove_member(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RemoveMemberForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("{}/members/{}", group_path(&id), encode(&form.form.user_id));
    let removed = state.calls.delete(signed_in.caller(), &path, None).await;
    answer(signed_in, &group_page(&id), removed.map(|()| "Removed the member from the group.".to_owned()))
}

async fn assign(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RoleForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let assigned = assign_role(&state, signed_in.caller(), &group_path(&id), &form.form.role).await;
    answer(
        signed_in,
        &group_page(&id),
        assigned.map(|role| format!("Assigned the app role {role} to the group's members.")),
    )
}

async fn unassign(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<AssignmentForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let removed = unassign_role(&state, signed_in.caller(), &group_path(&id), &form.form.assignment_id).await;
    answer(signed_in, &group_page(&id), removed.map(|()| "Removed the app role assignment.".to_owned()))
}

async fn delete_group(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ConfirmForm>,
) -> Response {
    let signed_in: &SignedIn = &form.signed_in;
    if !confirmed(&form.form) {
        let why = refused("Nothing was deleted: tick the box confirming the group goes.");
        return failed(signed_in, &why, &group_page(&id));
    }
    match state.calls.delete(signed_in.caller(), &group_path(&id), None).await {
        Ok(()) => {
            done(signed_in, "Deleted the group; its members lost the app roles it gave them.", "/dashboard/groups")
        }
        Err(e) => failed(signed_in, &e, &group_page(&id)),
    }
}
