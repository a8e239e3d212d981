//! Tokens acting for a signed-in user: the delegated access token (`scp` from consent, `roles`
//! from the user's and their groups' app-role assignments, pairwise `sub`, optional `groups` with
//! Entra's overage form) and the ID token.

use tokengate_proto::claims::IdTokenClaims;
use tokengate_proto::AccessTokenClaims;

use super::access_token::{new_uti, opaque};
use super::{issuer_for, issuer_v2, TokenSettings};
use crate::client_auth::ClientAuthMethod;
use crate::directory::TokenVersion;
use crate::encoding::{b64url, sha256};
use crate::UnixTime;

/// More groups than this and the token carries Entra's overage pointer instead (JWT limit).
pub const MAX_GROUPS_IN_TOKEN: usize = 200;
/// ID tokens live an hour, as Entra's.
pub const ID_TOKEN_LIFETIME: i64 = 3600;

/// The signed-in user as tokens describe them.
pub struct SignedInUser<'a> {
    pub object_id: &'a str,
    pub tenant_id: &'a str,
    pub user_principal_name: &'a str,
    pub display_name: &'a str,
}

pub struct DelegatedToken<'a> {
    pub version: TokenVersion,
    pub base_url: &'a str,
    pub user: SignedInUser<'a>,
    /// v2: the resource's client id; v1: the identifier asked for.
    pub audience: String,
    pub client_app_id: &'a str,
    pub client_auth: ClientAuthMethod,
    /// Granted delegated scopes (consented ∩ requested), in request order.
    pub scopes: Vec<String>,
    /// App roles assigned to the user or their groups on the resource.
    pub roles: Vec<String>,
    /// Group object ids, when the client app asks for group claims.
    pub groups: Option<Vec<String>>,
    /// The client sent CAE `xms_cc` capabilities.
    pub client_capabilities: Option<Vec<String>>,
    pub now: UnixTime,
    pub lifetime: i64,
    /// The earliest `iat` allowed (a revocation's cutoff; see `RevocationSet::issued_floor`).
    pub issued_floor: Option<UnixTime>,
}

/// `sub` is pairwise: the same user has a different `sub` in every app (Entra does this), so
/// two apps cannot correlate users by `sub` — `oid` is the stable identifier.
pub fn pairwise_subject(user_object_id: &str, client_app_id: &str, tenant_id: &str) -> String {
    b64url(sha256(format!("{tenant_id}|{client_app_id}|{user_object_id}").as_bytes()))
}

pub fn delegated_claims(t: DelegatedToken<'_>, settings: &TokenSettings) -> AccessTokenClaims {
    let issued = super::back_dated(t.now, settings, t.issued_floor);
    let v1 = t.version == TokenVersion::V1;
    let client = Some(t.client_app_id.to_owned());
    let acr = Some(t.client_auth.acr().to_owned());
    let upn = t.user.user_principal_name.to_owned();
    let (groups, claim_names, claim_sources) = match t.groups {
        Some(g) if g.len() > MAX_GROUPS_IN_TOKEN => {
            // Entra's overage: point at where the groups can be read instead of listing them.
            let names = serde_json::json!({"groups": "src1"});
            let sources = serde_json::json!({"src1": {"endpoint": format!(
                "https://graph.microsoft.com/v1.0/users/{}/getMemberObjects", t.user.object_id
            )}});
            (None, Some(names), Some(sources))
        }
        Some(g) if !g.is_empty() => (Some(g), None, None),
        _ => (None, None, None),
    };
    AccessTokenClaims {
        aud: t.audience,
        iss: issuer_for(t.version, t.base_url, t.user.tenant_id),
        iat: issued,
        nbf: issued,
        exp: t.now + t.lifetime,
        aio: opaque(48),
        appid: if v1 { client.clone() } else { None },
        appidacr: if v1 { acr.clone() } else { None },
        azp: if v1 { None } else { client },
        azpacr: if v1 { None } else { acr },
        idp: None,
        idtyp: None,
        name: Some(t.user.display_name.to_owned()),
        oid: t.user.object_id.to_owned(),
        preferred_username: if v1 { None } else { Some(upn.clone()) },
        rh: format!("1.A{}.", opaque(40)),
        roles: if t.roles.is_empty() { None } else { Some(t.roles) },
        scp: Some(t.scopes.join(" ")),
        sub: pairwise_subject(t.user.object_id, t.client_app_id, t.user.tenant_id),
        tid: t.user.tenant_id.to_owned(),
        unique_name: if v1 { Some(upn.clone()) } else { None },
        upn: if v1 { Some(upn) } else { None },
        uti: new_uti(),
        ver: t.version.as_str().to_owned(),
        groups,
        claim_names,
        claim_sources,
        xms_cc: t.client_capabilities.filter(|c| !c.is_empty()),
    }
}

