//! Users & groups: the dashboard tenant's users (list, create, one user's page: enable or
//! disable, groups, app role assignments, consents, revoking their sign-in sessions, delete).
//! Groups live in `group_pages.rs`; this module registers their routes too.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{
    AppRoleGrantView, AppView, ConsentView, GroupView, NewRevocationRequest, NewUserRequest, RevocationCreated,
    RevocationTargetView, UserView,
};

use super::admin_calls::{encode, ApiFailure};
use super::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{SignedIn, WriteForm};

#[path = "directory_role_assignments.rs"]
mod directory_role_assignments;
#[path = "group_pages.rs"]
mod group_pages;

use directory_role_assignments::{
    assign_role, assignable_roles, assignment_rows, tenant_apps, unassign_role, AssignableRole, AssignmentForm,
    AssignmentRow, RoleForm,
};

/// Write forms for dashboard_tests: path and fields that would succeed for an admin (the ids
/// need not exist: the forgery and role checks come before any API call).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[
    (
        "/dashboard/users",
        &[("user_principal_name", "bo@contoso.test"), ("display_name", "Bo"), ("password", "a long password 1")],
    ),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/enable", &[]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/disable", &[]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/assignments", &[("role", "x/A.All")]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/assignments/remove", &[("assignment_id", "a")]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/consents/revoke", &[("consent_id", "c")]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/revoke-sessions", &[("confirm", "yes")]),
    ("/dashboard/users/00000000-0000-0000-0000-000000000002/delete", &[("confirm", "yes")]),
    ("/dashboard/groups", &[("display_name", "Finance")]),
    ("/dashboard/groups/00000000-0000-0000-0000-000000000003/members", &[("user", "ada@contoso.test")]),
    ("/dashboard/groups/00000000-0000-0000-0000-000000000003/members/remove", &[("user_id", "u")]),
    ("/dashboard/groups/00000000-0000-0000-0000-000000000003/assignments", &[("role", "x/A.All")]),
    ("/dashboard/groups/00000000-0000-0000-0000-000000000003/assignments/remove", &[("assignment_id", "a")]),
    ("/dashboard/groups/00000000-0000-0000-0000-000000000003/delete", &[("confirm", "yes")]),
];

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/users", get(users).post(create))
        .route("/dashboard/users/{id}", get(user_detail))
        .route("/dashboard/users/{id}/enable", post(enable))
        .route("/dashboard/users/{id}/disable", post(disable))
        .route("/dashboard/users/{id}/assignments", post(assign))
        .route("/dashboard/users/{id}/assignments/remove", post(unassign))
        .route("/dashboard/users/{id}/consents/revoke", post(revoke_consent))
        .route("/dashboard/users/{id}/revoke-sessions", post(revoke_sessions))
        .route("/dashboard/users/{id}/delete", post(delete_user))
        .merge(group_pages::routes())
}

fn user_path(id: &str) -> String {
    format!("/admin/v1/users/{}", encode(id))
}

fn user_page(id: &str) -> String {
    format!("/dashboard/users/{}", encode(id))
}

/// A failure of the dashboard's own making (a form value), shown like the API's words.
fn refused(message: impl Into<String>) -> ApiFailure {
    ApiFailure { status: StatusCode::BAD_REQUEST, message: message.into() }
}

/// Back to `location` with a message either way.
fn answer(signed_in: &SignedIn, location: &str, outcome: Result<String, ApiFailure>) -> Response {
    match outcome {
        Ok(message) => done(signed_in, message, location),
        Err(e) => failed(signed_in, &e, location),
    }
}

#[derive(Template)]
#[template(path = "dashboard/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
}

async fn users(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let users: Vec<UserView> =
        state.calls.get(signed_in.caller(), &format!("/admin/v1/tenants/{}/users", state.tenant_id)).await?;
    let layout = Layout::new(&signed_in, "Users", Section::Directory);
    Ok(page(&state, StatusCode::OK, &UsersPage { layout, users }))
}

/// The password is only passed on to the API: never echoed, logged or kept.
#[derive(Deserialize)]
struct NewUserForm {
    user_principal_name: String,
    display_name: String,
    password: String,
}

async fn create(State(state): State<Arc<DashboardState>>, form: WriteForm<NewUserForm>) -> Response {
    let signed_in = &form.signed_in;
    let request = NewUserRequest {
        user_principal_name: form.form.user_principal_name.trim().to_owned(),
        display_name: form.form.display_name.trim().to_owned(),
        password: form.form.password,
    };
    let path = format!("/admin/v1/tenants/{}/users", state.tenant_id);
    match state.calls.post::<_, UserView>(signed_in.caller(), &path, &request).await {
        Ok(user) => done(signed_in, format!("Created {}.", user.user_principal_name), &user_page(&user.object_id)),
        Err(e) => failed(signed_in, &e, "/dashboard/users"),
    }
}

#[derive(Template)]
#[template(path = "dashboard/user_detail.html")]
struct UserDetailPage {
    layout: Layout,
    user: UserView,
    groups: Vec<GroupView>,
    assignments: Vec<AssignmentRow>,
    assignable: Vec<AssignableRole>,
    consents: Vec<ConsentRow>,
}

