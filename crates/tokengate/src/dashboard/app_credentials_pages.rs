//! An app's credentials: client secrets (a new secret's value is shown once, on the answer to
//! the form itself — never stored, never in a URL, never on a later page) and certificates
//! (added by pasting the certificate's PEM; the private key never leaves the client).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{AppView, CertificateView, CreatedSecretView, NewCertificateRequest, NewSecretRequest};

use super::{app_page, app_path, refused};
use crate::dashboard::admin_calls::encode;
use crate::dashboard::dashboard_pages::{done, failed, page, Layout, Section};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::WriteForm;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new()
        .route("/dashboard/apps/{id}/secrets", post(create_secret))
        .route("/dashboard/apps/{id}/secrets/remove", post(remove_secret))
        .route("/dashboard/apps/{id}/certificates", post(add_certificate))
        .route("/dashboard/apps/{id}/certificates/remove", post(remove_certificate))
}

#[derive(Deserialize)]
struct NewSecretForm {
    display_name: String,
    /// Empty: the API's default.
    #[serde(default)]
    lifetime_days: String,
}

#[derive(Template)]
#[template(path = "dashboard/app_secret_created.html")]
struct SecretCreatedPage {
    layout: Layout,
    app_id: String,
    app_name: String,
    secret: CreatedSecretView,
}

/// The new secret's value is rendered straight into this answer (the page is `no-store`): a
/// redirect would have to carry it somewhere first.
async fn create_secret(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<NewSecretForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let back = app_page(&id);
    let lifetime = form.form.lifetime_days.trim();
    let lifetime_days = match lifetime {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                return failed(signed_in, &refused(format!("Lifetime must be a number of days, not '{days}'.")), &back)
            }
        },
    };
    let request = NewSecretRequest { display_name: form.form.display_name.trim().to_owned(), lifetime_days };
    let caller = signed_in.caller();
    let secret: CreatedSecretView =
        match state.calls.post(caller, &format!("{}/secrets", app_path(&id)), &request).await {
            Ok(s) => s,
            Err(e) => return failed(signed_in, &e, &back),
        };
    // The value exists only in this answer: a failure to read the app's name must not lose it.
    let app_name = match state.calls.get::<AppView>(caller, &app_path(&id)).await {
        Ok(app) => app.display_name,
        Err(_) => secret.secret.app_id.clone(),
    };
    let layout = Layout::new(signed_in, format!("New secret for {app_name}"), Section::Apps);
    let app_id = secret.secret.app_id.clone();
    page(&state, StatusCode::OK, &SecretCreatedPage { layout, app_id, app_name, secret })
}

#[derive(Deserialize)]
struct KeyForm {
    key_id: String,
}

async fn remove_secret(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<KeyForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("{}/secrets/{}", app_path(&id), encode(&form.form.key_id));
    match state.calls.delete(signed_in.caller(), &path, None).await {
        Ok(()) => done(signed_in, "Deleted the secret: it no longer authenticates the app.", &app_page(&id)),
        Err(e) => failed(signed_in, &e, &app_page(&id)),
    }
}

#[derive(Deserialize)]
struct CertificateForm {
    #[serde(default)]
    display_name: String,
    pem: String,
}

async fn add_certificate(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<CertificateForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let name = form.form.display_name.trim();
    let request = NewCertificateRequest {
        display_name: (!name.is_empty()).then(|| name.to_owned()),
        pem: form.form.pem.trim().to_owned(),
    };
    let added: Result<CertificateView, _> =
        state.calls.post(signed_in.caller(), &format!("{}/certificates", app_path(&id)), &request).await;
    match added {
        Ok(c) => done(
            signed_in,
            format!("Added certificate {} (thumbprint {}).", c.display_name, c.thumbprint),
            &app_page(&id),
        ),
        Err(e) => failed(signed_in, &e, &app_page(&id)),
    }
}

async fn remove_certificate(
    State(state): State<Arc<DashboardState>>,
    Path(id): Path<String>,
    form: WriteForm<KeyForm>,
) -> Response {
    let signed_in = &form.signed_in;
    let path = format!("{}/certificates/{}", app_path(&id), encode(&form.form.key_id));
    match state.calls.delete(signed_in.caller(), &path, None).await {
        Ok(()) => done(signed_in, "Removed the certificate: assertions signed with it are refused.", &app_page(&id)),
        Err(e) => failed(signed_in, &e, &app_page(&id)),
    }
}
