//! Per-route requirements and their evaluation against a verified token, on every request
//! (never cached). Identity checks (issuer, audience, tenant, version) fail as `invalid_token`;
//! missing permissions fail as `insufficient_scope` with what to ask for.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Rejection, VerifiedToken};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    #[default]
    Any,
    /// Client-credentials tokens only (no `scp`; `idtyp=app` where present).
    AppOnly,
    /// Tokens acting for a signed-in user only (with `scp`, even an empty one).
    Delegated,
}

/// A condition on a claim copied from the token (`VerifiedToken::extra`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimCondition {
    pub claim: String,
    /// The claim equals this value.
    #[serde(default)]
    pub equals: Option<Value>,
    /// The claim equals one of these values.
    #[serde(default)]
    pub one_of: Option<Vec<Value>>,
    /// The claim is an array containing this value (or a space-separated string with it).
    #[serde(default)]
    pub contains: Option<String>,
}

impl ClaimCondition {
    pub(crate) fn holds(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else { return false };
        if let Some(expected) = &self.equals {
            if value != expected {
                return false;
            }
        }
        if let Some(options) = &self.one_of {
            if !options.contains(value) {
                return false;
            }
        }
        if let Some(item) = &self.contains {
            let found = match value {
                Value::Array(items) => items.iter().any(|v| v.as_str() == Some(item)),
                Value::String(s) => s.split(' ').any(|x| x == item),
                _ => false,
            };
            if !found {
                return false;
            }
        }
        true
    }
}

/// What a protected route requires. `scopes_any` and `roles_any` together mean "any of these
/// delegated scopes OR any of these app roles" (a permission either way); every other list is
/// ANDed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// Names of trusted issuers (config) whose tokens this route accepts.
    pub issuers: Vec<String>,
    /// Accepted `aud` values: the API's App ID URIs and/or client id.
    pub audiences: Vec<String>,
    /// Accept an `aud` array (any element matching). Off: an array is refused.
    #[serde(default)]
    pub allow_audience_array: bool,
    /// Tenant (`tid`) allow-list; empty = any tenant the issuer accepts.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Token versions (`"1.0"`, `"2.0"`); empty = any.
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub scopes_any: Vec<String>,
    #[serde(default)]
    pub scopes_all: Vec<String>,
    #[serde(default)]
    pub roles_any: Vec<String>,
    #[serde(default)]
    pub roles_all: Vec<String>,
    #[serde(default)]
    pub groups_any: Vec<String>,
    #[serde(default)]
    pub groups_all: Vec<String>,
    #[serde(default)]
    pub token_kind: TokenKind,
    #[serde(default)]
    pub claims: Vec<ClaimCondition>,
    /// A route naming no scope or role accepts tokens carrying neither only when this is set
    /// (Microsoft.Identity.Web's ACL mode: the API authorises by `oid`/`azp` itself). Off:
    /// such a token gets 403 `insufficient_scope`.
    #[serde(default)]
    pub allow_tokens_without_permissions: bool,
}

impl Requirements {
    /// Problems that make these requirements unusable (listed by config validation).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.issuers.is_empty() {
            out.push("requires at least one trusted issuer (`issuers`)".to_owned());
        }
        if self.audiences.is_empty() {
            out.push("requires at least one audience (`audiences`): without it any API's token would pass".to_owned());
        }
        for v in &self.versions {
            if v != "1.0" && v != "2.0" {
                out.push(format!("version '{v}' is neither \"1.0\" nor \"2.0\""));
            }
        }
        for c in &self.claims {
            if c.equals.is_none() && c.one_of.is_none() && c.contains.is_none() {
                out.push(format!("claim condition on '{}' needs equals, one_of or contains", c.claim));
            }
        }
        out
    }
}

pub(crate) fn has(list: &[Arc<str>], item: &str) -> bool {
    list.iter().any(|x| &**x == item)
}

