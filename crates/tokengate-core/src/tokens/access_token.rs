//! Access-token claim sets, v1.0 and v2.0, exactly in Entra's shape: `iat` = `nbf` = issue time
//! minus the skew, opaque `aio`/`rh`, a fresh `uti` (the revocation handle).

use tokengate_proto::AccessTokenClaims;

use super::{issuer_for, issuer_v1, TokenSettings};
use crate::client_auth::ClientAuthMethod;
use crate::directory::TokenVersion;
use crate::encoding::{b64url, random_bytes};
use crate::UnixTime;

/// Everything an app-only (client credentials) token says.
pub struct AppOnlyToken<'a> {
    pub version: TokenVersion,
    pub base_url: &'a str,
    pub tenant_id: &'a str,
    /// v2: the resource's client id; v1: the identifier the client asked for.
    pub audience: String,
    pub client_app_id: &'a str,
    pub client_auth: ClientAuthMethod,
    /// Object id of the client's service principal: both `oid` and `sub`.
    pub service_principal_oid: &'a str,
    pub roles: Vec<String>,
    pub now: UnixTime,
    pub lifetime: i64,
    /// The earliest `iat` allowed (a revocation's cutoff; see `RevocationSet::issued_floor`).
    pub issued_floor: Option<UnixTime>,
}

pub fn app_only_claims(t: AppOnlyToken<'_>, settings: &TokenSettings) -> AccessTokenClaims {
    let issued = super::back_dated(t.now, settings, t.issued_floor);
    let v1 = t.version == TokenVersion::V1;
    let client = Some(t.client_app_id.to_owned());
    let acr = Some(t.client_auth.acr().to_owned());
    AccessTokenClaims {
        aud: t.audience,
        iss: issuer_for(t.version, t.base_url, t.tenant_id),
        iat: issued,
        nbf: issued,
        exp: t.now + t.lifetime,
        aio: opaque(48),
        appid: if v1 { client.clone() } else { None },
        appidacr: if v1 { acr.clone() } else { None },
        azp: if v1 { None } else { client },
        azpacr: if v1 { None } else { acr },
        idp: if v1 { Some(issuer_v1(t.base_url, t.tenant_id)) } else { None },
        idtyp: None,
        name: None,
        oid: t.service_principal_oid.to_owned(),
        preferred_username: None,
        rh: format!("1.A{}.", opaque(40)),
        roles: if t.roles.is_empty() { None } else { Some(t.roles) },
        scp: None,
        sub: t.service_principal_oid.to_owned(),
        tid: t.tenant_id.to_owned(),
        unique_name: None,
        upn: None,
        uti: new_uti(),
        ver: t.version.as_str().to_owned(),
        groups: None,
        claim_names: None,
        claim_sources: None,
        xms_cc: None,
    }
}

/// A unique token identifier, 128 random bits, 22 characters like Entra's.
pub fn new_uti() -> String {
    b64url(random_bytes::<16>())
}

pub(crate) fn opaque(len_bytes: usize) -> String {
    let bytes = random_bytes::<48>();
    b64url(&bytes[..len_bytes.min(48)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(version: TokenVersion) -> AccessTokenClaims {
        token_with_floor(version, None)
    }

    fn token_with_floor(version: TokenVersion, issued_floor: Option<i64>) -> AccessTokenClaims {
        app_only_claims(
            AppOnlyToken {
                version,
                base_url: "https://h",
                tenant_id: "tid",
                audience: "aud".into(),
                client_app_id: "cid",
                client_auth: ClientAuthMethod::Certificate,
                service_principal_oid: "spoid",
                roles: vec!["R".into()],
                now: 10_000,
                lifetime: 3600,
                issued_floor,
            },
            &TokenSettings::default(),
        )
    }

    #[test]
    fn a_token_minted_after_a_revocation_is_never_back_dated_before_its_cutoff() {
        let c = token_with_floor(TokenVersion::V2, Some(10_001));
        assert_eq!((c.iat, c.nbf, c.exp), (10_001, 10_001, 13_600), "cutoff in the next second");
        let c = token_with_floor(TokenVersion::V2, Some(9_000));
        assert_eq!((c.iat, c.nbf), (9_700, 9_700), "an old cutoff changes nothing");
    }

    #[test]
    fn v2_shape() {
        let c = token(TokenVersion::V2);
        assert_eq!(c.iss, "https://h/tid/v2.0");
        assert_eq!((c.iat, c.nbf, c.exp), (9_700, 9_700, 13_600));
        assert_eq!(c.azp.as_deref(), Some("cid"));
        assert_eq!(c.azpacr.as_deref(), Some("2"));
        assert!(c.appid.is_none() && c.scp.is_none());
        assert_eq!(c.sub, c.oid);
        assert_eq!(c.ver, "2.0");
        assert_eq!(c.uti.len(), 22);
        assert_ne!(c.uti, token(TokenVersion::V2).uti);
    }

    #[test]
    fn v1_shape() {
        let c = token(TokenVersion::V1);
        assert_eq!(c.iss, "https://h/tid/");
        assert_eq!(c.appid.as_deref(), Some("cid"));
        assert_eq!(c.appidacr.as_deref(), Some("2"));
        assert!(c.azp.is_none());
        assert_eq!(c.ver, "1.0");
    }
}