/// A consent with its apps' names.
struct ConsentRow {
    id: String,
    client_name: String,
    resource_name: String,
    scopes: String,
    created_at: String,
}

fn app_name(apps: &[AppView], id: &str) -> String {
    apps.iter().find(|a| a.app_id == id).map_or_else(|| id.to_owned(), |a| a.display_name.clone())
}

async fn user_detail(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let user: UserView = state.calls.get(caller, &user_path(&id)).await?;
    let groups: Vec<GroupView> = state.calls.get(caller, &format!("{}/groups", user_path(&id))).await?;
    let assignments: Vec<AppRoleGrantView> =
        state.calls.get(caller, &format!("{}/app-role-assignments", user_path(&id))).await?;
    let consents: Vec<ConsentView> =
        state.calls.get(caller, &format!("/admin/v1/consents?user_id={}", encode(&user.object_id))).await?;
    let apps = tenant_apps(&state, caller).await?;
    let consents = consents
        .into_iter()
        .map(|c| ConsentRow {
            client_name: app_name(&apps, &c.client_app_id),
            resource_name: app_name(&apps, &c.resource_app_id),
            scopes: c.scopes.join(" "),
            id: c.id,
            created_at: c.created_at,
        })
        .collect();
    let layout = Layout::new(&signed_in, format!("User: {}", user.display_name), Section::Directory);
    let detail = UserDetailPage {
        layout,
        assignments: assignment_rows(assignments, &apps),
        assignable: assignable_roles(&apps),
        user,
        groups,
        consents,
    };
    Ok(page(&state, StatusCode::OK, &detail))
}

#[derive(Deserialize)]
struct NoFields {}

async fn enable(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<NoFields>,
) -> Response {
    set_enabled(&state, &id, &form.signed_in, true).await
}

async fn disable(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<NoFields>,
) -> Response {
    set_enabled(&state, &id, &form.signed_in, false).await
}

async fn set_enabled(state: &DashboardState, id: &str, signed_in: &SignedIn, enabled: bool) -> Response {
    let action = if enabled { "enable" } else { "disable" };
    let changed: Result<UserView, _> =
        state.calls.post(signed_in.caller(), &format!("{}/{action}", user_path(id)), &serde_json::json!({})).await;
    let outcome = changed.map(|u| {
        if enabled {
            format!("Enabled {}: they can sign in again.", u.user_principal_name)
        } else {
            format!("Disabled {}: they cannot sign in, and their tokens are refused.", u.user_principal_name)
        }
    });
    answer(signed_in, &user_page(id), outcome)
}

async fn assign(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RoleForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let assigned = assign_role(&state, signed_in.caller(), &user_path(&id), &form.form.role).await;
    answer(signed_in, &user_page(&id), assigned.map(|role| format!("Assigned the app role {role}.")))
}

async fn unassign(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<AssignmentForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let removed = unassign_role(&state, signed_in.caller(), &user_path(&id), &form.form.assignment_id).await;
    answer(signed_in, &user_page(&id), removed.map(|()| "Removed the app role assignment.".to_owned()))
}

#[derive(Deserialize)]
struct ConsentForm {
    consent_id: String,
}

async fn revoke_consent(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ConsentForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("/admin/v1/consents/{}", encode(&form.form.consent_id));
    let revoked = state.calls.delete(signed_in.caller(), &path, None).await;
    answer(signed_in, &user_page(&id), revoked.map(|()| "Revoked the consent.".to_owned()))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub confirm: Option<String>,
}

pub fn confirmed(form: &ConfirmForm) -> bool {
    form.confirm.as_deref() == Some("yes")
}

async fn revoke_sessions(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ConfirmForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let outcome = async {
        if !confirmed(&form.form) {
            return Err(refused("Nothing was revoked: tick the box confirming the user is signed out everywhere."));
        }
        let user: UserView = state.calls.get(signed_in.caller(), &user_path(&id)).await?;
        let request = NewRevocationRequest {
            target: RevocationTargetView::User { tenant_id: user.tenant_id, object_id: user.object_id },
            reason: Some("revoked from the dashboard".into()),
            wait: false,
            timeout_seconds: None,
        };
        let created: RevocationCreated =
            state.calls.post(signed_in.caller(), "/admin/v1/revocations", &request).await?;
        Ok(format!(
            "Revoked {}'s sign-in sessions: {} session(s) ended, {} refresh token famil(ies) revoked; tokens issued before now are refused.",
            user.user_principal_name, created.effects.sessions_ended, created.effects.refresh_families_revoked
        ))
    };
    answer(signed_in, &user_page(&id), outcome.await)
}

async fn delete_user(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ConfirmForm>,
) -> Response {
    let signed_in = &form.signed_in;
    if !confirmed(&form.form) {
        let why = refused("Nothing was deleted: tick the box confirming the user and their access go.");
        return failed(signed_in, &why, &user_page(&id));
    }
    match state.calls.delete(signed_in.caller(), &user_path(&id), None).await {
        Ok(()) => done(signed_in, "Deleted the user; their tokens and sessions are revoked.", "/dashboard/users"),
        Err(e) => failed(signed_in, &e, &user_page(&id)),
    }
}

#[cfg(test)]
#[path = "directory_pages_tests.rs"]
mod tests;
