//! Public keys from a JWKS, parsed once. Each key is bound to its family: an RSA key verifies
//! only RS256/PS256, a P-256 key only ES256, and only algorithms on the issuer's allow-list are
//! parsed at all — the token's `alg` header can never pick anything else (no HMAC, no `none`).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use serde::Deserialize;

use crate::encoding::b64url_decode;
use crate::jws::JwsAlgorithm;

/// Longest `kid` looked up; anything longer cannot be a key of ours (exact map lookup only).
pub const MAX_KID_LEN: usize = 256;

pub struct VerifyingKey {
    pub kid: String,
    /// The key's `issuer` member in the JWKS (Entra publishes one, possibly with `{tenantid}`).
    pub issuer: Option<String>,
    parsed: Vec<(JwsAlgorithm, ParsedPublicKey)>,
}

impl VerifyingKey {
    pub fn verifier(&self, alg: JwsAlgorithm) -> Option<&ParsedPublicKey> {
        self.parsed.iter().find(|(a, _)| *a == alg).map(|(_, k)| k)
    }
}

/// kid → key, for one issuer, replaced as a whole when the JWKS is refetched.
#[derive(Default)]
pub struct KeySnapshot {
    pub keys: HashMap<String, Arc<VerifyingKey>>,
}

impl KeySnapshot {
    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        if kid.len() > MAX_KID_LEN {
            return None;
        }
        self.keys.get(kid)
    }
}

#[derive(Deserialize)]
struct JwkDocument {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwksError {
    #[error("JWKS is not a JSON object with a `keys` array: {0}")]
    Document(String),
    #[error("JWKS holds no usable key for the allowed algorithms")]
    NoUsableKey,
}

/// Parses a JWKS document, keeping keys usable with `allowed` algorithms. Keys without `kid`,
/// private or symmetric keys, and keys marked for encryption are skipped.
pub fn parse_jwks(bytes: &[u8], allowed: &[JwsAlgorithm]) -> Result<KeySnapshot, JwksError> {
    let doc: JwkDocument = serde_json::from_slice(bytes).map_err(|e| JwksError::Document(e.to_string()))?;
    let mut keys = HashMap::new();
    for jwk in doc.keys {
        if let Some(key) = parse_jwk(&jwk, allowed) {
            keys.insert(key.kid.clone(), Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey);
    }
    Ok(KeySnapshot { keys })
}

fn parse_jwk(jwk: &serde_json::Value, allowed: &[JwsAlgorithm]) -> Option<VerifyingKey> {
    let field = |name: &str| jwk.get(name).and_then(|v| v.as_str());
    let kid = field("kid").filter(|k| !k.is_empty() && k.len() <= MAX_KID_LEN)?.to_owned();
    if field("use").is_some_and(|u| u != "sig") || jwk.get("d").is_some() || jwk.get("k").is_some() {
        return None;
    }
    let declared_alg = field("alg").and_then(JwsAlgorithm::parse);
    let mut parsed = Vec::new();
    match field("kty")? {
        "RSA" => {
            let n = b64url_decode(field("n")?)?;
            let e = b64url_decode(field("e")?)?;
            let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(&RsaPublicKeyComponents {
                n: &n[..],
                e: &e[..],
            })
            .ok()?;
            for alg in allowed.iter().filter(|a| matches!(a, JwsAlgorithm::Rs256 | JwsAlgorithm::Ps256)) {
                if declared_alg.is_some_and(|d| d != *alg) {
                    continue;
                }
                if let Ok(key) = ParsedPublicKey::new(alg.verification(), spki.as_ref()) {
                    parsed.push((*alg, key));
                }
            }
        }
        "EC" if field("crv") == Some("P-256") && allowed.contains(&JwsAlgorithm::Es256) => {
            let x = b64url_decode(field("x")?)?;
            let y = b64url_decode(field("y")?)?;
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if let Ok(key) = ParsedPublicKey::new(JwsAlgorithm::Es256.verification(), &point) {
                parsed.push((JwsAlgorithm::Es256, key));
            }
        }
        _ => return None,
    }
    if parsed.is_empty() {
        return None;
    }
    Some(VerifyingKey { kid, issuer: field("issuer").map(str::to_owned), parsed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_usable_public_signing_keys() {
        let (key, _) = crate::keys::SigningKey::generate(1_800_000_000).unwrap();
        let mut rsa = serde_json::to_value(&key.jwk).unwrap();
        rsa["issuer"] = json!("https://x/{tenantid}/v2.0");
        let doc = json!({"keys": [
            rsa,
            {"kty": "oct", "kid": "sym", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": key.jwk.n, "e": "AQAB"},
            {"kty": "RSA", "kid": "private", "n": key.jwk.n, "e": "AQAB", "d": "AQAB"},
            {"kty": "RSA", "n": key.jwk.n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        ]});
        let snapshot = parse_jwks(doc.to_string().as_bytes(), &[JwsAlgorithm::Rs256]).unwrap();
        assert_eq!(snapshot.keys.len(), 1);
        let k = snapshot.get(&key.kid).unwrap();
        assert!(k.verifier(JwsAlgorithm::Rs256).is_some());
        assert!(k.verifier(JwsAlgorithm::Ps256).is_none(), "only allowed algorithms are parsed");
        assert_eq!(k.issuer.as_deref(), Some("https://x/{tenantid}/v2.0"));
        assert!(snapshot.get(&"k".repeat(MAX_KID_LEN + 1)).is_none());
        assert_eq!(parse_jwks(b"{\"keys\":[]}", &[JwsAlgorithm::Rs256]).err(), Some(JwksError::NoUsableKey));
        assert!(parse_jwks(b"[]", &[JwsAlgorithm::Rs256]).is_err());
    }
}
