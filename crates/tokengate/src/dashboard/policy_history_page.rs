//! The policy's history: every version newest first, any version's source, the diff between
//! any two, and rollback (a confirmation page showing what it will change, then a publish of the
//! old document under the published version's `If-Match`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tokengate_proto::admin::{
    PolicyDiff, PolicyDiffRequest, PolicyDraft, PolicyHistoryPage, PolicyPublished, PolicyVersionDocument,
    PolicyVersionView, RollbackPolicyRequest,
};

use super::policy_edit_page::PROPAGATION_WAIT_S;
use super::policy_views::{change_lines, source_text, ChangeLine};
use super::published_version;
use crate::dashboard::admin_calls::{encode, Caller};
use crate::dashboard::dashboard_pages::{done, failed, page, DashboardError, Layout, Section};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::{SignedIn, WriteForm};

/// Versions per history page (and offered in the diff form's lists).
const VERSIONS_PER_PAGE: u32 = 100;

#[derive(Template)]
#[template(path = "dashboard/policies_history.html")]
struct HistoryPage {
    layout: Layout,
    versions: Vec<PolicyVersionView>,
    next_cursor: Option<String>,
    /// Preselected in the diff form: the published version and the one before it.
    diff_from: i64,
    diff_to: i64,
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    cursor: Option<String>,
}

pub async fn history(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, DashboardError> {
    let page_of = versions(&state, signed_in.caller(), query.cursor.as_deref()).await?;
    let diff_to = page_of.published.or_else(|| page_of.items.first().map(|v| v.version)).unwrap_or(0);
    let diff_from = page_of.items.iter().map(|v| v.version).find(|v| *v < diff_to).unwrap_or(diff_to);
    let layout = Layout::new(&signed_in, "Policy history", Section::Policies);
    let template =
        HistoryPage { layout, versions: page_of.items, next_cursor: page_of.next_cursor, diff_from, diff_to };
    Ok(page(&state, StatusCode::OK, &template))
}

async fn versions(
    state: &DashboardState,
    caller: Caller<'_>,
    cursor: Option<&str>,
) -> Result<PolicyHistoryPage, DashboardError> {
    let mut path = format!("/admin/v1/policies?limit={VERSIONS_PER_PAGE}");
    if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
        path.push_str(&format!("&cursor={}", encode(cursor)));
    }
    Ok(state.calls.get(caller, &path).await?)
}

#[derive(Template)]
#[template(path = "dashboard/policies_version.html")]
struct VersionPage {
    layout: Layout,
    version: PolicyVersionView,
    source: String,
}

pub async fn version(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Path(asked): Path<String>,
) -> Result<Response, DashboardError> {
    let stored: PolicyVersionDocument =
        state.calls.get(signed_in.caller(), &format!("/admin/v1/policies/{}", encode(&asked))).await?;
    let number = stored.version.version;
    let layout = Layout::new(&signed_in, format!("Policy v{number}"), Section::Policies);
    let source = source_text(&stored);
    Ok(page(&state, StatusCode::OK, &VersionPage { layout, version: stored.version, source }))
}

#[derive(Template)]
#[template(path = "dashboard/policies_diff.html")]
struct DiffPage {
    layout: Layout,
    versions: Vec<PolicyVersionView>,
    from: i64,
    to: i64,
    changes: Vec<ChangeLine>,
}

/// Both versions, as the history page's form sends them.
#[derive(Deserialize)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn compare(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Query(asked): Query<DiffQuery>,
) -> Result<Response, DashboardError> {
    let number = |v: Option<&String>| v.and_then(|v| v.trim().trim_start_matches('v').parse::<i64>().ok());
    let (Some(from), Some(to)) = (number(asked.from.as_ref()), number(asked.to.as_ref())) else {
        return Err(DashboardError::BadRequest(
            "Choose two versions to compare (from and to, as numbers) on the history page.".into(),
        ));
    };
    let request = PolicyDiffRequest { from: Some(from), to: Some(to), draft: PolicyDraft::default() };
    let diff: PolicyDiff = state.calls.post(signed_in.caller(), "/admin/v1/policies/diff", &request).await?;
    let listed = versions(&state, signed_in.caller(), None).await?;
    let layout = Layout::new(&signed_in, format!("Policy v{from} → v{to}"), Section::Policies);
    let template = DiffPage { layout, versions: listed.items, from, to, changes: change_lines(&diff.changes) };
    Ok(page(&state, StatusCode::OK, &template))
}

