//! Editing the policy: the published TOML in a textarea (with the version it is based on, as
//! the API's `ETag`), a preview (the API's validation words, the structural diff against the
//! published version, and the simulation against recent gateway decisions), then publishing
//! under `If-Match`. When someone else published first, the text is kept and what they changed
//! is shown.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tokengate_proto::admin::{
    PolicyDiff, PolicyDiffRequest, PolicyDraft, PolicyPublished, PolicySimulation, PolicySimulationRequest,
    PolicyValidation, PublishPolicyRequest,
};

use super::policy_views::{change_lines, source_text, version_of_etag, ChangeLine};
use super::published_version;
use crate::dashboard::admin_calls::Caller;
use crate::dashboard::dashboard_pages::{done, page, DashboardError, Layout, Section};
use crate::dashboard::dashboard_state::DashboardState;
use crate::dashboard::signed_in::{SignedIn, WriteForm};

/// How many recent gateway decisions a preview replays.
const SIMULATED_DECISIONS: u32 = 1_000;
/// How long a publish waits for every live gateway node to run it, so the message can say so.
pub const PROPAGATION_WAIT_S: u64 = 5;

#[derive(Template)]
#[template(path = "dashboard/policies_edit.html")]
struct EditPage {
    layout: Layout,
    source: String,
    /// The `If-Match` to publish with: the published version's ETag, or `*` when none is.
    etag: String,
    based_on: Option<i64>,
    /// Why the draft cannot be published, in the API's words.
    problems: Vec<String>,
    /// Likely mistakes a publish would accept.
    warnings: Vec<String>,
    /// Someone published since this edit began.
    stale: Option<StaleNotice>,
    preview: Option<Preview>,
    message: String,
}

struct StaleNotice {
    started_from: Option<i64>,
    now_published: Option<i64>,
    /// What the other publish changed (from the version this edit began at).
    their_changes: Vec<ChangeLine>,
}

struct Preview {
    changes: Vec<ChangeLine>,
    simulation: Result<PolicySimulation, String>,
}

impl EditPage {
    /// Publishing is offered once a preview found no problem.
    fn can_publish(&self) -> bool {
        self.preview.is_some() && self.problems.is_empty()
    }

    fn new(layout: Layout, source: String, etag: String) -> EditPage {
        let based_on = version_of_etag(&etag);
        EditPage {
            layout,
            source,
            etag,
            based_on,
            problems: Vec::new(),
            warnings: Vec::new(),
            stale: None,
            preview: None,
            message: String::new(),
        }
    }
}

pub async fn edit(State(state): State<Arc<DashboardState>>, signed_in: SignedIn) -> Result<Response, DashboardError> {
    if !signed_in.session.can_write() {
        return Err(DashboardError::Forbidden(
            "Editing the policy needs the Admin role. As an auditor you can read every version under History.".into(),
        ));
    }
    let published = published_version(&state, signed_in.caller()).await?;
    let (source, etag) = match published {
        Some(answer) => (source_text(&answer.value), answer.etag.unwrap_or_else(|| "*".into())),
        None => (String::new(), "*".to_owned()),
    };
    let layout = Layout::new(&signed_in, "Edit the policy", Section::Policies);
    Ok(page(&state, StatusCode::OK, &EditPage::new(layout, source, etag)))
}

#[derive(Deserialize)]
pub struct DraftForm {
    toml: String,
    etag: String,
    #[serde(default)]
    message: String,
}

pub async fn preview(State(state): State<Arc<DashboardState>>, form: WriteForm<DraftForm>) -> Response {
    let WriteForm { signed_in, form } = form;
    let layout = Layout::new(&signed_in, "Preview the policy", Section::Policies);
    let mut template = EditPage::new(layout, form.toml, form.etag);
    template.message = form.message;
    let status = fill_preview(&state, signed_in.caller(), &mut template).await;
    page(&state, status, &template)
}

