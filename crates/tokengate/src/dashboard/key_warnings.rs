//! What the overview warns about the issuer's signing keys (from `GET /admin/v1/keys`): rotation
//! that would have no pre-published key to switch to, retired keys published past their window,
//! and an active key that has signed for long.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokengate_proto::admin::SigningKeyView;

/// An active key older than this is worth rotating.
pub const ACTIVE_KEY_MAX_AGE_DAYS: i64 = 90;

/// Warnings in words that say what to do; none when the keys are in order.
pub fn key_warnings(keys: &[SigningKeyView], now_unix: i64) -> Vec<String> {
    if keys.is_empty() {
        return vec!["No signing keys exist: start an issuer node, which creates them.".into()];
    }
    let mut warnings = Vec::new();
    if !keys.iter().any(|k| k.state == "next") {
        warnings.push(
            "No next key is published: relying parties would see a rotation's new key only when it starts \
             signing. Rotate on the Keys page to publish one."
                .into(),
        );
    }
    if !keys.iter().any(|k| k.state == "active") {
        warnings.push("No key is active: the issuer cannot sign tokens. Rotate on the Keys page.".into());
    }
    for key in keys.iter().filter(|k| k.state == "active") {
        if let Some(created) = unix(&key.created_at) {
            let days = (now_unix - created) / 86_400;
            if days > ACTIVE_KEY_MAX_AGE_DAYS {
                warnings.push(format!(
                    "The active key {} has signed for {days} days (more than {ACTIVE_KEY_MAX_AGE_DAYS}): rotate it.",
                    key.kid
                ));
            }
        }
    }
    for key in keys.iter().filter(|k| k.state == "retired") {
        match key.published_until.as_deref().and_then(unix) {
            Some(until) if until > now_unix => {}
            Some(_) => warnings.push(format!(
                "The retired key {} is still published after its window ended: it is removed at the issuer's next key \
                 reload; if it stays, check the issuer nodes.",
                key.kid
            )),
            None => warnings.push(format!(
                "The retired key {} is published with no end: tokens it signed keep verifying. Remove it once they \
                 have expired.",
                key.kid
            )),
        }
    }
    warnings
}

fn unix(iso: &str) -> Option<i64> {
    OffsetDateTime::parse(iso, &Rfc3339).ok().map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, state: &str, created_at: &str, published_until: Option<&str>) -> SigningKeyView {
        SigningKeyView {
            kid: kid.into(),
            state: state.into(),
            created_at: created_at.into(),
            published_until: published_until.map(str::to_owned),
        }
    }

    /// 2024-05-01T00:00:00Z.
    const NOW: i64 = 1_714_521_600;

    #[test]
    fn keys_in_order_raise_nothing() {
        let keys = [
            key("n", "next", "2024-04-30T00:00:00Z", None),
            key("a", "active", "2024-04-01T00:00:00Z", None),
            key("r", "retired", "2024-03-01T00:00:00Z", Some("2024-05-02T00:00:00Z")),
        ];
        assert!(key_warnings(&keys, NOW).is_empty(), "{:?}", key_warnings(&keys, NOW));
    }

    #[test]
    fn a_missing_next_key_an_old_active_key_and_an_overdue_retired_key_are_named() {
        let keys = [
            key("a", "active", "2024-01-01T00:00:00Z", None),
            key("r", "retired", "2023-12-01T00:00:00Z", Some("2024-04-01T00:00:00Z")),
        ];
        let warnings = key_warnings(&keys, NOW);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("No next key"));
        assert!(warnings[1].contains("The active key a has signed for 121 days"));
        assert!(warnings[2].contains("The retired key r is still published"));
    }
}
