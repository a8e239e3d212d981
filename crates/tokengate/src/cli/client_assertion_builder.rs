//! Builds the `private_key_jwt` client assertion (RFC 7523 §2.2) a confidential client sends in
//! place of a secret: RS256, signed with the key of a PEM holding key + certificate, naming the
//! certificate by `x5t#S256` (what Entra documents) and SHA-1 `x5t` (what older Entra and
//! azure-identity use). Never prints or keeps the key.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use tokengate_core::encoding::{b64url, sha1, sha256};

use super::CliError;

/// How long an assertion is good for: long enough for one request, short if intercepted.
const ASSERTION_LIFETIME_SECONDS: i64 = 600;

/// A client certificate's private key and its (leaf) certificate.
pub struct ClientCertificate {
    key: RsaKeyPair,
    cert_der: Vec<u8>,
}

impl ClientCertificate {
    /// Reads a PEM holding an RSA private key (PKCS#8 or PKCS#1) and a certificate; the first
    /// certificate is the one registered on the app.
    pub fn from_pem_file(path: &Path) -> Result<ClientCertificate, CliError> {
        let bytes = std::fs::read(path).map_err(|source| CliError::File { path: path.to_owned(), source })?;
        Self::from_pem(&bytes).map_err(|why| CliError::Argument(format!("--certificate {}: {why}", path.display())))
    }

    pub fn from_pem(bytes: &[u8]) -> Result<ClientCertificate, String> {
        let mut key = None;
        let mut cert_der = None;
        for item in rustls_pemfile::read_all(&mut &bytes[..]) {
            match item.map_err(|e| format!("not PEM: {e}"))? {
                rustls_pemfile::Item::Pkcs8Key(k) if key.is_none() => {
                    key = Some(RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()).map_err(|e| format!("private key: {e}"))?);
                }
                rustls_pemfile::Item::Pkcs1Key(k) if key.is_none() => {
                    key = Some(RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(|e| format!("private key: {e}"))?);
                }
                rustls_pemfile::Item::X509Certificate(c) if cert_der.is_none() => cert_der = Some(c.to_vec()),
                _ => {}
            }
        }
        match (key, cert_der) {
            (Some(key), Some(cert_der)) => Ok(ClientCertificate { key, cert_der }),
            (None, _) => Err("holds no RSA PRIVATE KEY (PKCS#8 or PKCS#1)".into()),
            (_, None) => Err("holds no CERTIFICATE (the key and its certificate go in one PEM)".into()),
        }
    }

    /// A signed assertion for `client_id`, addressed to `token_endpoint`, valid from `now`.
    pub fn assertion(&self, client_id: &str, token_endpoint: &str, now: i64) -> Result<String, CliError> {
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t#S256": b64url(sha256(&self.cert_der)),
            "x5t": b64url(sha1(&self.cert_der)),
        });
        let claims = serde_json::json!({
            "aud": token_endpoint,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        });
        let input = format!("{}.{}", b64url(header.to_string()), b64url(claims.to_string()));
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut signature)
            .map_err(|_| CliError::Argument("--certificate: signing the client assertion failed".into()))?;
        Ok(format!("{input}.{}", b64url(signature)))
    }
}

#[cfg(test)]
mod tests {
    use tokengate_core::client_auth::client_assertion::{verify_client_assertion, AssertionContext};
    use tokengate_core::directory::ClientCertificate as Registered;
    use tokengate_core::encoding::{b64url_decode, pem};

    use super::*;

    fn generated() -> (String, Vec<u8>) {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 =
            aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap().as_ref().to_vec();
        let der = tokengate_core::keys::signing_key::self_signed_certificate(&pkcs8, "test client", 1_000).unwrap();
        (format!("{}{}", pem("PRIVATE KEY", &pkcs8), pem("CERTIFICATE", &der)), der)
    }

    fn registered(der: &[u8]) -> Registered {
        Registered {
            key_id: uuid::Uuid::new_v4(),
            app_id: uuid::Uuid::new_v4(),
            display_name: "test".into(),
            der: der.to_vec(),
            thumbprint_sha1: sha1(der).to_vec(),
            thumbprint_sha256: sha256(der).to_vec(),
            created_at: 1_000,
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn the_assertion_is_rs256_names_the_certificate_and_verifies_as_the_issuer_checks_it() {
        let (pem_text, der) = generated();
        let cert = ClientCertificate::from_pem(pem_text.as_bytes()).unwrap();
        let endpoint = "https://login.example/t/oauth2/v2.0/token";
        let now = 2_000_000_000;
        let assertion = cert.assertion("client-1", endpoint, now).unwrap();

        let parts: Vec<&str> = assertion.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["x5t#S256"], b64url(sha256(&der)));
        assert_eq!(header["x5t"], b64url(sha1(&der)));
        assert_eq!((claims["iss"].as_str(), claims["sub"].as_str()), (Some("client-1"), Some("client-1")));
        assert_eq!(claims["aud"], endpoint);
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), ASSERTION_LIFETIME_SECONDS);

        let ctx = AssertionContext { client_id: "client-1", accepted_audiences: &[endpoint.into()], now, skew: 60 };
        let verified = verify_client_assertion(&assertion, &[registered(&der)], &ctx).unwrap();
        assert_eq!(verified.jti, claims["jti"].as_str().unwrap());
        // Every assertion is new: a fresh jti each time.
        assert_ne!(cert.assertion("client-1", endpoint, now).unwrap(), assertion);
        // Another certificate's registration does not verify it.
        let (_, other) = generated();
        assert!(verify_client_assertion(&assertion, &[registered(&other)], &ctx).is_err());
    }

    #[test]
    fn a_pem_without_key_or_certificate_says_which_is_missing() {
        let (pem_text, der) = generated();
        let cert_only = pem("CERTIFICATE", &der);
        assert!(ClientCertificate::from_pem(cert_only.as_bytes()).err().unwrap().contains("PRIVATE KEY"));
        let key_only = pem_text.split("-----BEGIN CERTIFICATE").next().unwrap();
        assert!(ClientCertificate::from_pem(key_only.as_bytes()).err().unwrap().contains("CERTIFICATE"));
    }
}
