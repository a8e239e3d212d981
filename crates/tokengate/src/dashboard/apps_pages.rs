//! Apps: the dashboard tenant's app registrations (list, register), one app's page (settings,
//! credentials, exposed permissions, redirect URIs, app role grants) and deleting an app.
//! Credentials live in `app_credentials_pages.rs`, permissions and redirect URIs in
//! `app_permissions_pages.rs`; this module registers their routes too.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{
    AppRoleGrantView, AppUpdateRequest, AppView, CertificateView, NewAppRequest, RedirectUriView, SecretView,
};

use super::admin_calls::{encode, ApiFailure};
use super::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{SignedIn, WriteForm};

/// Write forms for dashboard_tests: path and fields that would succeed for an admin (the ids
/// need not exist: the forgery and role checks come before any API call).
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[
    ("/dashboard/apps", &[("display_name", "Billing"), ("identifier_uri", "")]),
    (
        "/dashboard/apps/00000000-0000-0000-0000-000000000001/settings",
        &[("display_name", "Billing"), ("identifier_uris", ""), ("etag", "\"x\"")],
    ),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/delete", &[("confirm", "yes")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/secrets", &[("display_name", "ci")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/secrets/remove", &[("key_id", "k")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/certificates", &[("pem", "x")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/certificates/remove", &[("key_id", "k")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/scopes", &[("value", "A.Read"), ("display_name", "A")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/scopes/remove", &[("value", "A.Read")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/roles", &[("value", "A.All"), ("display_name", "A")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/roles/remove", &[("value", "A.All")]),
    (
        "/dashboard/apps/00000000-0000-0000-0000-000000000001/redirect-uris",
        &[("uri", "https://app.example/cb"), ("platform", "web")],
    ),
    (
        "/dashboard/apps/00000000-0000-0000-0000-000000000001/redirect-uris/remove",
        &[("uri", "https://app.example/cb"), ("platform", "web")],
    ),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/grants", &[("role", "x/A.All")]),
    ("/dashboard/apps/00000000-0000-0000-0000-000000000001/grants/revoke", &[("grant_id", "g")]),
];

// Parts of the app page, children of this module so that `dashboard/mod.rs` lists one module.
#[path = "app_credentials_pages.rs"]
mod app_credentials_pages;
#[path = "app_permissions_pages.rs"]
mod app_permissions_pages;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/apps", get(apps).post(create))
        .route("/dashboard/apps/{id}", get(app_detail))
        .route("/dashboard/apps/{id}/settings", post(update_settings))
        .route("/dashboard/apps/{id}/delete", post(delete_app))
        .merge(app_credentials_pages::routes())
        .merge(app_permissions_pages::routes())
}

/// The admin API path of one app.
pub fn app_path(id: &str) -> String {
    format!("/admin/v1/apps/{}", encode(id))
}

/// The dashboard page of one app.
pub fn app_page(id: &str) -> String {
    format!("/dashboard/apps/{}", encode(id))
}

/// The words for a conditional update the API refused because the object changed meanwhile.
pub fn stale_or_api(failure: ApiFailure, what: &str) -> ApiFailure {
    if failure.status == StatusCode::PRECONDITION_FAILED {
        return ApiFailure {
            status: failure.status,
            message: format!(
                "Someone changed this {what} after you opened the page, so nothing was saved. \
                 The page now shows the current settings: make your change again."
            ),
        };
    }
    failure
}

/// A confirmation checkbox ticked (`confirm=yes`).
pub fn confirmed(confirm: &Option<String>) -> bool {
    confirm.as_deref() == Some("yes")
}

/// A failure of the dashboard's own making (a form value), shown like the API's words.
pub fn refused(message: impl Into<String>) -> ApiFailure {
    ApiFailure { status: StatusCode::BAD_REQUEST, message: message.into() }
}

#[derive(Template)]
#[template(path = "dashboard/apps.html")]
struct AppsPage {
    layout: Layout,
    apps: Vec<AppView>,
}

async fn apps(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let apps: Vec<AppView> =
        state.calls.get(signed_in.caller(), &format!("/admin/v1/tenants/{}/apps", state.tenant_id)).await?;
    let layout = Layout::new(&signed_in, "Apps", Section::Apps);
    Ok(page(&state, StatusCode::OK, &AppsPage { layout, apps }))
}

#[derive(Deserialize)]
struct NewAppForm {
    display_name: String,
    #[serde(default)]
    public_client: Option<String>,
    #[serde(default)]
    identifier_uri: String,
}

async fn create(State(state): State<Arc<DashboardState>>, form: WriteForm<NewAppForm>) -> Response {
    let signed_in = &form.signed_in;
    let uri = form.form.identifier_uri.trim();
    let request = NewAppRequest {
        display_name: form.form.display_name.trim().to_owned(),
        identifier_uris: if uri.is_empty() { vec![] } else { vec![uri.to_owned()] },
        is_public_client: confirmed(&form.form.public_client),
        redirect_uris: vec![],
        access_token_version: None,
        multi_tenant: false,
    };
    let path = format!("/admin/v1/tenants/{}/apps", state.tenant_id);
    match state.calls.post::<_, AppView>(signed_in.caller(), &path, &request).await {
        Ok(app) => done(
            signed_in,
            format!("Registered {} (client id {}).", app.display_name, app.app_id),
            &app_page(&app.app_id),
        ),
        Err(e) => failed(signed_in, &e, "/dashboard/apps"),
    }
}

/// An app role grant with the names it refers to.
pub struct GrantRow {
    pub id: String,
    pub resource_name: String,
    pub resource_app_id: String,
    pub role_value: String,
    pub created_at: String,
}

/// An app role another app defines that this one may be granted (`{app id}/{role value}`).
pub struct GrantableRole {
    pub key: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "dashboard/app_detail.html")]
struct AppDetailPage {
    layout: Layout,
    app: AppView,
    etag: String,
    secrets: Vec<SecretView>,
    certificates: Vec<CertificateView>,
    grants: Vec<GrantRow>,
    /// Why the grants could not be listed (an app without a service principal here).
    grants_unavailable: Option<String>,
    grantable: Vec<GrantableRole>,
}

impl AppDetailPage {
    fn platform_label(redirect: &RedirectUriView) -> &'static str {
        platform_name(redirect)
    }
}

fn platform_name(redirect: &RedirectUriView) -> &'static str {
    match redirect.platform {
        tokengate_proto::admin::RedirectPlatformView::Web => "web",
        tokengate_proto::admin::RedirectPlatformView::Spa => "spa",
        tokengate_proto::admin::RedirectPlatformView::PublicClient => "public_client",
    }
}

