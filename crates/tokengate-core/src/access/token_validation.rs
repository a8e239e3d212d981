//! Verifying an access token, route-independent (so the result can be cached): structure,
//! issuer, algorithm allow-list, key, signature, lifetimes, claim types, and that it is not an
//! ID token (told apart by what the issuer puts in each, never by missing permissions). Route
//! checks (audience, tenant, version, permissions) live in `policy`.
//!
//! Order matters for cost and safety: cheap structural checks first, the RSA verification only
//! for a token whose issuer and key are known, and no claim is trusted before the signature is.

use std::sync::Arc;

use serde_json::Value;

use super::claim_interner::ClaimInterner;
use super::trusted_issuer::{is_guid, IssuerKind, TrustedIssuer, TrustedIssuers};
use super::Rejection;
use crate::jws::{parse_compact, JwsAlgorithm, UniqueObject};
use crate::UnixTime;

/// A verified access token, reduced to what policy and forwarding need (kept small: one lives in
/// the verified-token cache per distinct token). Values many tokens share are `Arc<str>` from the
/// cache's `ClaimInterner`; the per-token ones (`oid`, `sub`, `uti`) are owned.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// Name of the trusted issuer (config), not the `iss` string.
    pub issuer: Arc<str>,
    pub iss: Arc<str>,
    pub aud: Strings,
    pub aud_is_array: bool,
    pub tid: Option<Arc<str>>,
    pub oid: Option<Box<str>>,
    pub sub: Option<Box<str>>,
    /// `azp` (v2) or `appid` (v1): the client application.
    pub client_id: Option<Arc<str>>,
    pub uti: Option<Box<str>>,
    pub ver: Option<Arc<str>>,
    /// The token carried `scp` (even an empty one): it acts for a user.
    pub scp_present: bool,
    /// `idtyp` (`app` or `user`), when the issuer sent it.
    pub idtyp: Option<Arc<str>>,
    pub scopes: Strings,
    pub roles: Strings,
    pub groups: Strings,
    /// `groups` did not fit (Entra's `_claim_names` overage form).
    pub groups_overage: bool,
    pub exp: UnixTime,
    pub iat: Option<UnixTime>,
    pub kid: Arc<str>,
    /// Client declared CAE capability (`xms_cc` contains `cp1`).
    pub cae_capable: bool,
    /// Claims that route conditions look at, copied out at verification.
    pub extra: Box<[(Box<str>, Value)]>,
}

impl VerifiedToken {
    /// App-only (client credentials): no `scp` at all, and `idtyp=app` where the issuer says.
    /// An empty `scp` is still a delegated token, never an app-only one.
    pub fn is_app_only(&self) -> bool {
        !self.scp_present && self.idtyp.as_deref().is_none_or(|t| t == "app")
    }

    /// Acting for a signed-in user: `scp` present (even empty), unless `idtyp` says app.
    pub fn is_delegated(&self) -> bool {
        self.scp_present && self.idtyp.as_deref().is_none_or(|t| t == "user")
    }

    /// Carries at least one scope or app role.
    pub fn has_permissions(&self) -> bool {
        !self.scopes.is_empty() || !self.roles.is_empty()
    }

    pub fn is_live(&self, now: UnixTime, skew: i64) -> bool {
        now < self.exp + skew
    }

    pub fn extra_claim(&self, name: &str) -> Option<&Value> {
        self.extra.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }
}

pub struct ValidationContext<'a> {
    pub issuers: &'a TrustedIssuers,
    pub skew: i64,
    pub max_token_len: usize,
    /// Claim names route conditions need (copied into `VerifiedToken::extra`).
    pub extra_claims: &'a [String],
    pub now: UnixTime,
    /// Where the values many tokens share are kept once (the verified-token cache's).
    pub interner: &'a ClaimInterner,
}

#[derive(Debug)]
pub enum VerifyFailure {
    Rejected(Rejection),
    /// The issuer is trusted but does not (yet) have this `kid`: refetch its keys and retry.
    UnknownKey(Arc<TrustedIssuer>),
}

