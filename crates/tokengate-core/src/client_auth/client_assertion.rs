//! `private_key_jwt` client authentication (RFC 7523 §2.2, RFC 7521 §4.2) with every variant
//! real clients send: PS256 + `x5t#S256` (padded, MSAL Python), RS256 + SHA-1 `x5t`
//! (azure-identity, MSAL thumbprint mode), integer or float times, no `nbf`, `x5c` chains.
//! The key must be a certificate registered on the app; header-supplied keys are never trusted.

use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::directory::ClientCertificate;
use crate::encoding::{b64_decode, b64url_decode_padded};
use crate::errors::{codes, OAuthError};
use crate::jws::{parse_compact, JwsAlgorithm};
use crate::keys::signing_key::rsa_public_key_der;
use crate::UnixTime;

pub const JWT_BEARER_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Assertions are small; anything bigger is not one.
const MAX_ASSERTION_LEN: usize = 16 * 1024;
/// Longest assertion lifetime accepted (clients use 5–10 minutes).
const MAX_ASSERTION_LIFETIME: i64 = 3600;

pub struct AssertionContext<'a> {
    pub client_id: &'a str,
    /// Token endpoint URLs and issuer the assertion may be addressed to.
    pub accepted_audiences: &'a [String],
    pub now: UnixTime,
    pub skew: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    pub expires_at: UnixTime,
    pub certificate_key_id: Uuid,
}

fn invalid(code: u32, text: &str) -> OAuthError {
    OAuthError::invalid_client(code, text)
}

pub fn verify_client_assertion(
    assertion: &str,
    certificates: &[ClientCertificate],
    ctx: &AssertionContext<'_>,
) -> Result<VerifiedAssertion, OAuthError> {
    let jws = parse_compact(assertion, MAX_ASSERTION_LEN)
        .map_err(|e| invalid(codes::ASSERTION_MALFORMED, &format!("JWT token is invalid or malformed: {e}.")))?;
    let alg = jws.algorithm(&[JwsAlgorithm::Rs256, JwsAlgorithm::Ps256]).map_err(|_| {
        invalid(
            codes::ASSERTION_SIGNATURE_INVALID,
            "Client assertion failed signature validation: unsupported algorithm.",
        )
    })?;

    let certificate = select_certificate(&jws.header, certificates, ctx.now).ok_or_else(|| {
        invalid(
            codes::ASSERTION_SIGNATURE_INVALID,
            "Client assertion failed signature validation: the key is not registered on the application.",
        )
    })?;
    let public_key = rsa_public_key_der(&certificate.der)
        .map_err(|_| invalid(codes::ASSERTION_SIGNATURE_INVALID, "Client assertion failed signature validation."))?;
    jws.verify_rsa(alg, &public_key)
        .map_err(|_| invalid(codes::ASSERTION_SIGNATURE_INVALID, "Client assertion failed signature validation."))?;

    let claims = &jws.claims;
    let claim = |name: &str| {
        claims.str(name).map_err(|_| invalid(codes::ASSERTION_MALFORMED, &format!("Claim '{name}' is malformed.")))
    };
    let iss = claim("iss")?;
    let sub = claim("sub")?;
    if iss.is_none() || sub.is_none() || iss != sub {
        return Err(invalid(
            codes::ASSERTION_SUB_NOT_ISS,
            "Assertion subject and issuer must be the client id of the application.",
        ));
    }
    if iss != Some(ctx.client_id) {
        return Err(invalid(
            codes::ASSERTION_CLIENT_MISMATCH,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    // `aud` must be one string naming this token endpoint (an array is refused: RFC 7523 lets
    // it be one, but Entra's own assertions never are, and it widens what a stolen one can reach).
    let aud = claim("aud")?
        .ok_or_else(|| invalid(codes::ASSERTION_INVALID, "Assertion audience is missing or not a string."))?;
    if !ctx.accepted_audiences.iter().any(|a| a.trim_end_matches('/') == aud.trim_end_matches('/')) {
        return Err(invalid(codes::ASSERTION_INVALID, "Assertion audience does not match the token endpoint."));
    }

    let time = |name: &str| {
        claims
            .numeric_date(name)
            .map_err(|_| invalid(codes::ASSERTION_MALFORMED, &format!("Claim '{name}' is not a NumericDate.")))
    };
    let exp = time("exp")?.ok_or_else(|| invalid(codes::ASSERTION_EXPIRED, "Client assertion has no expiry."))?;
    if exp + ctx.skew <= ctx.now {
        return Err(invalid(codes::ASSERTION_EXPIRED, "Client assertion is not within its valid time range: expired."));
    }
    if exp > ctx.now + MAX_ASSERTION_LIFETIME + ctx.skew {
        return Err(invalid(codes::ASSERTION_INVALID, "Client assertion expiry is too far in the future."));
    }
    if let Some(nbf) = time("nbf")? {
        if nbf > ctx.now + ctx.skew {
            return Err(invalid(
                codes::ASSERTION_EXPIRED,
                "Client assertion is not within its valid time range: not yet valid.",
            ));
        }
    }
    if let Some(iat) = time("iat")? {
        if iat > ctx.now + ctx.skew {
            return Err(invalid(codes::ASSERTION_EXPIRED, "Client assertion was issued in the future."));
        }
    }
    let jti = claim("jti")?
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid(codes::ASSERTION_INVALID, "Client assertion must carry a 'jti' claim."))?;

    Ok(VerifiedAssertion { jti: jti.to_owned(), expires_at: exp, certificate_key_id: certificate.key_id })
}

/// Finds the registered, unexpired certificate the header names, by `x5t#S256`, `x5t` or the
/// leaf of `x5c` — compared against stored values only.
fn select_certificate<'c>(
    header: &crate::jws::UniqueObject,
    certificates: &'c [ClientCertificate],
    now: UnixTime,
) -> Option<&'c ClientCertificate> {
    let live = || certificates.iter().filter(move |c| c.expires_at > now);
    let thumb = |name: &str| header.str(name).ok().flatten().and_then(b64url_decode_padded);
    if let Some(t) = thumb("x5t#S256") {
        return live().find(|c| bool::from(c.thumbprint_sha256.as_slice().ct_eq(&t)));
    }
    if let Some(t) = thumb("x5t") {
        return live().find(|c| bool::from(c.thumbprint_sha1.as_slice().ct_eq(&t)));
    }
    // `kid` in MSAL's thumbprint mode is the hex SHA-1 thumbprint.
    if let Ok(Some(kid)) = header.str("kid") {
        if let Some(found) = live().find(|c| crate::encoding::hex_upper(&c.thumbprint_sha1).eq_ignore_ascii_case(kid)) {
            return Some(found);
        }
    }
    let leaf = match header.get("x5c") {
        Some(serde_json::Value::Array(chain)) => chain.first().and_then(|v| v.as_str()),
        _ => None,
    }?;
    let compact: String = leaf.chars().filter(|c| !c.is_whitespace()).collect();
    let der = b64_decode(&compact)?;
    live().find(|c| c.der == der)
}

#[cfg(test)]
#[path = "client_assertion/tests.rs"]
mod tests;
