//! What the policy pages show of a policy document (as the admin API answers it: JSON of the
//! TOML file's structure): one row per route and per issuer, and diff lines. Read generically
//! from the JSON, so a requirement added to the policy format shows up here without a change.

use serde_json::Value;
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_proto::admin::{PolicyChangeView, PolicyVersionDocument};

/// One route of the policy as a table row.
pub struct RouteRow {
    pub name: String,
    /// `prefix /orders/`, `path /health`, `pattern /t/*/orders/**`.
    pub matches: String,
    pub host: Option<String>,
    /// `any`, or the methods.
    pub methods: String,
    pub upstream: String,
    pub public: bool,
    /// Each requirement set (`roles_any: Orders.Read`).
    pub requirements: Vec<(String, String)>,
    /// Options that differ from the defaults (`explain_denials`, `forward_token`...).
    pub options: Vec<String>,
}

/// One trusted issuer.
pub struct IssuerRow {
    pub name: String,
    pub kind: String,
    /// Its authority or discovery URL (none for the built-in issuer).
    pub location: Option<String>,
    /// `any`, or the tenant allow-list.
    pub tenants: String,
}

/// One line of a diff, with the class that colours it.
pub struct ChangeLine {
    pub line: String,
    pub class: &'static str,
}

pub fn route_rows(document: &Value) -> Vec<RouteRow> {
    entries(document, "route").map(route_row).collect()
}

pub fn issuer_rows(document: &Value) -> Vec<IssuerRow> {
    entries(document, "issuer")
        .map(|issuer| IssuerRow {
            name: text(issuer.get("name")),
            kind: text(issuer.get("kind")),
            location: issuer
                .get("authority")
                .or_else(|| issuer.get("discovery_url"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            tenants: list_or(issuer.get("tenants"), "any tenant"),
        })
        .collect()
}

pub fn route_names(document: &Value) -> Vec<String> {
    entries(document, "route").map(|r| text(r.get("name"))).collect()
}

pub fn change_lines(changes: &[PolicyChangeView]) -> Vec<ChangeLine> {
    changes
        .iter()
        .map(|c| {
            let class = match (&c.before, &c.after) {
                (None, Some(_)) => "diff-add",
                (Some(_), None) => "diff-remove",
                _ => "diff-change",
            };
            ChangeLine { line: c.line.clone(), class }
        })
        .collect()
}

/// The version's TOML as written, or (published as JSON) the document written out as TOML.
pub fn source_text(version: &PolicyVersionDocument) -> String {
    if let Some(source) = &version.source {
        return source.clone();
    }
    serde_json::from_value::<PolicyDocument>(version.document.clone())
        .ok()
        .and_then(|document| toml::to_string_pretty(&document).ok())
        .unwrap_or_else(|| serde_json::to_string_pretty(&version.document).unwrap_or_default())
}

/// `"v7"` (an ETag) → 7.
pub fn version_of_etag(etag: &str) -> Option<i64> {
    etag.trim().trim_matches('"').trim_start_matches('v').parse().ok()
}

fn entries<'a>(document: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    document.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn route_row(route: &Value) -> RouteRow {
    let matches = [("path_prefix", "prefix"), ("path", "path"), ("path_pattern", "pattern")]
        .iter()
        .find_map(|(key, label)| route.get(*key).and_then(Value::as_str).map(|p| format!("{label} {p}")))
        .unwrap_or_default();
    let flag = |key: &str| route.get(key).and_then(Value::as_bool);
    let mut options = Vec::new();
    for key in ["explain_denials", "forward_token", "case_sensitive"] {
        if flag(key) == Some(true) {
            options.push(key.to_owned());
        }
    }
    if flag("websocket") == Some(false) {
        options.push("no websocket".to_owned());
    }
    RouteRow {
        name: text(route.get("name")),
        matches,
        host: route.get("host").and_then(Value::as_str).map(str::to_owned),
        methods: list_or(route.get("methods"), "any"),
        upstream: text(route.get("upstream")),
        public: flag("public") == Some(true),
        requirements: requirements(route.get("require")),
        options,
    }
}

/// Every requirement that asks for something: empty lists, `false` and the `any` token kind
/// ask for nothing and are left out.
fn requirements(require: Option<&Value>) -> Vec<(String, String)> {
    let Some(fields) = require.and_then(Value::as_object) else { return Vec::new() };
    fields
        .iter()
        .filter_map(|(key, value)| {
            let shown = match value {
                Value::Null | Value::Bool(false) => return None,
                Value::Array(items) if items.is_empty() => return None,
                Value::String(s) if key == "token_kind" && s == "any" => return None,
                Value::Bool(true) => "yes".to_owned(),
                Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
                other => plain(other),
            };
            Some((key.clone(), shown))
        })
        .collect()
}

fn list_or(value: Option<&Value>, none: &str) -> String {
    match value.and_then(Value::as_array) {
        Some(items) if !items.is_empty() => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        _ => none.to_owned(),
    }
}

fn text(value: Option<&Value>) -> String {
    value.map(plain).unwrap_or_default()
}

/// A string without its JSON quotes; anything else as compact JSON.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_route_shows_what_it_requires_and_nothing_it_does_not() {
        let document = json!({"route": [{"name": "orders", "path_prefix": "/orders/", "methods": [], "upstream": "echo",
            "public": false, "explain_denials": true, "websocket": true,
            "require": {"issuers": ["tokengate"], "roles_any": ["A", "B"], "groups_all": [], "token_kind": "any",
                        "allow_audience_array": false}}]});
        let rows = route_rows(&document);
        assert_eq!(rows[0].matches, "prefix /orders/");
        assert_eq!(rows[0].methods, "any");
        assert_eq!(rows[0].options, vec!["explain_denials"]);
        let keys: Vec<&str> = rows[0].requirements.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["issuers", "roles_any"]);
        assert_eq!(rows[0].requirements[1].1, "A, B");
    }

    #[test]
    fn etags_name_versions() {
        assert_eq!(version_of_etag("\"v7\""), Some(7));
        assert_eq!(version_of_etag("*"), None);
    }
}
