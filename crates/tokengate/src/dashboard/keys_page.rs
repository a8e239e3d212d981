//! Keys: the built-in issuer's signing keys (next, active, retired) with their age, rotation, and
//! emergency removal of a key (a revocation of kind `key`, confirmed on the revocations'
//! confirmation page, which says what removing that key does).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokengate_proto::admin::{KeyRotationView, SigningKeyView};

use super::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use super::dashboard_state::DashboardState;
use super::signed_in::{SignedIn, WriteForm};

#[cfg(test)]
#[path = "keys_page_tests.rs"]
mod tests;

/// Write forms for dashboard_tests: path and fields that succeed for an admin. (Removing a key
/// posts to the revocations' confirmation, listed there.)
#[cfg(test)]
pub const WRITE_FORMS_FOR_TESTS: &[(&str, &[(&str, &str)])] = &[("/dashboard/keys/rotate", &[])];

/// An active key older than this gets a warning: rotating regularly limits what a leaked key
/// could sign unnoticed (a common operational rule, not something the issuer enforces).
const ROTATE_AFTER_DAYS: i64 = 90;
const DAY_S: i64 = 86_400;

pub fn routes() -> Router<Arc<DashboardState>> {
    Router::new().route("/dashboard/keys", get(keys)).route("/dashboard/keys/rotate", post(rotate))
}

/// A key with its age, for the table.
struct KeyRow {
    key: SigningKeyView,
    age: String,
}

#[derive(Template)]
#[template(path = "dashboard/keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<KeyRow>,
    warnings: Vec<String>,
}

async fn keys(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    let keys: Vec<SigningKeyView> = state.calls.get(signed_in.caller(), "/admin/v1/keys").await?;
    let now = crate::state::now();
    let warnings = warnings(&keys, now);
    let keys = keys
        .into_iter()
        .map(|key| {
            let age = match unix(&key.created_at) {
                Some(created) => days((now - created).max(0)),
                None => "—".into(),
            };
            KeyRow { key, age }
        })
        .collect();
    let layout = Layout::new(&signed_in, "Keys", Section::Keys);
    Ok(page(&state, StatusCode::OK, &KeysPage { layout, keys, warnings }))
}

/// What deserves attention: no key to sign or to rotate to, an old active key.
fn warnings(keys: &[SigningKeyView], now: i64) -> Vec<String> {
    if keys.is_empty() {
        return vec![];
    }
    let mut out = Vec::new();
    match keys.iter().find(|k| k.state == "active") {
        None => {
            out.push("No key is active: the issuer cannot sign tokens. Rotate to make the next key active.".to_owned())
        }
        Some(active) => {
            if let Some(created) = unix(&active.created_at) {
                let age_days = (now - created) / DAY_S;
                if age_days >= ROTATE_AFTER_DAYS {
                    out.push(format!(
                        "The active key {} is {age_days} days old: rotate it (keys are best rotated every {ROTATE_AFTER_DAYS} days).",
                        active.kid
                    ));
                }
            }
        }
    }
    if !keys.iter().any(|k| k.state == "next") {
        out.push("No next key is published ahead of use: relying parties would meet the new key only when it signs. Rotate to publish one.".to_owned());
    }
    out
}

fn unix(iso8601: &str) -> Option<i64> {
    time::OffsetDateTime::parse(iso8601, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn days(seconds: i64) -> String {
    match seconds / DAY_S {
        0 => "less than a day".into(),
        1 => "1 day".into(),
        n => format!("{n} days"),
    }
}

#[derive(Deserialize)]
struct NoFields {}

async fn rotate(State(state): State<Arc<DashboardState>>, form: WriteForm<NoFields>) -> Response {
    let signed_in = &form.signed_in;
    let rotated: Result<KeyRotationView, _> =
        state.calls.post(signed_in.caller(), "/admin/v1/keys/rotate", &serde_json::json!({})).await;
    match rotated {
        Ok(r) => done(signed_in, format!("Rotated: {} signs from now on.", r.active_kid), "/dashboard/keys"),
        Err(e) => failed(signed_in, &e, "/dashboard/keys"),
    }
}