/// The preview of `template.source`: the API's validation (problems and warnings), the diff
/// against the published version and the simulation against recent decisions.
async fn fill_preview(state: &DashboardState, caller: Caller<'_>, template: &mut EditPage) -> StatusCode {
    let draft = PolicyDraft { document: None, toml: Some(template.source.clone()) };
    let validation: PolicyValidation = match state.calls.post(caller, "/admin/v1/policies/validate", &draft).await {
        Ok(validation) => validation,
        Err(failure) => {
            template.problems.push(failure.message);
            return StatusCode::UNPROCESSABLE_ENTITY;
        }
    };
    template.problems = validation.problems;
    template.warnings = validation.warnings;
    let diff_request = PolicyDiffRequest { from: None, to: None, draft: draft.clone() };
    let diff: PolicyDiff = match state.calls.post(caller, "/admin/v1/policies/diff", &diff_request).await {
        Ok(diff) => diff,
        Err(failure) => {
            template.problems.push(failure.message);
            return StatusCode::UNPROCESSABLE_ENTITY;
        }
    };
    let simulation_request = PolicySimulationRequest { draft, last: Some(SIMULATED_DECISIONS) };
    let simulation = state
        .calls
        .post(caller, "/admin/v1/policies/simulate", &simulation_request)
        .await
        .map_err(|failure| failure.message);
    template.preview = Some(Preview { changes: change_lines(&diff.changes), simulation });
    if template.problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

pub async fn publish(State(state): State<Arc<DashboardState>>, form: WriteForm<DraftForm>) -> Response {
    let WriteForm { signed_in, form } = form;
    let request = PublishPolicyRequest {
        draft: PolicyDraft { document: None, toml: Some(form.toml.clone()) },
        message: form.message.clone(),
        wait: true,
        timeout_seconds: Some(PROPAGATION_WAIT_S),
    };
    let published: Result<PolicyPublished, _> =
        state.calls.send_if_match(signed_in.caller(), Method::POST, "/admin/v1/policies", &request, &form.etag).await;
    let failure = match published {
        Ok(published) => return done(&signed_in, published_message(&published), "/dashboard/policies"),
        // Published, but some gateway node did not run it within the wait: say which.
        Err(failure) if failure.status == StatusCode::GATEWAY_TIMEOUT => {
            return done(&signed_in, format!("Published: {}.", failure.message), "/dashboard/policies")
        }
        Err(failure) => failure,
    };
    let layout = Layout::new(&signed_in, "Preview the policy", Section::Policies);
    let mut template = EditPage::new(layout, form.toml, form.etag);
    template.message = form.message;
    if failure.status == StatusCode::PRECONDITION_FAILED {
        let stale = stale_notice(&state, signed_in.caller(), &mut template).await;
        template.stale = Some(stale);
        fill_preview(&state, signed_in.caller(), &mut template).await;
        return page(&state, StatusCode::CONFLICT, &template);
    }
    template.problems.push(failure.message);
    page(&state, failure.status, &template)
}

/// Someone published since this edit began: what they changed, and the draft now based on
/// their version (the person has seen their changes before publishing over them).
async fn stale_notice(state: &DashboardState, caller: Caller<'_>, template: &mut EditPage) -> StaleNotice {
    let started_from = template.based_on;
    let now_published = match published_version(state, caller).await {
        Ok(Some(answer)) => {
            if let Some(etag) = answer.etag {
                template.etag = etag;
            }
            Some(answer.value.version.version)
        }
        _ => None,
    };
    template.based_on = now_published;
    let their_changes = match (started_from, now_published) {
        (Some(from), Some(to)) => {
            let request = PolicyDiffRequest { from: Some(from), to: Some(to), draft: PolicyDraft::default() };
            match state.calls.post::<_, PolicyDiff>(caller, "/admin/v1/policies/diff", &request).await {
                Ok(diff) => change_lines(&diff.changes),
                Err(_) => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    StaleNotice { started_from, now_published, their_changes }
}

fn published_message(published: &PolicyPublished) -> String {
    let version = published.version.version;
    let mut message = if published.changed {
        let count = published.changes.len();
        format!("Published v{version} ({count} change{}).", if count == 1 { "" } else { "s" })
    } else {
        format!("Nothing to publish: the draft equals the published v{version}.")
    };
    let propagation = &published.propagation;
    if !propagation.applied.is_empty() {
        message.push_str(&format!(" Running on: {}.", propagation.applied.join(", ")));
    }
    if !propagation.lagging.is_empty() {
        message.push_str(&format!(
            " Not yet running on: {} (it applies within a second).",
            propagation.lagging.join(", ")
        ));
    }
    for warning in &published.warnings {
        message.push_str(&format!(" Warning: {warning}"));
    }
    message
}
