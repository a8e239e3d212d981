//! One RSA-2048 signing key, parsed once. Signing a token is one JSON serialisation, one base64
//! pass and one RSA private operation on the pre-parsed key: re-parsing per call (as
//! `jsonwebtoken::encode` does) costs over half the throughput.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde::Serialize;
use tokengate_proto::Jwk;

use crate::encoding::{b64, b64url, sha1};
use crate::UnixTime;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("private key rejected: {0}")]
    Rejected(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("signing failed")]
    Sign,
    #[error("claims serialisation failed: {0}")]
    Serialize(String),
}

pub struct SigningKey {
    /// `kid` = `x5t` = base64url(SHA-1(certificate DER)), as Entra.
    pub kid: String,
    pub cert_der: Vec<u8>,
    key_pair: RsaKeyPair,
    rng: SystemRandom,
    /// Public JWK without `issuer` (added per tenant when the JWKS is rendered).
    pub jwk: Jwk,
    /// Pre-encoded protected headers: v2 tokens carry `kid`; v1 tokens `x5t` and `kid`.
    header_v2: String,
    header_v1: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new key pair and its self-signed certificate. Returns the key and its PKCS#8 DER (for
    /// sealing into the store).
    pub fn generate(now: UnixTime) -> Result<(SigningKey, Vec<u8>), KeyError> {
        let key_pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key_pair)
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        let cert_der = self_signed_certificate(&pkcs8, "tokengate token signing", now)?;
        let key = SigningKey::from_parts(&pkcs8, &cert_der)?;
        Ok((key, pkcs8))
    }

    pub fn from_parts(pkcs8: &[u8], cert_der: &[u8]) -> Result<SigningKey, KeyError> {
        let key_pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError::Rejected(e.to_string()))?;
        let jwk = public_jwk(cert_der)?;
        let kid = jwk.kid.clone();
        let header_v2 = b64url(format!(r#"{{"typ":"JWT","alg":"RS256","kid":"{kid}"}}"#));
        let header_v1 = b64url(format!(r#"{{"typ":"JWT","alg":"RS256","x5t":"{kid}","kid":"{kid}"}}"#));
        Ok(SigningKey {
            kid,
            cert_der: cert_der.to_vec(),
            key_pair,
            rng: SystemRandom::new(),
            jwk,
            header_v2,
            header_v1,
        })
    }

    /// Signs `claims` as a compact JWS (RS256). `v1_header` adds `x5t` as Entra's v1 tokens do.
    pub fn sign_jwt<C: Serialize>(&self, claims: &C, v1_header: bool) -> Result<String, KeyError> {
        let payload = serde_json::to_vec(claims).map_err(|e| KeyError::Serialize(e.to_string()))?;
        let header = if v1_header { &self.header_v1 } else { &self.header_v2 };
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
        token.push_str(header);
        token.push('.');
        base64::Engine::encode_string(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &payload, &mut token);
        let mut signature = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, token.as_bytes(), &mut signature)
            .map_err(|_| KeyError::Sign)?;
        token.push('.');
        base64::Engine::encode_string(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &signature, &mut token);
        Ok(token)
    }
}

/// The public JWK (without `issuer`) of a signing key's certificate: all a node that only
/// verifies needs (gateway-only nodes never hold private keys).
pub fn public_jwk(cert_der: &[u8]) -> Result<Jwk, KeyError> {
    let (n, e) = rsa_public_components(cert_der)?;
    let kid = b64url(sha1(cert_der));
    Ok(Jwk {
        kty: "RSA".into(),
        use_: "sig".into(),
        kid: kid.clone(),
        x5t: kid,
        n: b64url(&n),
        e: b64url(&e),
        x5c: vec![b64(cert_der)],
        issuer: None,
    })
}

/// Self-signed certificate for `pkcs8`, valid from a day before `now` for five years.
pub fn self_signed_certificate(pkcs8: &[u8], common_name: &str, now: UnixTime) -> Result<Vec<u8>, KeyError> {
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&rustls_pki_types_pkcs8(pkcs8), &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| KeyError::Certificate(e.to_string()))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.not_before = unix_to_offset(now - 86_400)?;
    params.not_after = unix_to_offset(now + 5 * 365 * 86_400)?;
    let cert = params.self_signed(&key).map_err(|e| KeyError::Certificate(e.to_string()))?;
    Ok(cert.der().to_vec())
}

fn rustls_pki_types_pkcs8(pkcs8: &[u8]) -> rustls_pki_types::PrivatePkcs8KeyDer<'static> {
    rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8.to_vec())
}

pub(crate) fn unix_to_offset(t: UnixTime) -> Result<time::OffsetDateTime, KeyError> {
    time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| KeyError::Certificate(e.to_string()))
}

/// RSA modulus and exponent (big-endian, no leading zeros) of a certificate's public key.
pub fn rsa_public_components(cert_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| KeyError::Certificate(e.to_string()))?;
    match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
            Ok((strip_leading_zeros(rsa.modulus).to_vec(), strip_leading_zeros(rsa.exponent).to_vec()))
        }
        _ => Err(KeyError::Certificate("not an RSA public key".into())),
    }
}

/// PKCS#1 `RSAPublicKey` DER of a certificate (what aws-lc-rs verifies with).
pub fn rsa_public_key_der(cert_der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der).map_err(|e| KeyError::Certificate(e.to_string()))?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    #[test]
    fn signs_verifiable_jwt_with_entra_kid() {
        let (key, pkcs8) = SigningKey::generate(1_700_000_000).unwrap();
        assert_eq!(key.kid, b64url(sha1(&key.cert_der)));
        assert_eq!(key.jwk.e, "AQAB");
        let token = key.sign_jwt(&serde_json::json!({"a": 1}), false).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&crate::encoding::b64url_decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["kid"], key.kid.as_str());
        assert_eq!(header["alg"], "RS256");
        let sig = crate::encoding::b64url_decode(parts[2]).unwrap();
        let public = rsa_public_key_der(&key.cert_der).unwrap();
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &public)
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
        // Reloading from the stored parts yields the same key.
        let again = SigningKey::from_parts(&pkcs8, &key.cert_der).unwrap();
        assert_eq!(again.jwk, key.jwk);
    }
}