pub fn evaluate(req: &Requirements, t: &VerifiedToken) -> Result<(), Rejection> {
    if !req.issuers.iter().any(|i| *i == *t.issuer) {
        return Err(Rejection::IssuerNotAllowedOnRoute);
    }
    if t.aud_is_array && !req.allow_audience_array {
        return Err(Rejection::AudienceMismatch);
    }
    if !t.aud.iter().any(|a| req.audiences.iter().any(|r| r == &**a)) {
        return Err(Rejection::AudienceMismatch);
    }
    if !req.tenants.is_empty() && !t.tid.as_deref().is_some_and(|tid| req.tenants.iter().any(|r| r == tid)) {
        return Err(Rejection::TenantNotAllowed);
    }
    if !req.versions.is_empty() && !t.ver.as_deref().is_some_and(|v| req.versions.iter().any(|r| r == v)) {
        return Err(Rejection::VersionMismatch);
    }

    let insufficient = |needed: &[String]| Rejection::Insufficient(needed.join(" "));
    match req.token_kind {
        TokenKind::AppOnly if !t.is_app_only() => return Err(insufficient(&req.roles_any)),
        TokenKind::Delegated if !t.is_delegated() => return Err(insufficient(&req.scopes_any)),
        _ => {}
    }
    let names_permissions = !(req.scopes_any.is_empty()
        && req.scopes_all.is_empty()
        && req.roles_any.is_empty()
        && req.roles_all.is_empty());
    if !names_permissions && !t.has_permissions() && !req.allow_tokens_without_permissions {
        return Err(Rejection::NoPermissions);
    }
    if !req.scopes_any.is_empty() || !req.roles_any.is_empty() {
        let by_scope = req.scopes_any.iter().any(|s| has(&t.scopes, s));
        let by_role = req.roles_any.iter().any(|r| has(&t.roles, r));
        if !by_scope && !by_role {
            let mut needed = req.scopes_any.clone();
            needed.extend(req.roles_any.iter().cloned());
            return Err(insufficient(&needed));
        }
    }
    if let Some(missing) = req.scopes_all.iter().find(|s| !has(&t.scopes, s)) {
        return Err(Rejection::Insufficient(missing.clone()));
    }
    if let Some(missing) = req.roles_all.iter().find(|r| !has(&t.roles, r)) {
        return Err(Rejection::Insufficient(missing.clone()));
    }
    if !req.groups_any.is_empty() && !req.groups_any.iter().any(|g| has(&t.groups, g)) {
        return Err(insufficient(&req.groups_any));
    }
    if let Some(missing) = req.groups_all.iter().find(|g| !has(&t.groups, g)) {
        return Err(Rejection::Insufficient(missing.clone()));
    }
    if let Some(failed) = req.claims.iter().find(|c| !c.holds(t.extra_claim(&c.claim))) {
        return Err(Rejection::Insufficient(format!("claim:{}", failed.claim)));
    }
    Ok(())
}