impl From<Rejection> for VerifyFailure {
    fn from(r: Rejection) -> Self {
        VerifyFailure::Rejected(r)
    }
}

pub fn verify(token: &str, ctx: &ValidationContext<'_>) -> Result<VerifiedToken, VerifyFailure> {
    if token.len() > ctx.max_token_len {
        return Err(Rejection::TokenTooLarge.into());
    }
    let jws = parse_compact(token, ctx.max_token_len).map_err(|_| Rejection::MalformedToken)?;
    let claims = &jws.claims;
    let str_claim = |name: &'static str| claims.str(name).map_err(|_| Rejection::BadClaim(name));

    // Which trusted issuer claims to have signed this (verified below by its key).
    let iss = str_claim("iss")?.ok_or(Rejection::UntrustedIssuer)?;
    let tid = str_claim("tid")?;
    let (issuer, material, version) = ctx.issuers.find(iss, tid).ok_or(Rejection::UntrustedIssuer)?;

    // Algorithm from the issuer's allow-list only, never from the token alone.
    let alg = jws.algorithm(&issuer.algorithms).map_err(|_| Rejection::AlgorithmNotAllowed)?;
    let kid = match jws.header.get("kid").or_else(|| jws.header.get("x5t")) {
        Some(Value::String(k)) => k.as_str(),
        _ => return Err(Rejection::UnknownKey.into()),
    };
    let Some(key) = material.keys.get(kid) else {
        return Err(VerifyFailure::UnknownKey(issuer.clone()));
    };
    let verifier = key.verifier(alg).ok_or(Rejection::AlgorithmNotAllowed)?;
    verifier.verify_sig(jws.signing_input.as_bytes(), &jws.signature).map_err(|_| Rejection::BadSignature)?;

    // From here on the claims are the issuer's.
    let number = |name: &'static str| claims.numeric_date(name).map_err(|_| Rejection::BadClaim(name));
    let exp = number("exp")?.ok_or(Rejection::BadClaim("exp"))?;
    if ctx.now >= exp + ctx.skew {
        return Err(Rejection::Expired.into());
    }
    if number("nbf")?.is_some_and(|nbf| nbf > ctx.now + ctx.skew) {
        return Err(Rejection::NotYetValid.into());
    }
    let iat = number("iat")?;
    if iat.is_some_and(|iat| iat > ctx.now + ctx.skew) {
        return Err(Rejection::IssuedInFuture.into());
    }

    if issuer.kind != IssuerKind::Oidc {
        // Entra-shaped: a GUID tid that is the tenant named in iss, and the key's own issuer.
        let tid = tid.filter(|t| is_guid(t)).ok_or(Rejection::BadClaim("tid"))?;
        if !iss.split('/').any(|segment| segment == tid) {
            return Err(Rejection::BadClaim("tid").into());
        }
        // Entra's v2 JWKS names the issuer each key signs for; honour it. A v1 token signed by
        // the same key carries the v1 issuer, which the v2 key metadata cannot name.
        if let Some(key_issuer) = &key.issuer {
            let v1_token_with_v2_key_metadata =
                version == Some("1.0") && key_issuer.trim_end_matches('/').ends_with("/v2.0");
            let key_pattern = super::trusted_issuer::IssuerPattern { template: key_issuer.clone(), version: None };
            if !v1_token_with_v2_key_metadata && !key_pattern.matches(iss, Some(tid)) {
                return Err(Rejection::UntrustedIssuer.into());
            }
        }
        if let Some(allowed) = &issuer.tenants {
            if !allowed.contains(tid) {
                return Err(Rejection::TenantNotAllowed.into());
            }
        }
    }

    let ver = str_claim("ver")?;
    if let Some(required) = version {
        if ver != Some(required) {
            return Err(Rejection::VersionMismatch.into());
        }
    }
    let shared = ctx.interner;
    let aud = audiences(claims, shared)?;
    let scp = match issuer.kind {
        IssuerKind::Oidc => str_claim("scp")?.or(str_claim("scope")?),
        _ => str_claim("scp")?,
    };
    let scp_present = scp.is_some();
    let scopes = split_scopes(scp, shared);
    let roles = string_array(claims, "roles", shared)?;
    let groups = string_array(claims, "groups", shared)?;
    let groups_overage = claims.get("_claim_names").and_then(|v| v.get("groups")).is_some();
    let idtyp = str_claim("idtyp")?;
    let client_id = match str_claim("azp")? {
        Some(azp) => Some(azp),
        None => str_claim("appid")?,
    };

    // ID tokens are not access tokens. Entra's access tokens always name the client (`azp` v2,
    // `appid` v1) and its ID tokens never do; an ID token may carry a `nonce`. Missing
    // permissions say nothing: an app-only token of a client holding no app role has neither
    // `scp` nor `roles`, and an app may hold an access token whose `aud` is its own client id.
    if claims.get("nonce").is_some() || (issuer.kind != IssuerKind::Oidc && client_id.is_none()) {
        return Err(Rejection::IdToken.into());
    }
    let cae_capable = string_array(claims, "xms_cc", shared)?.iter().any(|c| &**c == "cp1");
    let extra = ctx
        .extra_claims
        .iter()
        .filter_map(|name| claims.get(name).map(|v| (Box::from(name.as_str()), v.clone())))
        .collect();
    Ok(VerifiedToken {
        issuer: issuer.name.clone(),
        iss: shared.intern(iss),
        aud: aud.0,
        aud_is_array: aud.1,
        tid: tid.map(|t| shared.intern(t)),
        oid: str_claim("oid")?.map(Box::from),
        sub: str_claim("sub")?.map(Box::from),
        client_id: client_id.map(|c| shared.intern(c)),
        uti: str_claim("uti")?.map(Box::from),
        ver: ver.map(|v| shared.intern(v)),
        scp_present,
        idtyp: idtyp.map(|t| shared.intern(t)),
        scopes,
        roles,
        groups,
        groups_overage,
        exp,
        iat,
        kid: shared.intern(kid),
        cae_capable,
        extra,
    })
}

