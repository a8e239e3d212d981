//! Strict compact-JWS parsing (RFC 7515) shared by everything that reads a JWT: exactly three
//! base64url segments without padding, JSON objects with no duplicate member names, bounded size.
//! The algorithm is never taken from the token alone: callers pass the algorithms they accept.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::encoding::b64url_decode;

/// Default upper bound on a compact JWS (header + payload + signature), in bytes.
pub const MAX_JWS_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("token exceeds the size limit")]
    TooLarge,
    #[error("token is not a compact JWS with three segments")]
    Segments,
    #[error("segment is not base64url")]
    Base64,
    #[error("segment is not a JSON object: {0}")]
    Json(String),
    #[error("algorithm {0:?} is not accepted")]
    Algorithm(String),
    #[error("critical header extensions are not supported")]
    Crit,
    #[error("signature does not verify")]
    Signature,
}

/// A member is present but has the wrong type or an out-of-range value. A bad claim is
/// invalid, never treated as absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("claim is malformed")]
pub struct BadClaim;

/// A JSON object whose member names were unique in the input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UniqueObject(pub BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor;
        impl<'de> Visitor<'de> for UniqueVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object with unique member names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((key, UniqueValue(value))) = access.next_entry::<String, UniqueValue>()? {
                    if map.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate member name"));
                    }
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(UniqueVisitor)
    }
}

/// A JSON value whose objects, at every depth, have unique member names (two parsers must never
/// read different values from one token: `serde_json::Value` would keep the last duplicate).
struct UniqueValue(Value);

impl<'de> Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = UniqueValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::from(v)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<UniqueValue, E> {
                serde_json::Number::from_f64(v)
                    .map(|n| UniqueValue(Value::Number(n)))
                    .ok_or_else(|| E::custom("non-finite number"))
            }
            fn visit_str<E>(self, v: &str) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<UniqueValue, E> {
                Ok(UniqueValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueValue, A::Error> {
                let mut items = Vec::new();
                while let Some(UniqueValue(v)) = seq.next_element::<UniqueValue>()? {
                    items.push(v);
                }
                Ok(UniqueValue(Value::Array(items)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueValue, A::Error> {
                let mut map = serde_json::Map::new();
                while let Some((key, UniqueValue(value))) = access.next_entry::<String, UniqueValue>()? {
                    if map.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate member name"));
                    }
                }
                Ok(UniqueValue(Value::Object(map)))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

impl UniqueObject {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string member; `Err` when present but not a string (a bad claim is invalid, not absent).
    pub fn str(&self, name: &str) -> Result<Option<&str>, BadClaim> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(BadClaim),
        }
    }

    /// A NumericDate (RFC 7519 §2): integer or finite float seconds, truncated; `Err` for any
    /// other type or an out-of-range value.
    pub fn numeric_date(&self, name: &str) -> Result<Option<i64>, BadClaim> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                // Integers get the same bound as floats: a date far outside any lifetime would only
                // overflow the `exp + skew` arithmetic of callers.
                if let Some(i) = n.as_i64() {
                    if (-1_000_000_000_000_000..1_000_000_000_000_000).contains(&i) {
                        Ok(Some(i))
                    } else {
                        Err(BadClaim)
                    }
                } else if let Some(f) = n.as_f64() {
                    if f.is_finite() && f > -1e15 && f < 1e15 {
                        Ok(Some(f as i64))
                    } else {
                        Err(BadClaim)
                    }
                } else {
                    Err(BadClaim)
                }
            }
            Some(_) => Err(BadClaim),
        }
    }
}

/// A parsed but not yet verified compact JWS.
#[derive(Debug)]
pub struct CompactJws<'a> {
    pub header: UniqueObject,
    pub claims: UniqueObject,
    /// `base64url(header) . base64url(payload)` — the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Signature algorithms tokengate verifies. Never HMAC, never `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    Rs256,
    Ps256,
    Es256,
}

impl JwsAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(JwsAlgorithm::Rs256),
            "PS256" => Some(JwsAlgorithm::Ps256),
            "ES256" => Some(JwsAlgorithm::Es256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlgorithm::Rs256 => "RS256",
            JwsAlgorithm::Ps256 => "PS256",
            JwsAlgorithm::Es256 => "ES256",
        }
    }

    /// The aws-lc-rs verification algorithm; the key type is part of it, so a key can only ever
    /// be used with the family it was parsed for.
    pub fn verification(self) -> &'static dyn aws_lc_rs::signature::VerificationAlgorithm {
        match self {
            JwsAlgorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
            JwsAlgorithm::Es256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        }
    }
}

pub fn parse_compact(token: &str, max_len: usize) -> Result<CompactJws<'_>, JwsError> {
    if token.len() > max_len {
        return Err(JwsError::TooLarge);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwsError::Segments);
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(JwsError::Segments);
    }
    let header_bytes = b64url_decode(h).ok_or(JwsError::Base64)?;
    let payload_bytes = b64url_decode(p).ok_or(JwsError::Base64)?;
    let signature = b64url_decode(s).ok_or(JwsError::Base64)?;
    let header: UniqueObject = serde_json::from_slice(&header_bytes).map_err(|e| JwsError::Json(e.to_string()))?;
    let claims: UniqueObject = serde_json::from_slice(&payload_bytes).map_err(|e| JwsError::Json(e.to_string()))?;
    if header.get("crit").is_some() {
        return Err(JwsError::Crit);
    }
    Ok(CompactJws { header, claims, signing_input: &token[..h.len() + 1 + p.len()], signature })
}

