//! One audit record as a row of the audit table: the same template renders the page's rows and
//! the live tail's (askama escapes every value, so a record's text never becomes markup).

use askama::Template;
use tokengate_proto::admin::AuditRecordView;

/// A record's columns, in words.
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub source: String,
    pub action: String,
    /// `allowed`, `denied` or `error` (also the outcome's CSS class).
    pub outcome: String,
    /// The subject (`oid`), or the actor of an admin change.
    pub who: String,
    /// The name behind `who`, when the directory knows it ('' otherwise).
    pub who_name: String,
    pub client: String,
    /// The app behind `client`, when the directory knows it.
    pub client_name: String,
    /// The gateway's route and request, or what an admin change touched.
    pub target: String,
    pub reason: String,
    /// The record's id: for a gateway request, its `X-Tokengate-Decision-Id`.
    pub id: String,
}

impl AuditRow {
    /// `2024-05-01 10:00:00` (the column says UTC): shorter than RFC 3339 and wraps nowhere.
    pub fn at_text(&self) -> String {
        self.at.replacen('T', " ", 1).trim_end_matches('Z').to_owned()
    }
}

/// The most of a record's `detail` shown when it names no route or path.
const DETAIL_CHARS: usize = 80;

impl AuditRow {
    pub fn of(r: &AuditRecordView) -> AuditRow {
        let text = |key: &str| r.detail.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        let who = r.subject.clone().or_else(|| text("actor")).unwrap_or_default();
        let target = match (text("route"), text("method"), text("path")) {
            (Some(route), Some(method), Some(path)) => format!("{route} · {method} {path}"),
            (Some(route), _, _) => route,
            (None, _, Some(path)) => path,
            _ => compact_detail(&r.detail),
        };
        AuditRow {
            seq: r.seq,
            at: r.at.clone(),
            source: r.source.clone(),
            action: r.action.clone(),
            outcome: match r.outcome.as_str() {
                known @ ("allowed" | "denied" | "error") => known.to_owned(),
                _ => "unknown".to_owned(),
            },
            who,
            who_name: String::new(),
            client: r.client_id.clone().unwrap_or_default(),
            client_name: String::new(),
            target,
            reason: r.reason.clone().unwrap_or_default(),
            id: r.id.clone(),
        }
    }
}

impl AuditRow {
    /// The row with the names `names` knows for its subject and client.
    pub fn named(mut self, names: &std::collections::HashMap<String, String>) -> AuditRow {
        self.who_name = names.get(&self.who).cloned().unwrap_or_default();
        self.client_name = names.get(&self.client).cloned().unwrap_or_default();
        self
    }
}

/// The detail object without the fields shown elsewhere, cut to a glance.
fn compact_detail(detail: &serde_json::Value) -> String {
    let Some(fields) = detail.as_object().filter(|o| !o.is_empty()) else { return String::new() };
    let mut text = serde_json::Value::Object(fields.clone()).to_string();
    if let Some((cut, _)) = text.char_indices().nth(DETAIL_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// One `<tr>`, for the live tail's events.
#[derive(Template)]
#[template(path = "dashboard/audit_row.html")]
pub struct AuditRowFragment<'a> {
    pub row: &'a AuditRow,
}
