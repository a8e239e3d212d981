use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256};
use serde_json::{json, Value};
use tokengate_core::encoding::{b64, b64url, sha1, sha256};

use crate::harness::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct Signer {
    key: RsaKeyPair,
    cert: Vec<u8>,
}

impl Signer {
    fn from_dev(s: &DevServer) -> Signer {
        let (key, cert) = read_pem_parts(std::path::Path::new(&s.s("/confidential_client/certificate_pem")));
        Signer { key: RsaKeyPair::from_pkcs8(&key).unwrap(), cert }
    }

    fn sign(&self, header: Value, claims: Value) -> String {
        let input = format!("{}.{}", b64url(header.to_string()), b64url(claims.to_string()));
        let alg = if header["alg"] == "PS256" { &RSA_PSS_SHA256 } else { &RSA_PKCS1_SHA256 };
        let mut sig = vec![0; self.key.public_modulus_len()];
        self.key.sign(alg, &SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
        format!("{input}.{}", b64url(sig))
    }
}

fn claims(s: &DevServer) -> Value {
    let id = s.s("/confidential_client/client_id");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    json!({"aud": s.token_url(), "iss": id, "sub": id, "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600})
}

async fn redeem(s: &DevServer, assertion: &str) -> (u16, Value) {
    s.post_form(
        &s.token_url(),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &s.s("/confidential_client/client_id")),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
            ("scope", &s.api_scope()),
        ],
    )
    .await
}

#[tokio::test]
async fn every_client_assertion_variant_real_clients_send() {
    let s = DevServer::start().await;
    let signer = Signer::from_dev(&s);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();

    // MSAL Python: PS256, x5t#S256 base64url WITH padding, float times.
    let mut c = claims(&s);
    c["exp"] = json!(now as f64 + 600.25);
    c["iat"] = json!(now as f64 + 0.5);
    let padded = format!("{}=", b64url(sha256(&signer.cert)));
    let (status, body) = redeem(&s, &signer.sign(json!({"alg": "PS256", "typ": "JWT", "x5t#S256": padded}), c)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["azpacr"], "2");

    // azure-identity: RS256 with SHA-1 x5t, no nbf.
    let mut c = claims(&s);
    c.as_object_mut().unwrap().remove("nbf");
    let (status, body) =
        redeem(&s, &signer.sign(json!({"alg": "RS256", "typ": "JWT", "x5t": b64url(sha1(&signer.cert))}), c)).await;
    assert_eq!(status, 200, "{body}");

    // send_certificate_chain: x5c as a PEM body with embedded newlines; aud = issuer.
    let body64 = b64(&signer.cert);
    let wrapped: String = body64.as_bytes().chunks(64).map(|l| format!("{}\n", String::from_utf8_lossy(l))).collect();
    let mut c = claims(&s);
    c["aud"] = json!(s.s("/issuer"));
    let (status, body) =
        redeem(&s, &signer.sign(json!({"alg": "RS256", "x5t": b64url(sha1(&signer.cert)), "x5c": [wrapped]}), c)).await;
    assert_eq!(status, 200, "{body}");

    // Token endpoint named by the tenant's domain (msal-node style unpadded, integer times).
    let mut c = claims(&s);
    c["aud"] = json!(format!("{}/{}/oauth2/v2.0/token", s.base_url(), s.s("/tenant_domain")));
    let (status, body) =
        redeem(&s, &signer.sign(json!({"alg": "RS256", "x5t#S256": b64url(sha256(&signer.cert))}), c)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_client_assertions_are_invalid_client() {
    let s = DevServer::start().await;
    let signer = Signer::from_dev(&s);
    let header = json!({"alg": "RS256", "x5t": b64url(sha1(&signer.cert))});
    let expect = |status: u16, body: &Value, code: u64, what: &str| {
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}");
        assert_eq!(aadsts(body), code, "{what}: {body}");
    };

    // MSAL resends one signed assertion for minutes: the identical assertion is accepted again,
    // as Entra does; a different assertion reusing its jti is a replay.
    let c = claims(&s);
    let assertion = signer.sign(header.clone(), c.clone());
    assert_eq!(redeem(&s, &assertion).await.0, 200);
    assert_eq!(redeem(&s, &assertion).await.0, 200, "identical assertion resent (MSAL behaviour)");
    let mut forged = c.clone();
    forged["exp"] = json!(c["exp"].as_i64().unwrap() - 1);
    let (st, b) = redeem(&s, &signer.sign(header.clone(), forged)).await;
    expect(st, &b, 50013, "same jti, different assertion");

    let mut c = claims(&s);
    c["aud"] = json!("https://evil.example/token");
    let (st, b) = redeem(&s, &signer.sign(header.clone(), c)).await;
    expect(st, &b, 50013, "wrong aud");
    let mut c = claims(&s);
    c["aud"] = json!([s.token_url()]);
    let (st, b) = redeem(&s, &signer.sign(header.clone(), c)).await;
    expect(st, &b, 50027, "array aud");
    let mut c = claims(&s);
    c["sub"] = json!("someone-else");
    let (st, b) = redeem(&s, &signer.sign(header.clone(), c)).await;
    expect(st, &b, 50048, "sub != iss");
    let mut c = claims(&s);
    c.as_object_mut().unwrap().remove("exp");
    let (st, b) = redeem(&s, &signer.sign(header.clone(), c)).await;
    expect(st, &b, 700024, "missing exp");
    let mut c = claims(&s);
    c["exp"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() + 30 * 86_400);
    let (st, b) = redeem(&s, &signer.sign(header.clone(), c)).await;
    expect(st, &b, 50013, "far exp");

    // alg none and HS256 keyed with anything: refused.
    let none = format!("{}.{}.", b64url(json!({"alg": "none"}).to_string()), b64url(claims(&s).to_string()));
    let (st, b) = redeem(&s, &none).await;
    expect(st, &b, 50027, "alg none");
    let hs = format!(
        "{}.{}.{}",
        b64url(json!({"alg": "HS256", "x5t": b64url(sha1(&signer.cert))}).to_string()),
        b64url(claims(&s).to_string()),
        b64url("mac")
    );
    let (st, b) = redeem(&s, &hs).await;
    expect(st, &b, 700027, "HS256");

    // A key that is not registered on the app.
    let other = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let stranger = Signer { key: other, cert: signer.cert.clone() };
    let (st, b) = redeem(&s, &stranger.sign(header.clone(), claims(&s))).await;
    expect(st, &b, 700027, "signed by an unregistered key");

    // An app that opts into single-use assertions refuses even the identical resend.
    let tid = s.s("/tenant_id");
    let out = s.cli(&["app", "create", "--tenant", &tid, "--name", "Strict daemon", "--single-use-assertions"]);
    let strict = out.split_whitespace().nth(1).unwrap().to_owned();
    s.cli(&["cert", "add", &strict, "--pem", &s.s("/confidential_client/certificate_pem")]);
    let mut c = claims(&s);
    c["iss"] = json!(strict);
    c["sub"] = json!(strict);
    let once = signer.sign(header.clone(), c);
    let form = |a: &str| {
        vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), strict.clone()),
            ("client_assertion_type".to_owned(), JWT_BEARER.to_owned()),
            ("client_assertion".to_owned(), a.to_owned()),
            ("scope".to_owned(), s.api_scope()),
        ]
    };
    let r = s.http.post(s.token_url()).form(&form(&once)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = s.http.post(s.token_url()).form(&form(&once)).send().await.unwrap();
    assert_eq!(r.status(), 401, "single-use assertion resent");
    assert_eq!(aadsts(&r.json().await.unwrap()), 50013);

    // Wrong assertion type.
    let (st, b) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/confidential_client/client_id")),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
                ("client_assertion", &signer.sign(header.clone(), claims(&s))),
                ("scope", &s.api_scope()),
            ],
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (401, Some("invalid_client")));

    // Secret and assertion together.
    let (st, b) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/confidential_client/client_id")),
                ("client_secret", &s.s("/confidential_client/client_secret")),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &signer.sign(header.clone(), claims(&s))),
                ("scope", &s.api_scope()),
            ],
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (400, Some("invalid_request")));
}
