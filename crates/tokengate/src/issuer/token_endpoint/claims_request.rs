//! The token request's `claims` parameter (OpenID Connect Core §5.5) as MSAL sends it for
//! continuous access evaluation: `{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":
//! true,"value":"1700000000"}}}`, in either order, either part alone.
//!
//! - `xms_cc`: the client's capabilities, copied into its access tokens (`cp1`: it understands
//!   `insufficient_claims` challenges).
//! - `nbf`: a gateway's challenge after a revocation (`gateway_error::cae_challenge`) asks for a
//!   token issued no earlier than that second, which the revocation cannot cover. Our tokens' `iat`
//!   and `nbf` are back-dated by the clock skew (as Entra's), so for such a request the back-dating
//!   stops at the requested second; a second still to come is waited for (a few at most).
//!
//! Malformed JSON is ignored, as it always was here: the parameter only ever adds to a token, so
//! ignoring it never grants more. An `nbf` we cannot read is refused: silently minting a token the
//! revocation still covers would send the client round the challenge again.

use std::time::Duration;

use serde_json::Value;
use tokengate_core::errors::codes;
use tokengate_core::tokens::TokenSettings;
use tokengate_core::OAuthError;
use tokengate_core::UnixTime;

/// How far ahead a requested `nbf` may lie. A gateway asks for the second after its own clock's
/// (a revocation covers its whole second), so a few seconds cover that and clock differences
/// between nodes; anything later is no challenge of ours.
pub const MAX_NOT_BEFORE_WAIT_MS: i64 = 5_000;

/// Capabilities kept from one request (bounded: the values end up in a signed token).
const MAX_CAPABILITIES: usize = 16;
const MAX_CAPABILITY_CHARS: usize = 64;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// `access_token.xms_cc.values` (CAE: `cp1`).
    pub capabilities: Option<Vec<String>>,
    /// `access_token.nbf.value`: the earliest `iat` the new access token may carry.
    pub not_before: Option<UnixTime>,
}

impl ClaimsRequest {
    /// Reads `claims` as sent at `now_ms`; an `nbf` further ahead than a challenge can ask for is
    /// `invalid_request`.
    pub fn parse(claims: Option<&str>, now_ms: i64) -> Result<ClaimsRequest, OAuthError> {
        let Some(access_token) =
            claims.and_then(|c| serde_json::from_str::<Value>(c).ok()).and_then(|v| v.get("access_token").cloned())
        else {
            return Ok(ClaimsRequest::default());
        };
        let capabilities = capabilities_of(&access_token);
        let not_before = match access_token.get("nbf") {
            None => None,
            Some(nbf) => Some(not_before_of(nbf)?),
        };
        if let Some(nbf) = not_before {
            if nbf.saturating_mul(1000).saturating_sub(now_ms) > MAX_NOT_BEFORE_WAIT_MS {
                return Err(OAuthError::invalid_request(
                    codes::MALFORMED_REQUEST,
                    format!(
                        "The claims parameter asks for an access token not before {nbf}, more than {} seconds from now; a claims challenge asks for at most the next second.",
                        MAX_NOT_BEFORE_WAIT_MS / 1000
                    ),
                ));
            }
        }
        Ok(ClaimsRequest { capabilities, not_before })
    }

    /// How long to wait at `now_ms` before minting, so that a token issued then can honour `nbf`.
    pub fn wait_before_minting(&self, now_ms: i64) -> Option<Duration> {
        let ahead = self.not_before?.saturating_mul(1000).saturating_sub(now_ms);
        (ahead > 0).then(|| Duration::from_millis(ahead.unsigned_abs()))
    }

    /// The settings to mint with at `now`: tokens are back-dated as usual, but never to before the
    /// requested `nbf` (a shorter back-dating for this one request; nothing else reads the skew).
    pub fn settings_at(&self, settings: TokenSettings, now: UnixTime) -> TokenSettings {
        match self.not_before {
            Some(nbf) => TokenSettings { clock_skew: settings.clock_skew.min(now - nbf).max(0), ..settings },
            None => settings,
        }
    }
}

fn capabilities_of(access_token: &Value) -> Option<Vec<String>> {
    let values = access_token.get("xms_cc")?.get("values")?.as_array()?;
    let caps: Vec<String> = values
        .iter()
        .filter_map(Value::as_str)
        .take(MAX_CAPABILITIES)
        .map(|s| s.chars().take(MAX_CAPABILITY_CHARS).collect())
        .collect();
    (!caps.is_empty()).then_some(caps)
}

