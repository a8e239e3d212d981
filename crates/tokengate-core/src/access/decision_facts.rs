//! What a gateway decision record keeps of the verified token: exactly the claims route
//! requirements look at (issuer, audience, version, kind, scopes, roles, groups, the claims route
//! conditions name) — never the token or its signature. A policy simulation replays recorded
//! decisions against a draft by rebuilding a `VerifiedToken` from these facts.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::VerifiedToken;

/// At most this many groups are kept per record (a token's `groups` can run to 200).
pub const MAX_RECORDED_GROUPS: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TokenFacts {
    /// The trusted issuer's name in the policy.
    pub issuer: String,
    pub aud: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aud_is_array: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// The token carried `scp` (a delegated token).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scp_present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scp: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// More groups than `MAX_RECORDED_GROUPS`, or Entra's overage form: group checks are unknown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub groups_incomplete: bool,
    /// Claims that route conditions named when the request was decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<(String, Value)>,
}

fn strings(list: &[Arc<str>]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl TokenFacts {
    pub fn of(t: &VerifiedToken) -> TokenFacts {
        TokenFacts {
            issuer: t.issuer.to_string(),
            aud: strings(&t.aud),
            aud_is_array: t.aud_is_array,
            ver: t.ver.as_deref().map(str::to_owned),
            scp_present: t.scp_present,
            idtyp: t.idtyp.as_deref().map(str::to_owned),
            scp: strings(&t.scopes),
            roles: strings(&t.roles),
            groups: strings(&t.groups[..t.groups.len().min(MAX_RECORDED_GROUPS)]),
            groups_incomplete: t.groups_overage || t.groups.len() > MAX_RECORDED_GROUPS,
            claims: t.extra.iter().map(|(n, v)| (n.to_string(), v.clone())).collect(),
        }
    }

    /// A token with these facts, for evaluating route requirements again. Identity columns of
    /// the record (`tid`, client, subject) come in separately; what was not recorded is empty.
    pub fn to_token(&self, tid: Option<&str>, client_id: Option<&str>, oid: Option<&str>) -> VerifiedToken {
        let shared = |list: &[String]| list.iter().map(|s| Arc::from(s.as_str())).collect::<Box<[Arc<str>]>>();
        VerifiedToken {
            issuer: Arc::from(self.issuer.as_str()),
            iss: Arc::from(""),
            aud: shared(&self.aud),
            aud_is_array: self.aud_is_array,
            tid: tid.map(Arc::from),
            oid: oid.map(Box::from),
            sub: None,
            client_id: client_id.map(Arc::from),
            uti: None,
            ver: self.ver.as_deref().map(Arc::from),
            scp_present: self.scp_present,
            idtyp: self.idtyp.as_deref().map(Arc::from),
            scopes: shared(&self.scp),
            roles: shared(&self.roles),
            groups: shared(&self.groups),
            groups_overage: self.groups_incomplete,
            exp: i64::MAX,
            iat: None,
            kid: Arc::from(""),
            cae_capable: false,
            extra: self.claims.iter().map(|(n, v)| (Box::from(n.as_str()), v.clone())).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::policy::{evaluate, Requirements};

    #[test]
    fn facts_round_trip_to_the_same_decisions() {
        let mut facts = TokenFacts {
            issuer: "tokengate".into(),
            aud: vec!["api://orders".into()],
            ver: Some("2.0".into()),
            scp_present: true,
            scp: vec!["Orders.Read".into()],
            ..TokenFacts::default()
        };
        let json = serde_json::to_value(&facts).unwrap();
        assert!(json.get("roles").is_none(), "empty lists are left out: {json}");
        let back: TokenFacts = serde_json::from_value(json).unwrap();
        assert_eq!(back, facts);

        let mut req = Requirements {
            issuers: vec!["tokengate".into()],
            audiences: vec!["api://orders".into()],
            scopes_any: vec!["Orders.Read".into()],
            ..Requirements::default()
        };
        assert!(evaluate(&req, &facts.to_token(Some("t"), Some("c"), None)).is_ok());
        req.scopes_any = vec!["Orders.Write".into()];
        assert!(evaluate(&req, &facts.to_token(Some("t"), Some("c"), None)).is_err());
        facts.scp.push("Orders.Write".into());
        assert!(evaluate(&req, &facts.to_token(Some("t"), Some("c"), None)).is_ok());
    }
}