impl CompactJws<'_> {
    /// The header's `alg`, if it is one of `accepted`.
    pub fn algorithm(&self, accepted: &[JwsAlgorithm]) -> Result<JwsAlgorithm, JwsError> {
        let name = match self.header.get("alg") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(JwsError::Algorithm(String::new())),
        };
        match JwsAlgorithm::parse(name) {
            Some(alg) if accepted.contains(&alg) => Ok(alg),
            _ => Err(JwsError::Algorithm(name.chars().take(16).collect())),
        }
    }

    /// Verifies with an RSA public key (PKCS#1 `RSAPublicKey` DER); the key type is bound to the
    /// algorithm family, so an RSA key can never be used as an HMAC secret.
    pub fn verify_rsa(&self, alg: JwsAlgorithm, rsa_public_key_der: &[u8]) -> Result<(), JwsError> {
        let params = match alg {
            JwsAlgorithm::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
            JwsAlgorithm::Ps256 => &RSA_PSS_2048_8192_SHA256,
            JwsAlgorithm::Es256 => return Err(JwsError::Algorithm("ES256".into())),
        };
        UnparsedPublicKey::new(params, rsa_public_key_der)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| JwsError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::b64url;

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64url(header), b64url(payload), b64url("sig"))
    }

    #[test]
    fn rejects_structural_problems() {
        assert_eq!(parse_compact("a.b", MAX_JWS_LEN).err(), Some(JwsError::Segments));
        assert_eq!(parse_compact("a.b.c.d", MAX_JWS_LEN).err(), Some(JwsError::Segments));
        assert_eq!(parse_compact("..", MAX_JWS_LEN).err(), Some(JwsError::Segments));
        let padded = format!("{}=.{}.{}", b64url("{}"), b64url("{}"), b64url("x"));
        assert_eq!(parse_compact(&padded, MAX_JWS_LEN).err(), Some(JwsError::Base64));
        let big = "a".repeat(MAX_JWS_LEN + 1);
        assert_eq!(parse_compact(&big, MAX_JWS_LEN).err(), Some(JwsError::TooLarge));
        assert!(matches!(parse_compact(&token("[1]", "{}"), MAX_JWS_LEN), Err(JwsError::Json(_))));
        assert!(matches!(
            parse_compact(&token(r#"{"alg":"RS256","alg":"none"}"#, "{}"), MAX_JWS_LEN),
            Err(JwsError::Json(_))
        ));
        assert!(matches!(parse_compact(&token("{}", r#"{"sub":"a","sub":"b"}"#), MAX_JWS_LEN), Err(JwsError::Json(_))));
        assert!(
            matches!(
                parse_compact(&token("{}", r#"{"cnf":{"jkt":"a","jkt":"b"}}"#), MAX_JWS_LEN),
                Err(JwsError::Json(_))
            ),
            "duplicates are refused at every depth"
        );
        assert!(matches!(
            parse_compact(&token(r#"{"alg":"RS256","jwk":[{"kty":"RSA","kty":"oct"}]}"#, "{}"), MAX_JWS_LEN),
            Err(JwsError::Json(_))
        ));
        assert_eq!(
            parse_compact(&token(r#"{"alg":"RS256","crit":["exp"]}"#, "{}"), MAX_JWS_LEN).err(),
            Some(JwsError::Crit)
        );
    }

    #[test]
    fn algorithm_comes_from_the_allow_list() {
        let t = token(r#"{"alg":"HS256"}"#, "{}");
        let jws = parse_compact(&t, MAX_JWS_LEN).unwrap();
        assert!(jws.algorithm(&[JwsAlgorithm::Rs256]).is_err());
        let t = token(r#"{"alg":"none"}"#, "{}");
        assert!(parse_compact(&t, MAX_JWS_LEN).unwrap().algorithm(&[JwsAlgorithm::Rs256]).is_err());
        let t = token(r#"{"alg":"PS256"}"#, "{}");
        let jws = parse_compact(&t, MAX_JWS_LEN).unwrap();
        assert!(jws.algorithm(&[JwsAlgorithm::Rs256]).is_err());
        assert_eq!(jws.algorithm(&[JwsAlgorithm::Rs256, JwsAlgorithm::Ps256]), Ok(JwsAlgorithm::Ps256));
    }

    #[test]
    fn numeric_dates_accept_floats_reject_strings() {
        let t = token("{}", r#"{"a":1.9,"b":"5","c":1e300,"d":7,"e":9223372036854775807}"#);
        let jws = parse_compact(&t, MAX_JWS_LEN).unwrap();
        assert_eq!(jws.claims.numeric_date("a"), Ok(Some(1)));
        assert_eq!(jws.claims.numeric_date("b"), Err(BadClaim));
        assert_eq!(jws.claims.numeric_date("c"), Err(BadClaim));
        assert_eq!(jws.claims.numeric_date("d"), Ok(Some(7)));
        assert_eq!(jws.claims.numeric_date("e"), Err(BadClaim), "no overflow in exp + skew later");
        assert_eq!(jws.claims.numeric_date("zz"), Ok(None));
    }
}