#[derive(Template)]
#[template(path = "dashboard/policies_rollback.html")]
struct RollbackPage {
    layout: Layout,
    target: PolicyVersionView,
    published: Option<i64>,
    /// The `If-Match` for the rollback: the published version's ETag.
    etag: String,
    changes: Vec<ChangeLine>,
}

/// The confirmation step: what rolling back to `number` changes from the published version.
pub async fn confirm_rollback(
    State(state): State<Arc<DashboardState>>,
    signed_in: SignedIn,
    Path(asked): Path<String>,
) -> Result<Response, DashboardError> {
    let target: PolicyVersionDocument =
        state.calls.get(signed_in.caller(), &format!("/admin/v1/policies/{}", encode(&asked))).await?;
    let number = target.version.version;
    let published = published_version(&state, signed_in.caller()).await?;
    let (published, etag) = match published {
        Some(answer) => (Some(answer.value.version.version), answer.etag.unwrap_or_else(|| "*".into())),
        None => (None, "*".to_owned()),
    };
    let request = PolicyDiffRequest { from: published, to: Some(number), draft: PolicyDraft::default() };
    let diff: PolicyDiff = state.calls.post(signed_in.caller(), "/admin/v1/policies/diff", &request).await?;
    let layout = Layout::new(&signed_in, format!("Roll back to v{number}"), Section::Policies);
    let template =
        RollbackPage { layout, target: target.version, published, etag, changes: change_lines(&diff.changes) };
    Ok(page(&state, StatusCode::OK, &template))
}

#[derive(Deserialize)]
pub struct RollbackForm {
    to: i64,
    etag: String,
    #[serde(default)]
    message: String,
}

pub async fn rollback(State(state): State<Arc<DashboardState>>, form: WriteForm<RollbackForm>) -> Response {
    let WriteForm { signed_in, form } = form;
    let message = Some(form.message.trim().to_owned()).filter(|m| !m.is_empty());
    let request = RollbackPolicyRequest { to: form.to, message, wait: true, timeout_seconds: Some(PROPAGATION_WAIT_S) };
    let answer: Result<PolicyPublished, _> = state
        .calls
        .send_if_match(signed_in.caller(), Method::POST, "/admin/v1/policies/rollback", &request, &form.etag)
        .await;
    match answer {
        Ok(published) if published.changed => done(
            &signed_in,
            format!(
                "Rolled back: published v{} with the document of v{}. {}",
                published.version.version,
                form.to,
                running_on(&published)
            ),
            "/dashboard/policies/history",
        ),
        Err(failure) if failure.status == StatusCode::GATEWAY_TIMEOUT => done(
            &signed_in,
            format!("Rolled back to the document of v{}: {}.", form.to, failure.message),
            "/dashboard/policies/history",
        ),
        Ok(published) => done(
            &signed_in,
            format!(
                "Nothing to roll back: v{}'s document is already published (v{}).",
                form.to, published.version.version
            ),
            "/dashboard/policies/history",
        ),
        Err(failure) if failure.status == StatusCode::PRECONDITION_FAILED => {
            let mut stale = failure.clone();
            stale.message = format!(
                "Someone published a new version since this page was shown, so nothing was rolled back. \
                 Here is what rolling back to v{} would change now; confirm again if it is still right.",
                form.to
            );
            failed(&signed_in, &stale, &format!("/dashboard/policies/rollback/{}", form.to))
        }
        Err(failure) => failed(&signed_in, &failure, &format!("/dashboard/policies/rollback/{}", form.to)),
    }
}

/// Which gateway nodes run the new version.
fn running_on(published: &PolicyPublished) -> String {
    if published.propagation.applied.is_empty() {
        "No gateway node reported running it yet.".to_owned()
    } else {
        format!("Running on: {}.", published.propagation.applied.join(", "))
    }
}