/// The role a grant names, looked up among the tenant's apps.
pub fn grant_row(grant: AppRoleGrantView, apps: &[AppView]) -> GrantRow {
    let resource = apps.iter().find(|a| a.app_id == grant.resource_app_id);
    let role = resource.and_then(|a| a.app_roles.iter().find(|r| r.id == grant.app_role_id));
    GrantRow {
        resource_name: resource.map_or_else(|| grant.resource_app_id.clone(), |a| a.display_name.clone()),
        role_value: role.map_or_else(|| grant.app_role_id.clone(), |r| r.value.clone()),
        resource_app_id: grant.resource_app_id,
        id: grant.id,
        created_at: grant.created_at,
    }
}

async fn app_detail(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, DashboardError> {
    let caller = signed_in.caller();
    let path = app_path(&id);
    let answer = state.calls.get_tagged::<AppView>(caller, &path).await?;
    let secrets: Vec<SecretView> = state.calls.get(caller, &format!("{path}/secrets")).await?;
    let certificates: Vec<CertificateView> = state.calls.get(caller, &format!("{path}/certificates")).await?;
    let apps: Vec<AppView> = state.calls.get(caller, &format!("/admin/v1/tenants/{}/apps", state.tenant_id)).await?;
    let (grants, grants_unavailable) =
        match state.calls.get::<Vec<AppRoleGrantView>>(caller, &format!("{path}/app-role-grants")).await {
            Ok(grants) => (grants.into_iter().map(|g| grant_row(g, &apps)).collect(), None),
            Err(e) => (vec![], Some(e.message)),
        };
    let app = answer.value;
    let grantable = apps
        .iter()
        .filter(|other| other.app_id != app.app_id)
        .flat_map(|other| {
            other
                .app_roles
                .iter()
                .filter(|r| {
                    r.enabled && r.allowed_member_types.contains(&tokengate_proto::admin::MemberTypeView::Application)
                })
                .map(move |r| GrantableRole {
                    key: format!("{}/{}", other.app_id, r.value),
                    label: format!("{} — {}", other.display_name, r.value),
                })
        })
        .collect();
    let layout = Layout::new(&signed_in, format!("App: {}", app.display_name), Section::Apps);
    let detail = AppDetailPage {
        layout,
        etag: answer.etag.unwrap_or_default(),
        app,
        secrets,
        certificates,
        grants,
        grants_unavailable,
        grantable,
    };
    Ok(page(&state, StatusCode::OK, &detail))
}

#[derive(Deserialize)]
struct SettingsForm {
    display_name: String,
    /// One App ID URI a line.
    #[serde(default)]
    identifier_uris: String,
    #[serde(default)]
    public_client: Option<String>,
    etag: String,
}

async fn update_settings(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<SettingsForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let back = app_page(&id);
    let uris: Vec<String> =
        form.form.identifier_uris.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let update = AppUpdateRequest {
        display_name: Some(form.form.display_name.trim().to_owned()),
        identifier_uris: Some(uris),
        is_public_client: Some(confirmed(&form.form.public_client)),
        ..AppUpdateRequest::default()
    };
    let saved: Result<AppView, _> =
        state.calls.send_if_match(signed_in.caller(), Method::PATCH, &app_path(&id), &update, &form.form.etag).await;
    match saved {
        Ok(app) => done(signed_in, format!("Saved the settings of {}.", app.display_name), &back),
        Err(e) => failed(signed_in, &stale_or_api(e, "app"), &back),
    }
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    pub confirm: Option<String>,
}

async fn delete_app(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<ConfirmForm>,
) -> Response {
    let signed_in = &form.signed_in;
    if !confirmed(&form.form.confirm) {
        let why = refused("Nothing was deleted: tick the box confirming that the app and its credentials go.");
        return failed(signed_in, &why, &app_page(&id));
    }
    match state.calls.delete(signed_in.caller(), &app_path(&id), None).await {
        Ok(()) => done(signed_in, format!("Deleted app {id}; the tokens it held are revoked."), "/dashboard/apps"),
        Err(e) => failed(signed_in, &e, &app_page(&id)),
    }
}

#[cfg(test)]
#[path = "apps_pages_tests.rs"]
mod tests;
