//! Structural diff between two policy documents: what an operator reviews before publishing.
//! Issuers and routes are matched by name (a renamed route is a removal and an addition), so a
//! change reads `route orders: require.scopes_any: ["Orders.Read"] -> ["Orders.Write"]` instead
//! of a text diff that depends on formatting.

use serde::Serialize;
use serde_json::Value;

use super::policy_document::PolicyDocument;

/// One changed value. `before`/`after` absent: added/removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyChange {
    /// `settings.clock_skew`, `issuer entra`, `route orders: require.scopes_any`...
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl std::fmt::Display for PolicyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.before, &self.after) {
            (None, Some(after)) => write!(f, "+ {}: {after}", self.path),
            (Some(before), None) => write!(f, "- {}: {before}", self.path),
            (Some(before), Some(after)) => write!(f, "~ {}: {before} -> {after}", self.path),
            (None, None) => write!(f, "  {}", self.path),
        }
    }
}

/// Every change from `before` to `after`, settings first, then issuers, then routes, each in
/// the order of `after` (removals where they stood in `before`).
pub fn diff(before: &PolicyDocument, after: &PolicyDocument) -> Vec<PolicyChange> {
    let mut changes = Vec::new();
    compare("settings", &to_value(&before.settings), &to_value(&after.settings), &mut changes);
    named(
        "issuer",
        before.issuers.iter().map(|i| (i.name.as_str(), to_value(i))).collect(),
        after.issuers.iter().map(|i| (i.name.as_str(), to_value(i))).collect(),
        &mut changes,
    );
    named(
        "route",
        before.routes.iter().map(|r| (r.name.as_str(), to_value(r))).collect(),
        after.routes.iter().map(|r| (r.name.as_str(), to_value(r))).collect(),
        &mut changes,
    );
    let order = |d: &PolicyDocument| d.routes.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let (was, now) = (order(before), order(after));
    let common_was: Vec<&String> = was.iter().filter(|n| now.contains(n)).collect();
    let common_now: Vec<&String> = now.iter().filter(|n| was.contains(n)).collect();
    if common_was != common_now {
        // Routes match first to last: a reorder changes which route decides.
        changes.push(PolicyChange {
            path: "route order".into(),
            before: Some(Value::from(common_was.iter().map(|s| s.as_str()).collect::<Vec<_>>())),
            after: Some(Value::from(common_now.iter().map(|s| s.as_str()).collect::<Vec<_>>())),
        });
    }
    changes
}

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn named(kind: &str, before: Vec<(&str, Value)>, after: Vec<(&str, Value)>, out: &mut Vec<PolicyChange>) {
    for (name, old) in &before {
        if !after.iter().any(|(n, _)| n == name) {
            out.push(PolicyChange { path: format!("{kind} {name}"), before: Some(old.clone()), after: None });
        }
    }
    for (name, new) in &after {
        match before.iter().find(|(n, _)| n == name) {
            None => out.push(PolicyChange { path: format!("{kind} {name}"), before: None, after: Some(new.clone()) }),
            Some((_, old)) => {
                let mut inner = Vec::new();
                compare("", old, new, &mut inner);
                out.extend(inner.into_iter().map(|c| PolicyChange { path: format!("{kind} {name}: {}", c.path), ..c }));
            }
        }
    }
}

/// Objects are compared key by key; anything else (arrays included) as a whole value.
fn compare(path: &str, before: &Value, after: &Value, out: &mut Vec<PolicyChange>) {
    if before == after {
        return;
    }
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (key, old) in b {
                match a.get(key) {
                    Some(new) => compare(&join(key), old, new, out),
                    None if !old.is_null() => {
                        out.push(PolicyChange { path: join(key), before: Some(old.clone()), after: None })
                    }
                    None => {}
                }
            }
            for (key, new) in a {
                if !b.contains_key(key) && !new.is_null() {
                    out.push(PolicyChange { path: join(key), before: None, after: Some(new.clone()) });
                }
            }
        }
        (Value::Null, new) => out.push(PolicyChange { path: path.to_owned(), before: None, after: Some(new.clone()) }),
        (old, Value::Null) => out.push(PolicyChange { path: path.to_owned(), before: Some(old.clone()), after: None }),
        (old, new) => {
            out.push(PolicyChange { path: path.to_owned(), before: Some(old.clone()), after: Some(new.clone()) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> PolicyDocument {
        toml::from_str(text).unwrap()
    }

    const BASE: &str = r#"
        [settings]
        clock_skew = 300
        [[issuer]]
        name = "tokengate"
        kind = "builtin"
        [[route]]
        name = "health"
        path = "/health"
        upstream = "echo"
        public = true
        [[route]]
        name = "orders"
        path_prefix = "/orders/"
        upstream = "echo"
        [route.require]
        issuers = ["tokengate"]
        audiences = ["api://orders"]
        scopes_any = ["Orders.Read"]
    "#;

    #[test]
    fn identical_documents_have_no_changes() {
        assert!(diff(&doc(BASE), &doc(BASE)).is_empty());
    }

    #[test]
    fn changes_name_the_route_and_field_they_touch() {
        let changed = BASE
            .replace("clock_skew = 300", "clock_skew = 60")
            .replace("scopes_any = [\"Orders.Read\"]", "scopes_any = [\"Orders.Write\"]\n        tenants = [\"t1\"]");
        let changes = diff(&doc(BASE), &doc(&changed));
        let lines: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        assert_eq!(
            lines,
            vec![
                "~ settings.clock_skew: 300 -> 60",
                "~ route orders: require.scopes_any: [\"Orders.Read\"] -> [\"Orders.Write\"]",
                "~ route orders: require.tenants: [] -> [\"t1\"]",
            ]
        );
    }

    #[test]
    fn added_removed_and_reordered_routes() {
        let mut after = doc(BASE);
        after.routes.reverse();
        let mut added = after.routes[0].clone();
        added.name = "admin".into();
        after.routes.push(added);
        after.issuers.clear();
        let lines: Vec<String> = diff(&doc(BASE), &after).iter().map(|c| c.to_string()).collect();
        assert!(lines[0].starts_with("- issuer tokengate: "), "{lines:?}");
        assert!(lines[1].starts_with("+ route admin: "), "{lines:?}");
        assert_eq!(lines[2], "~ route order: [\"health\",\"orders\"] -> [\"orders\",\"health\"]");
        assert_eq!(lines.len(), 3);
    }
}
