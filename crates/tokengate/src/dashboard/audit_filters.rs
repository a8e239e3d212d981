//! The audit page's filters: the same query parameter names as `GET /admin/v1/audit` (so a
//! dashboard URL and an API URL filter alike), passed on to the API without the empty ones (an
//! empty `outcome=` would be refused there, but means "any" in a form).

use serde::Deserialize;

/// Every filter of the audit API, as the page's GET form sends them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditFilters {
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub tenant: String,
    #[serde(default)]
    pub token_id: String,
    #[serde(default)]
    pub route: String,
    #[serde(default)]
    pub decision_id: String,
}

impl AuditFilters {
    /// The filters given, as `name=value` pairs in a fixed order; times as RFC 3339.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let fields: [(&'static str, &str); 13] = [
            ("since", &self.since),
            ("until", &self.until),
            ("source", &self.source),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("reason", &self.reason),
            ("subject", &self.subject),
            ("actor", &self.actor),
            ("client", &self.client),
            ("tenant", &self.tenant),
            ("token_id", &self.token_id),
            ("route", &self.route),
            ("decision_id", &self.decision_id),
        ];
        fields
            .into_iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| {
                let value = value.trim();
                let value = if matches!(name, "since" | "until") { rfc3339(value) } else { value.to_owned() };
                (name, value)
            })
            .collect()
    }

    /// The query string of the API call and of the page's own links (no leading `?`).
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(self.pairs()).finish()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    /// `query` followed by `extra` (`cursor=...`), joined as a URL needs.
    pub fn query_with(&self, extra: &str) -> String {
        match (self.query(), extra) {
            (q, "") => q,
            (q, e) if q.is_empty() => e.to_owned(),
            (q, e) => format!("{q}&{e}"),
        }
    }
}

/// What a person types or a `datetime-local` input sends, as the API's RFC 3339 (UTC): a date
/// alone is its midnight, a time without seconds or zone gets `:00` and `Z`. Anything else is
/// passed on as typed, and the API says what is wrong with it.
fn rfc3339(text: &str) -> String {
    let text = text.replacen(' ', "T", 1);
    let shape: String = text.chars().map(|c| if c.is_ascii_digit() { 'd' } else { c }).collect();
    match shape.as_str() {
        "dddd-dd-dd" => format!("{text}T00:00:00Z"),
        "dddd-dd-ddTdd:dd" => format!("{text}:00Z"),
        "dddd-dd-ddTdd:dd:dd" => format!("{text}Z"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_given_filters_are_passed_on_and_times_become_rfc3339() {
        let filters = AuditFilters {
            outcome: "denied".into(),
            since: "2024-05-01T10:00".into(),
            client: " a b ".into(),
            route: "  ".into(),
            ..Default::default()
        };
        assert_eq!(filters.query(), "since=2024-05-01T10%3A00%3A00Z&outcome=denied&client=a+b");
        assert_eq!(filters.query_with("cursor=7"), format!("{}&cursor=7", filters.query()));
        assert!(AuditFilters::default().is_empty());
        assert_eq!(AuditFilters::default().query_with("cursor=7"), "cursor=7");
        assert_eq!(rfc3339("2024-05-01"), "2024-05-01T00:00:00Z");
        assert_eq!(rfc3339("2024-05-01T10:00:00+02:00"), "2024-05-01T10:00:00+02:00");
    }
}