pub struct IdToken<'a> {
    pub base_url: &'a str,
    pub user: SignedInUser<'a>,
    pub client_app_id: &'a str,
    pub nonce: Option<String>,
    /// The sign-in session (`sid`).
    pub session_id: &'a str,
    pub now: UnixTime,
}

pub fn id_token_claims(t: IdToken<'_>, settings: &TokenSettings) -> IdTokenClaims {
    let issued = t.now - settings.clock_skew;
    IdTokenClaims {
        aud: t.client_app_id.to_owned(),
        iss: issuer_v2(t.base_url, t.user.tenant_id),
        iat: issued,
        nbf: issued,
        exp: t.now + ID_TOKEN_LIFETIME,
        aio: opaque(48),
        name: Some(t.user.display_name.to_owned()),
        nonce: t.nonce,
        oid: t.user.object_id.to_owned(),
        preferred_username: t.user.user_principal_name.to_owned(),
        rh: format!("1.A{}.", opaque(40)),
        sid: t.session_id.to_owned(),
        sub: pairwise_subject(t.user.object_id, t.client_app_id, t.user.tenant_id),
        tid: t.user.tenant_id.to_owned(),
        uti: new_uti(),
        ver: "2.0".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> SignedInUser<'static> {
        SignedInUser {
            object_id: "oid-1",
            tenant_id: "tid-1",
            user_principal_name: "ann@contoso.example",
            display_name: "Ann",
        }
    }

    fn token(version: TokenVersion, groups: Option<Vec<String>>) -> AccessTokenClaims {
        delegated_claims(
            DelegatedToken {
                version,
                base_url: "https://h",
                user: user(),
                audience: "api".into(),
                client_app_id: "client-1",
                client_auth: ClientAuthMethod::Public,
                scopes: vec!["Orders.Read".into(), "Orders.Write".into()],
                roles: vec![],
                groups,
                client_capabilities: Some(vec!["cp1".into()]),
                now: 10_000,
                issued_floor: None,
                lifetime: 3600,
            },
            &TokenSettings::default(),
        )
    }

    #[test]
    fn v2_delegated_shape() {
        let c = token(TokenVersion::V2, Some(vec!["g1".into()]));
        assert_eq!(c.scp.as_deref(), Some("Orders.Read Orders.Write"));
        assert!(c.roles.is_none(), "no roles claim without assignments");
        assert_eq!(c.azpacr.as_deref(), Some("0"), "public client");
        assert_eq!(c.preferred_username.as_deref(), Some("ann@contoso.example"));
        assert!(c.upn.is_none());
        assert_ne!(c.sub, c.oid, "pairwise sub");
        assert_eq!(c.groups, Some(vec!["g1".to_string()]));
        assert_eq!(c.xms_cc, Some(vec!["cp1".to_string()]));
        assert_eq!(c.iss, "https://h/tid-1/v2.0");
    }

    #[test]
    fn v1_uses_upn_and_unique_name() {
        let c = token(TokenVersion::V1, None);
        assert_eq!(c.upn.as_deref(), Some("ann@contoso.example"));
        assert_eq!(c.unique_name.as_deref(), Some("ann@contoso.example"));
        assert!(c.preferred_username.is_none() && c.groups.is_none());
        assert_eq!(c.appid.as_deref(), Some("client-1"));
    }

    #[test]
    fn group_overage_past_200() {
        let many: Vec<String> = (0..201).map(|i| format!("g{i}")).collect();
        let c = token(TokenVersion::V2, Some(many));
        assert!(c.groups.is_none());
        assert_eq!(c.claim_names, Some(serde_json::json!({"groups": "src1"})));
        assert!(c.claim_sources.unwrap()["src1"]["endpoint"].as_str().unwrap().contains("oid-1"));
        let exactly: Vec<String> = (0..200).map(|i| format!("g{i}")).collect();
        assert_eq!(token(TokenVersion::V2, Some(exactly)).groups.map(|g| g.len()), Some(200));
    }

    #[test]
    fn pairwise_sub_differs_per_app_and_id_token_shape() {
        assert_ne!(pairwise_subject("o", "app-a", "t"), pairwise_subject("o", "app-b", "t"));
        assert_eq!(pairwise_subject("o", "app-a", "t"), pairwise_subject("o", "app-a", "t"));
        let id = id_token_claims(
            IdToken {
                base_url: "https://h",
                user: user(),
                client_app_id: "client-1",
                nonce: Some("n-1".into()),
                session_id: "s",
                now: 100,
            },
            &TokenSettings::default(),
        );
        assert_eq!(id.aud, "client-1");
        assert_eq!(id.nonce.as_deref(), Some("n-1"));
        assert_eq!(id.exp - 100, ID_TOKEN_LIFETIME);
        assert_eq!(id.sub, pairwise_subject("oid-1", "client-1", "tid-1"));
        assert_eq!(id.ver, "2.0");
    }
}