/// Claim values: a pointer per value, the value itself shared through the `ClaimInterner` (one
/// cached token should stay well under a kilobyte).
pub type Strings = Box<[Arc<str>]>;

/// `aud` as a list, and whether the token sent it as an array.
fn audiences(claims: &UniqueObject, shared: &ClaimInterner) -> Result<(Strings, bool), Rejection> {
    match claims.get("aud") {
        Some(Value::String(a)) => Ok((Box::new([shared.intern(a)]), false)),
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(shared.intern(item.as_str().ok_or(Rejection::BadClaim("aud"))?));
            }
            Ok((out.into_boxed_slice(), true))
        }
        _ => Err(Rejection::BadClaim("aud")),
    }
}

fn string_array(claims: &UniqueObject, name: &'static str, shared: &ClaimInterner) -> Result<Strings, Rejection> {
    match claims.get(name) {
        None => Ok(Box::new([])),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(|s| shared.intern(s)).ok_or(Rejection::BadClaim(name)))
            .collect::<Result<Vec<_>, _>>()
            .map(Vec::into_boxed_slice),
        Some(_) => Err(Rejection::BadClaim(name)),
    }
}

fn split_scopes(scp: Option<&str>, shared: &ClaimInterner) -> Strings {
    scp.map(|s| s.split(' ').filter(|x| !x.is_empty()).map(|x| shared.intern(x)).collect()).unwrap_or_default()
}

/// Which algorithms a kind of issuer accepts by default.
pub fn default_algorithms(kind: IssuerKind) -> Vec<JwsAlgorithm> {
    match kind {
        IssuerKind::Builtin | IssuerKind::Entra => vec![JwsAlgorithm::Rs256],
        IssuerKind::Oidc => vec![JwsAlgorithm::Rs256, JwsAlgorithm::Ps256, JwsAlgorithm::Es256],
    }
}

#[cfg(test)]
#[path = "token_validation/tests.rs"]
mod tests;