/// `{"essential":true,"value":"1700000000"}`: the value as a string of Unix seconds (what
/// gateways and Entra send) or as a JSON integer.
fn not_before_of(nbf: &Value) -> Result<UnixTime, OAuthError> {
    let value = match nbf.get("value") {
        Some(Value::String(s)) => s.trim().parse::<UnixTime>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    value.ok_or_else(|| {
        OAuthError::invalid_request(
            codes::MALFORMED_REQUEST,
            "The claims parameter's access_token.nbf must carry a value in Unix seconds.",
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    const NOW_MS: i64 = 1_700_000_000_400;
    const NOW: UnixTime = 1_700_000_000;

    fn parse(claims: &str) -> Result<ClaimsRequest, OAuthError> {
        ClaimsRequest::parse(Some(claims), NOW_MS)
    }

    #[test]
    fn capabilities_and_nbf_in_either_order_or_alone() {
        let cp1 = Some(vec!["cp1".to_owned()]);
        let both = r#"{"access_token":{"nbf":{"essential":true,"value":"1700000001"},"xms_cc":{"values":["cp1"]}}}"#;
        let reversed =
            r#"{"access_token":{"xms_cc":{"values":["cp1"]},"nbf":{"essential":true,"value":"1700000001"}}}"#;
        for claims in [both, reversed] {
            assert_eq!(parse(claims).unwrap(), ClaimsRequest { capabilities: cp1.clone(), not_before: Some(NOW + 1) });
        }
        let caps = parse(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#).unwrap();
        assert_eq!(caps, ClaimsRequest { capabilities: cp1, not_before: None });
        let nbf = parse(r#"{"access_token":{"nbf":{"essential":true,"value":1699999000}}}"#).unwrap();
        assert_eq!(nbf, ClaimsRequest { capabilities: None, not_before: Some(1_699_999_000) });
        assert_eq!(parse(r#"{"access_token":{"xms_cc":{"values":[]}}}"#).unwrap(), ClaimsRequest::default());
    }

    #[test]
    fn malformed_json_is_ignored_but_an_unreadable_or_far_nbf_is_refused() {
        assert_eq!(parse("not json").unwrap(), ClaimsRequest::default());
        assert_eq!(ClaimsRequest::parse(None, NOW_MS).unwrap(), ClaimsRequest::default());
        assert_eq!(parse(r#"{"id_token":{"auth_time":{"essential":true}}}"#).unwrap(), ClaimsRequest::default());
        for bad in [
            r#"{"access_token":{"nbf":{"essential":true}}}"#,
            r#"{"access_token":{"nbf":{"essential":true,"value":"soon"}}}"#,
            r#"{"access_token":{"nbf":{"essential":true,"value":1.5}}}"#,
            r#"{"access_token":{"nbf":{"essential":true,"value":"1700000006"}}}"#,
            r#"{"access_token":{"nbf":{"essential":true,"value":"9223372036854775807"}}}"#,
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!((e.status, e.error), (400, "invalid_request"), "{bad}");
        }
        assert!(parse(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000005"}}}"#).is_ok(), "4.6 s ahead");
    }

    #[test]
    fn waits_only_for_a_second_still_to_come() {
        let at = |nbf: Option<UnixTime>| ClaimsRequest { capabilities: None, not_before: nbf };
        assert_eq!(at(Some(NOW + 1)).wait_before_minting(NOW_MS), Some(Duration::from_millis(600)));
        assert_eq!(at(Some(NOW)).wait_before_minting(NOW_MS), None);
        assert_eq!(at(Some(NOW - 60)).wait_before_minting(NOW_MS), None);
        assert_eq!(at(None).wait_before_minting(NOW_MS), None);
    }

    #[test]
    fn back_dating_stops_at_the_requested_second() {
        let settings = TokenSettings::default();
        assert_eq!(settings.clock_skew, 300);
        let at = |nbf: Option<UnixTime>| ClaimsRequest { capabilities: None, not_before: nbf };
        assert_eq!(at(Some(NOW)).settings_at(settings, NOW).clock_skew, 0);
        assert_eq!(at(Some(NOW - 10)).settings_at(settings, NOW).clock_skew, 10);
        assert_eq!(at(Some(NOW - 3600)).settings_at(settings, NOW).clock_skew, 300);
        assert_eq!(at(None).settings_at(settings, NOW), settings);
        let other = TokenSettings { access_token_lifetime_min: 600, ..settings };
        assert_eq!(at(Some(NOW)).settings_at(other, NOW).access_token_lifetime_min, 600, "only the skew changes");
    }
}
