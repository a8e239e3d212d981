use super::*;
use crate::encoding::{b64, b64url, sha1, sha256};
use crate::keys::signing_key::self_signed_certificate;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use serde_json::json;

const NOW: i64 = 1_800_000_000;
const CLIENT: &str = "11111111-1111-1111-1111-111111111111";
const AUD: &str = "https://127.0.0.1:8443/t/oauth2/v2.0/token";

struct Fixture {
    key: RsaKeyPair,
    cert: ClientCertificate,
}

fn fixture() -> Fixture {
    let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).unwrap().as_ref().to_vec();
    let der = self_signed_certificate(&pkcs8, "client", NOW).unwrap();
    let cert = ClientCertificate {
        key_id: Uuid::new_v4(),
        app_id: Uuid::nil(),
        display_name: "c".into(),
        thumbprint_sha1: sha1(&der).to_vec(),
        thumbprint_sha256: sha256(&der).to_vec(),
        der,
        created_at: NOW,
        expires_at: NOW + 1000,
    };
    Fixture { key, cert }
}

fn sign(f: &Fixture, header: serde_json::Value, claims: serde_json::Value) -> String {
    let input = format!("{}.{}", b64url(header.to_string()), b64url(claims.to_string()));
    let alg = if header["alg"] == "PS256" { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
    let mut sig = vec![0; f.key.public_modulus_len()];
    f.key.sign(alg, &SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
    format!("{input}.{}", b64url(sig))
}

fn claims() -> serde_json::Value {
    json!({"aud": AUD, "iss": CLIENT, "sub": CLIENT, "jti": "j1", "exp": NOW + 600, "iat": NOW})
}

fn verify(f: &Fixture, token: &str) -> Result<VerifiedAssertion, OAuthError> {
    let audiences = vec![AUD.to_string()];
    let ctx = AssertionContext { client_id: CLIENT, accepted_audiences: &audiences, now: NOW, skew: 300 };
    verify_client_assertion(token, std::slice::from_ref(&f.cert), &ctx)
}

#[test]
fn msal_python_ps256_padded_x5t_s256() {
    let f = fixture();
    let x5t = format!("{}=", b64url(&f.cert.thumbprint_sha256));
    let mut c = claims();
    c["exp"] = json!((NOW + 600) as f64 + 0.5);
    c["iat"] = json!(NOW as f64 + 0.25);
    let t = sign(&f, json!({"alg": "PS256", "typ": "JWT", "x5t#S256": x5t}), c);
    let v = verify(&f, &t).unwrap();
    assert_eq!(v.jti, "j1");
    assert_eq!(v.expires_at, NOW + 600);
}

#[test]
fn azure_identity_rs256_sha1_x5t_and_x5c_chain() {
    let f = fixture();
    let t = sign(&f, json!({"alg": "RS256", "x5t": b64url(&f.cert.thumbprint_sha1)}), claims());
    assert!(verify(&f, &t).is_ok());
    // x5c with PEM-style embedded newlines, no thumbprint.
    let body = b64(&f.cert.der);
    let wrapped: String = body.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned() + "\n").collect();
    let t = sign(&f, json!({"alg": "RS256", "x5c": [wrapped]}), claims());
    assert!(verify(&f, &t).is_ok());
}

#[test]
fn rejections() {
    let f = fixture();
    let h = json!({"alg": "RS256", "x5t": b64url(&f.cert.thumbprint_sha1)});
    let code = |t: &str| verify(&f, t).unwrap_err().code;

    let mut c = claims();
    c["sub"] = json!("other");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_SUB_NOT_ISS);
    let mut c = claims();
    c["iss"] = json!("x");
    c["sub"] = json!("x");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_CLIENT_MISMATCH);
    let mut c = claims();
    c["aud"] = json!([AUD]);
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_MALFORMED, "array aud refused");
    let mut c = claims();
    c["aud"] = json!("https://evil.example/token");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_INVALID);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_EXPIRED);
    let mut c = claims();
    c["exp"] = json!(NOW - 301);
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_EXPIRED);
    let mut c = claims();
    c["exp"] = json!(NOW + 86_400);
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_INVALID, "far exp refused");
    let mut c = claims();
    c["exp"] = json!("soon");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_MALFORMED);
    let mut c = claims();
    c["nbf"] = json!(NOW + 301);
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_EXPIRED);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("jti");
    assert_eq!(code(&sign(&f, h.clone(), c)), codes::ASSERTION_INVALID);

    // alg none / HS256: refused before any key is looked at.
    let none = format!("{}.{}.", b64url(json!({"alg":"none"}).to_string()), b64url(claims().to_string()));
    assert_eq!(code(&none), codes::ASSERTION_MALFORMED);
    let hs = format!(
        "{}.{}.{}",
        b64url(json!({"alg":"HS256","x5t":b64url(&f.cert.thumbprint_sha1)}).to_string()),
        b64url(claims().to_string()),
        b64url("mac")
    );
    assert_eq!(code(&hs), codes::ASSERTION_SIGNATURE_INVALID);

    // A key that is not registered, even with a valid self-consistent signature.
    let other = fixture();
    let t = sign(&other, json!({"alg": "RS256", "x5t": b64url(&other.cert.thumbprint_sha1)}), claims());
    assert_eq!(code(&t), codes::ASSERTION_SIGNATURE_INVALID);
    // Registered thumbprint, but signed by another key.
    let t = sign(&other, h.clone(), claims());
    assert_eq!(code(&t), codes::ASSERTION_SIGNATURE_INVALID);
}
