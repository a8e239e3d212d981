//! What an app exposes and may do: its delegated scopes and app roles, its redirect URIs, and
//! the app roles of other apps it is granted (application permissions, as admin consent).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{
    AppRoleGrantView, AppRoleView, MemberTypeView, NewAppRoleGrantRequest, NewAppRoleRequest, NewScopeRequest,
    RedirectPlatformView, RedirectUriView, ScopeView,
};

use super::{app_page, app_path, refused};
use crate::dashboard::admin_calls::{encode, ApiFailure};
use crate::dashboard::dashboard_pages::{done, failed};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::{SignedIn, WriteForm};

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/apps/{id}/scopes", post(add_scope))
        .route("/dashboard/apps/{id}/scopes/remove", post(remove_scope))
        .route("/dashboard/apps/{id}/roles", post(add_role))
        .route("/dashboard/apps/{id}/roles/remove", post(remove_role))
        .route("/dashboard/apps/{id}/redirect-uris", post(add_redirect_uri))
        .route("/dashboard/apps/{id}/redirect-uris/remove", post(remove_redirect_uri))
        .route("/dashboard/apps/{id}/grants", post(grant_role))
        .route("/dashboard/apps/{id}/grants/revoke", post(revoke_grant))
}

/// Back to the app's page with a message either way.
fn answer(signed_in: &SignedIn, id: &str, outcome: Result<String, ApiFailure>) -> Response {
    match outcome {
        Ok(message) => done(signed_in, message, &app_page(id)),
        Err(e) => failed(signed_in, &e, &app_page(id)),
    }
}

#[derive(Deserialize)]
struct PermissionForm {
    value: String,
    display_name: String,
    /// App roles: `users` lets users and groups hold it too.
    #[serde(default)]
    members: Option<String>,
}

async fn add_scope(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<PermissionForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let request = NewScopeRequest {
        value: form.form.value.trim().to_owned(),
        display_name: form.form.display_name.trim().to_owned(),
    };
    let added: Result<ScopeView, _> =
        state.calls.post(signed_in.caller(), &format!("{}/scopes", app_path(&id)), &request).await;
    answer(signed_in, &id, added.map(|s| format!("Exposed the scope {}.", s.value)))
}

#[derive(Deserialize)]
struct ValueForm {
    value: String,
}

async fn remove_scope(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ValueForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("{}/scopes/{}", app_path(&id), encode(&form.form.value));
    let removed = state.calls.delete(signed_in.caller(), &path, None).await;
    answer(signed_in, &id, removed.map(|()| format!("Removed the scope {}.", form.form.value)))
}

async fn add_role(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<PermissionForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let allowed_member_types = match form.form.members.as_deref() {
        Some("users") => vec![MemberTypeView::User],
        Some("both") => vec![MemberTypeView::Application, MemberTypeView::User],
        _ => vec![MemberTypeView::Application],
    };
    let request = NewAppRoleRequest {
        value: form.form.value.trim().to_owned(),
        display_name: form.form.display_name.trim().to_owned(),
        allowed_member_types,
    };
    let added: Result<AppRoleView, _> =
        state.calls.post(signed_in.caller(), &format!("{}/roles", app_path(&id)), &request).await;
    answer(signed_in, &id, added.map(|r| format!("Defined the app role {}.", r.value)))
}

async fn remove_role(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ValueForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("{}/roles/{}", app_path(&id), encode(&form.form.value));
    let removed = state.calls.delete(signed_in.caller(), &path, None).await;
    answer(signed_in, &id, removed.map(|()| format!("Removed the app role {}.", form.form.value)))
}

#[derive(Deserialize)]
struct RedirectForm {
    uri: String,
    platform: String,
}

fn platform(text: &str) -> Result<RedirectPlatformView, ApiFailure> {
    match text {
        "web" => Ok(RedirectPlatformView::Web),
        "spa" => Ok(RedirectPlatformView::Spa),
        "public_client" => Ok(RedirectPlatformView::PublicClient),
        other => Err(refused(format!("The platform must be web, spa or public_client, not '{other}'."))),
    }
}

async fn add_redirect_uri(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RedirectForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let outcome = async {
        let request =
            RedirectUriView { platform: platform(&form.form.platform)?, uri: form.form.uri.trim().to_owned() };
        let added: RedirectUriView =
            state.calls.post(signed_in.caller(), &format!("{}/redirect-uris", app_path(&id)), &request).await?;
        Ok(format!("Registered the redirect URI {}.", added.uri))
    };
    answer(signed_in, &id, outcome.await)
}

async fn remove_redirect_uri(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RedirectForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let outcome = async {
        platform(&form.form.platform)?;
        let path = format!(
            "{}/redirect-uris?uri={}&platform={}",
            app_path(&id),
            encode(&form.form.uri),
            encode(&form.form.platform)
        );
        state.calls.delete(signed_in.caller(), &path, None).await?;
        Ok(format!("Removed the redirect URI {}.", form.form.uri))
    };
    answer(signed_in, &id, outcome.await)
}

/// `role` is `{resource app id}/{role value}`, as the page's choices name it.
#[derive(Deserialize)]
struct GrantForm {
    role: String,
}

async fn grant_role(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<GrantForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let outcome = async {
        let (resource, role) =
            form.form.role.split_once('/').ok_or_else(|| refused("Choose the app role to grant from the list."))?;
        let request = NewAppRoleGrantRequest {
            client_app_id: id.clone(),
            resource_app_id: resource.to_owned(),
            role_value: role.to_owned(),
        };
        let path = format!("/admin/v1/tenants/{}/app-role-grants", state.tenant_id);
        let _granted: AppRoleGrantView = state.calls.post(signed_in.caller(), &path, &request).await?;
        Ok(format!("Granted the app role {role}: the app's next tokens for that API carry it."))
    };
    answer(signed_in, &id, outcome.await)
}

#[derive(Deserialize)]
struct RevokeGrantForm {
    grant_id: String,
}

async fn revoke_grant(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<RevokeGrantForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("/admin/v1/app-role-grants/{}", encode(&form.form.grant_id));
    let revoked = state.calls.delete(signed_in.caller(), &path, None).await;
    answer(signed_in, &id, revoked.map(|()| "Revoked the app role grant.".to_owned()))
}