/// Claim names conditions across all routes need copied into verified tokens.
pub fn condition_claims<'a>(all: impl Iterator<Item = &'a Requirements>) -> Vec<String> {
    let mut names: Vec<String> = all.flat_map(|r| r.claims.iter().map(|c| c.claim.clone())).collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use std::sync::Arc;

    pub fn strings(items: &[&str]) -> Box<[Arc<str>]> {
        items.iter().map(|s| Arc::from(*s)).collect()
    }

    pub fn sample_token() -> VerifiedToken {
        VerifiedToken {
            issuer: Arc::from("entra"),
            iss: "https://login/t/v2.0".into(),
            aud: strings(&["api-id"]),
            aud_is_array: false,
            tid: Some("t1".into()),
            oid: Some("o".into()),
            sub: Some("s".into()),
            client_id: Some("c".into()),
            uti: Some("u".into()),
            ver: Some("2.0".into()),
            scp_present: true,
            idtyp: None,
            scopes: strings(&["Orders.Read"]),
            roles: strings(&[]),
            groups: strings(&["g1"]),
            groups_overage: false,
            exp: 100,
            iat: Some(1),
            kid: "k".into(),
            cae_capable: false,
            extra: vec![(Box::from("department"), serde_json::json!("sales"))].into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{sample_token as token, strings};
    use super::*;
    use serde_json::json;

    fn req() -> Requirements {
        Requirements { issuers: vec!["entra".into()], audiences: vec!["api-id".into()], ..Default::default() }
    }

    #[test]
    fn identity_checks_are_invalid_token() {
        let t = token();
        assert_eq!(evaluate(&req(), &t), Ok(()));
        assert_eq!(
            evaluate(&Requirements { issuers: vec!["other".into()], ..req() }, &t),
            Err(Rejection::IssuerNotAllowedOnRoute)
        );
        assert_eq!(
            evaluate(&Requirements { audiences: vec!["api://x".into()], ..req() }, &t),
            Err(Rejection::AudienceMismatch)
        );
        assert_eq!(
            evaluate(&Requirements { tenants: vec!["t2".into()], ..req() }, &t),
            Err(Rejection::TenantNotAllowed)
        );
        assert_eq!(
            evaluate(&Requirements { versions: vec!["1.0".into()], ..req() }, &t),
            Err(Rejection::VersionMismatch)
        );
        let mut arr = token();
        arr.aud = strings(&["api-id", "other"]);
        arr.aud_is_array = true;
        assert_eq!(evaluate(&req(), &arr), Err(Rejection::AudienceMismatch), "arrays refused unless allowed");
        assert_eq!(evaluate(&Requirements { allow_audience_array: true, ..req() }, &arr), Ok(()));
    }

    #[test]
    fn permissions_are_insufficient_scope() {
        let t = token();
        let any =
            Requirements { scopes_any: vec!["Orders.Read".into()], roles_any: vec!["Orders.Read.All".into()], ..req() };
        assert_eq!(evaluate(&any, &t), Ok(()), "scope satisfies scope-or-role");
        let mut app = token();
        app.scopes = strings(&[]);
        app.scp_present = false;
        app.roles = strings(&["Orders.Read.All"]);
        assert_eq!(evaluate(&any, &app), Ok(()), "role satisfies scope-or-role");
        let write = Requirements { scopes_any: vec!["Orders.Write".into()], ..req() };
        assert_eq!(evaluate(&write, &t), Err(Rejection::Insufficient("Orders.Write".into())));
        assert!(evaluate(&Requirements { roles_all: vec!["Admin".into()], ..req() }, &t).is_err());
        assert!(evaluate(&Requirements { groups_any: vec!["g2".into()], ..req() }, &t).is_err());
        assert_eq!(evaluate(&Requirements { groups_all: vec!["g1".into()], ..req() }, &t), Ok(()));
        assert!(evaluate(&Requirements { token_kind: TokenKind::AppOnly, ..req() }, &t).is_err());
        assert_eq!(evaluate(&Requirements { token_kind: TokenKind::AppOnly, ..req() }, &app), Ok(()));
        assert!(evaluate(&Requirements { token_kind: TokenKind::Delegated, ..req() }, &app).is_err());
        let cond = |c: ClaimCondition| Requirements { claims: vec![c], ..req() };
        let base = ClaimCondition { claim: "department".into(), equals: None, one_of: None, contains: None };
        assert_eq!(evaluate(&cond(ClaimCondition { equals: Some(json!("sales")), ..base.clone() }), &t), Ok(()));
        assert!(evaluate(&cond(ClaimCondition { equals: Some(json!("hr")), ..base.clone() }), &t).is_err());
        assert_eq!(
            evaluate(&cond(ClaimCondition { one_of: Some(vec![json!("hr"), json!("sales")]), ..base.clone() }), &t),
            Ok(())
        );
        assert!(
            evaluate(&cond(ClaimCondition { claim: "missing".into(), equals: Some(json!(1)), ..base }), &t).is_err()
        );
    }

    /// App-only means `scp` absent (and `idtyp=app` where present), never an empty `scp`.
    #[test]
    fn token_kind_follows_the_scp_claim_not_its_contents() {
        let app_only = Requirements { token_kind: TokenKind::AppOnly, allow_tokens_without_permissions: true, ..req() };
        let delegated = Requirements { token_kind: TokenKind::Delegated, ..app_only.clone() };
        let mut empty_scp = token();
        empty_scp.scopes = strings(&[]);
        assert!(!empty_scp.is_app_only() && empty_scp.is_delegated(), "scp \"\" is delegated");
        assert!(evaluate(&app_only, &empty_scp).is_err(), "an empty scp never passes as app-only");
        assert_eq!(evaluate(&delegated, &empty_scp), Ok(()));

        let mut app = token();
        app.scopes = strings(&[]);
        app.scp_present = false;
        app.roles = strings(&[]);
        assert_eq!(evaluate(&app_only, &app), Ok(()), "no scp, no roles: still app-only");
        assert!(evaluate(&delegated, &app).is_err());
        app.idtyp = Some("app".into());
        assert_eq!(evaluate(&app_only, &app), Ok(()));
        app.idtyp = Some("user".into());
        assert!(evaluate(&app_only, &app).is_err(), "idtyp=user is not app-only");
        assert!(evaluate(&delegated, &app).is_err(), "nor delegated without scp");
    }

    /// A route naming no permission needs an opt-in for tokens carrying none.
    #[test]
    fn permission_less_tokens_need_the_route_to_opt_in() {
        let mut bare = token();
        bare.scopes = strings(&[]);
        bare.scp_present = false;
        bare.roles = strings(&[]);
        assert_eq!(evaluate(&req(), &bare), Err(Rejection::NoPermissions));
        assert_eq!(Rejection::NoPermissions.code(), "token_without_permissions");
        assert_eq!(Rejection::NoPermissions.answer(), crate::access::rejection::Answer::InsufficientScope);
        assert_eq!(evaluate(&Requirements { allow_tokens_without_permissions: true, ..req() }, &bare), Ok(()));
        let mut empty_scp = token();
        empty_scp.scopes = strings(&[]);
        assert_eq!(evaluate(&req(), &empty_scp), Err(Rejection::NoPermissions), "scp \"\" carries nothing");
        // A route naming a permission answers with what to ask for, opt-in or not.
        let needs =
            Requirements { scopes_any: vec!["Orders.Read".into()], allow_tokens_without_permissions: true, ..req() };
        assert_eq!(evaluate(&needs, &bare), Err(Rejection::Insufficient("Orders.Read".into())));
        // Tokens with a permission pass a route that names none, as before.
        assert_eq!(evaluate(&req(), &token()), Ok(()));
    }

    #[test]
    fn config_problems_are_listed() {
        let r = Requirements { versions: vec!["3".into()], ..Default::default() };
        assert_eq!(r.problems().len(), 3);
        assert!(req().problems().is_empty());
    }
}
