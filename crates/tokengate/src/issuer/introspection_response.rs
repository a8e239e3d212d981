//! The body of an RFC 7662 introspection answer (§2.2). An inactive one is `{"active":false}` and
//! nothing more. An active one carries the RFC's members plus Entra's `oid` and `tid` (how APIs
//! key their users). `scope` is a delegated token's `scp`; an app-only token has none, so its app
//! `roles` stand in (space-separated): both are what a resource server authorises by, and RFC 7662
//! has no member for roles.

use serde::Serialize;
use serde_json::Value;
use tokengate_core::access::token_validation::VerifiedToken;
use tokengate_core::directory::User;
use tokengate_core::grants::token_families::RefreshToken;
use tokengate_core::tokens::delegated_token::pairwise_subject;
use tokengate_core::tokens::issuer_v2;
use tokengate_core::UnixTime;

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Bearer` (an access token) or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<UnixTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// A string, or an array when the token sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The access token's `uti` (Entra's token identifier; the handle revocations name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}

impl Introspection {
    pub fn inactive() -> Introspection {
        Introspection::default()
    }

    pub fn of_access_token(t: &VerifiedToken) -> Introspection {
        let permissions = if t.scp_present { &t.scopes } else { &t.roles };
        let text = |name: &str| t.extra_claim(name).and_then(Value::as_str).map(str::to_owned);
        let aud = if t.aud_is_array {
            Value::Array(t.aud.iter().map(|a| Value::from(&**a)).collect())
        } else {
            Value::from(t.aud.first().map(|a| &**a).unwrap_or_default())
        };
        Introspection {
            active: true,
            scope: (!permissions.is_empty()).then(|| permissions.join(" ")),
            client_id: t.client_id.as_deref().map(str::to_owned),
            username: text("preferred_username").or_else(|| text("upn")),
            token_type: Some("Bearer"),
            exp: Some(t.exp),
            iat: t.iat,
            nbf: t.extra_claim("nbf").and_then(Value::as_i64),
            sub: t.sub.as_deref().map(str::to_owned),
            aud: Some(aud),
            iss: Some(t.iss.to_string()),
            jti: t.uti.as_deref().map(str::to_owned),
            oid: t.oid.as_deref().map(str::to_owned),
            tid: t.tid.as_deref().map(str::to_owned),
        }
    }

    /// A refresh token is for the issuer alone: no audience, no identifier of its own; `sub` is
    /// the pairwise subject its ID tokens carry for the client.
    pub fn of_refresh_token(r: &RefreshToken, user: &User, base_url: &str) -> Introspection {
        let (oid, client, tid) = (r.user_id.to_string(), r.client_id.to_string(), r.tenant_id.to_string());
        Introspection {
            active: true,
            scope: (!r.scopes.is_empty()).then(|| r.scopes.join(" ")),
            username: Some(user.user_principal_name.clone()),
            token_type: Some("refresh_token"),
            exp: Some(r.expires_at),
            iat: Some(r.issued_at),
            sub: Some(pairwise_subject(&oid, &client, &tid)),
            iss: Some(issuer_v2(base_url, &tid)),
            client_id: Some(client),
            oid: Some(oid),
            tid: Some(tid),
            ..Introspection::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    #[test]
    fn inactive_is_active_false_and_nothing_else() {
        assert_eq!(serde_json::to_string(&Introspection::inactive()).unwrap(), r#"{"active":false}"#);
    }
}
