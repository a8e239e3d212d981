//! Every gateway row of SECURITY.md that is decided by token verification.

use std::collections::HashSet;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use super::*;
use crate::access::claim_interner::ClaimInterner;
use crate::access::trusted_issuer::{IssuerMaterial, IssuerPattern, TrustedIssuer};
use crate::access::verifying_keys::parse_jwks;
use crate::encoding::b64url;
use crate::keys::SigningKey;

const NOW: i64 = 1_800_000_000;
const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TID: &str = "00000000-0000-0000-0000-00000000beef";
const BASE: &str = "https://login.example";

struct Fixture {
    key: SigningKey,
    issuers: TrustedIssuers,
}

fn fixture_with(tenants: Option<HashSet<String>>, key_issuer: Option<&str>) -> Fixture {
    let (key, _) = SigningKey::generate(NOW).unwrap();
    let issuer = TrustedIssuer::new("entra", IssuerKind::Entra, tenants, vec![JwsAlgorithm::Rs256]);
    let mut jwk = serde_json::to_value(&key.jwk).unwrap();
    if let Some(i) = key_issuer {
        jwk["issuer"] = json!(i);
    }
    issuer.replace_material(IssuerMaterial {
        patterns: vec![
            IssuerPattern { template: format!("{BASE}/{{tenantid}}/v2.0"), version: Some("2.0") },
            IssuerPattern { template: format!("{BASE}/{{tenantid}}/"), version: Some("1.0") },
        ],
        keys: parse_jwks(json!({"keys": [jwk]}).to_string().as_bytes(), &[JwsAlgorithm::Rs256]).unwrap(),
    });
    Fixture { key, issuers: TrustedIssuers { issuers: vec![Arc::new(issuer)] } }
}

fn fixture() -> Fixture {
    fixture_with(None, Some(&format!("{BASE}/{{tenantid}}/v2.0")))
}

fn claims() -> Value {
    json!({"aud": "api://orders", "iss": format!("{BASE}/{TID}/v2.0"), "iat": NOW - 300, "nbf": NOW - 300, "exp": NOW + 3600,
           "azp": "client", "oid": "o", "sub": "o", "tid": TID, "uti": "u", "ver": "2.0", "roles": ["Orders.Read.All"]})
}

fn sign(f: &Fixture, claims: &Value) -> String {
    f.key.sign_jwt(claims, false).unwrap()
}

/// A token with an arbitrary header, signed RS256 by the fixture key.
fn sign_with_header(f: &Fixture, header: &Value, claims: &Value) -> String {
    let t = f.key.sign_jwt(claims, false).unwrap();
    let parts: Vec<&str> = t.split('.').collect();
    // Re-sign over the new header by minting through a raw key: simplest is to reuse the key's
    // own signing on a claims object and swap the header, which breaks the signature — so only
    // use this for headers that must fail before the signature is checked.
    format!("{}.{}.{}", b64url(header.to_string()), parts[1], parts[2])
}

fn check(f: &Fixture, token: &str, now: i64) -> Result<VerifiedToken, Rejection> {
    check_sharing(f, token, now, &ClaimInterner::new(64))
}

fn check_sharing(f: &Fixture, token: &str, now: i64, shared: &ClaimInterner) -> Result<VerifiedToken, Rejection> {
    let ctx = ValidationContext {
        issuers: &f.issuers,
        skew: 300,
        max_token_len: 16 * 1024,
        extra_claims: &["department".to_string()],
        now,
        interner: shared,
    };
    verify(token, &ctx).map_err(|e| match e {
        VerifyFailure::Rejected(r) => r,
        VerifyFailure::UnknownKey(_) => Rejection::UnknownKey,
    })
}

fn with(mut c: Value, key: &str, v: Value) -> Value {
    c[key] = v;
    c
}

fn without(mut c: Value, key: &str) -> Value {
    c.as_object_mut().unwrap().remove(key);
    c
}

#[test]
fn a_good_token_verifies_with_its_claims() {
    let f = fixture();
    let mut c = claims();
    c["department"] = json!("sales");
    c["xms_cc"] = json!(["cp1"]);
    let t = check(&f, &sign(&f, &c), NOW).unwrap();
    assert_eq!(&*t.issuer, "entra");
    assert_eq!(t.tid.as_deref(), Some(TID));
    assert_eq!(t.client_id.as_deref(), Some("client"));
    assert_eq!(&*t.roles[0], "Orders.Read.All");
    assert!(t.is_app_only());
    assert!(t.cae_capable);
    assert_eq!(t.extra_claim("department"), Some(&json!("sales")));
    assert_eq!(t.kid.as_ref(), f.key.kid.as_str());
}

#[test]
fn tokens_of_one_client_share_their_common_values_and_keep_their_own() {
    let f = fixture();
    let shared = ClaimInterner::new(64);
    let other_user = with(with(claims(), "oid", json!("o2")), "uti", json!("u2"));
    let a = check_sharing(&f, &sign(&f, &claims()), NOW, &shared).unwrap();
    let b = check_sharing(&f, &sign(&f, &other_user), NOW, &shared).unwrap();
    for (x, y) in [
        (&a.iss, &b.iss),
        (&a.aud[0], &b.aud[0]),
        (&a.roles[0], &b.roles[0]),
        (&a.kid, &b.kid),
        (a.tid.as_ref().unwrap(), b.tid.as_ref().unwrap()),
        (a.client_id.as_ref().unwrap(), b.client_id.as_ref().unwrap()),
        (a.ver.as_ref().unwrap(), b.ver.as_ref().unwrap()),
    ] {
        assert!(Arc::ptr_eq(x, y), "{x} is held once");
    }
    assert_eq!((a.oid.as_deref(), b.oid.as_deref()), (Some("o"), Some("o2")));
    assert_eq!((a.uti.as_deref(), b.uti.as_deref()), (Some("u"), Some("u2")));
    assert_eq!(a.roles, b.roles, "shared values compare by content as before");
}

#[test]
fn algorithms_come_from_the_allow_list_and_keys_are_bound_to_their_type() {
    let f = fixture();
    let good = sign(&f, &claims());
    let parts: Vec<&str> = good.split('.').collect();
    // alg none, with and without a signature segment.
    let none = b64url(json!({"alg": "none", "kid": f.key.kid}).to_string());
    assert_eq!(check(&f, &format!("{none}.{}.", parts[1]), NOW), Err(Rejection::MalformedToken));
    assert_eq!(check(&f, &format!("{none}.{}.{}", parts[1], parts[2]), NOW), Err(Rejection::AlgorithmNotAllowed));
    // Missing signature.
    assert_eq!(check(&f, &format!("{}.{}.", parts[0], parts[1]), NOW), Err(Rejection::MalformedToken));
    // HS256/384/512 keyed with the RSA public key (the classic confusion): never considered.
    for alg in ["HS256", "HS384", "HS512"] {
        let header = b64url(json!({"alg": alg, "typ": "JWT", "kid": f.key.kid}).to_string());
        let input = format!("{header}.{}", parts[1]);
        let mac = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, f.key.jwk.n.as_bytes()),
            input.as_bytes(),
        );
        assert_eq!(
            check(&f, &format!("{input}.{}", b64url(mac.as_ref())), NOW),
            Err(Rejection::AlgorithmNotAllowed),
            "{alg}"
        );
    }
    // PS256 is not on an Entra issuer's list.
    let ps = sign_with_header(&f, &json!({"alg": "PS256", "kid": f.key.kid}), &claims());
    assert_eq!(check(&f, &ps, NOW), Err(Rejection::AlgorithmNotAllowed));
    // A tampered payload fails the signature.
    let tampered =
        format!("{}.{}.{}", parts[0], b64url(with(claims(), "roles", json!(["Admin"])).to_string()), parts[2]);
    assert_eq!(check(&f, &tampered, NOW), Err(Rejection::BadSignature));
}

#[test]
fn unknown_and_hostile_kids_are_exact_lookups() {
    let f = fixture();
    for kid in ["nope", "../../etc/passwd", "' OR 1=1 --", "a\u{0}b", &"k".repeat(10 * 1024)] {
        let t = sign_with_header(&f, &json!({"alg": "RS256", "kid": kid}), &claims());
        assert_eq!(check(&f, &t, NOW), Err(Rejection::UnknownKey), "{kid:.20}");
    }
    // Embedded keys and key URLs are never used: a token signed by an attacker's key that
    // carries that key in `jwk`/`x5c`/`jku`/`x5u` still needs a kid we know.
    let (attacker, _) = SigningKey::generate(NOW).unwrap();
    let header = json!({"alg": "RS256", "kid": attacker.kid, "jwk": attacker.jwk, "jku": "https://evil/keys", "x5u": "https://evil/cert", "x5c": attacker.jwk.x5c});
    assert_eq!(check(&f, &sign_with_header(&f, &header, &claims()), NOW), Err(Rejection::UnknownKey));
    // The attacker's key under our kid: signature fails.
    let forged = attacker.sign_jwt(&claims(), false).unwrap();
    let parts: Vec<&str> = forged.split('.').collect();
    let ours = b64url(json!({"typ": "JWT", "alg": "RS256", "kid": f.key.kid}).to_string());
    assert_eq!(check(&f, &format!("{ours}.{}.{}", parts[1], parts[2]), NOW), Err(Rejection::BadSignature));
}

#[test]
fn lifetimes_with_skew_plus_minus_one_second() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    assert_eq!(at(with(claims(), "exp", json!(NOW - 301))), Err(Rejection::Expired));
    assert!(at(with(claims(), "exp", json!(NOW - 299))).is_ok());
    assert_eq!(at(with(claims(), "nbf", json!(NOW + 301))), Err(Rejection::NotYetValid));
    assert!(at(with(claims(), "nbf", json!(NOW + 299))).is_ok());
    assert_eq!(at(with(claims(), "iat", json!(NOW + 301))), Err(Rejection::IssuedInFuture));
    assert!(at(with(claims(), "iat", json!(NOW + 299))).is_ok());
    // A bad claim is invalid, never "absent".
    assert_eq!(at(without(claims(), "exp")), Err(Rejection::BadClaim("exp")));
    assert_eq!(at(with(claims(), "exp", json!("tomorrow"))), Err(Rejection::BadClaim("exp")));
    assert_eq!(at(with(claims(), "exp", json!(1e300))), Err(Rejection::BadClaim("exp")));
    assert_eq!(at(with(claims(), "nbf", json!(null))), Err(Rejection::BadClaim("nbf")));
    assert_eq!(at(with(claims(), "roles", json!("Orders.Read.All"))), Err(Rejection::BadClaim("roles")));
    assert_eq!(at(with(claims(), "scp", json!(["a"]))), Err(Rejection::BadClaim("scp")));
    assert_eq!(at(with(claims(), "oid", json!(5))), Err(Rejection::BadClaim("oid")));
    assert_eq!(at(with(claims(), "aud", json!([]))), Err(Rejection::BadClaim("aud")));
    assert_eq!(at(with(claims(), "aud", json!(["a", 1]))), Err(Rejection::BadClaim("aud")));
    assert!(at(with(claims(), "exp", json!((NOW + 10) as f64 + 0.5))).is_ok(), "float exp within range");
}

#[test]
fn issuer_and_tenant() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    assert_eq!(at(with(claims(), "iss", json!("https://evil.example/{TID}/v2.0"))), Err(Rejection::UntrustedIssuer));
    assert_eq!(at(without(claims(), "iss")), Err(Rejection::UntrustedIssuer));
    // tid differs from the tenant in iss.
    assert_eq!(at(with(claims(), "tid", json!(OTHER_TID))), Err(Rejection::UntrustedIssuer));
    // Non-GUID tid, literal template.
    let c = with(with(claims(), "tid", json!("contoso.com")), "iss", json!(format!("{BASE}/contoso.com/v2.0")));
    assert_eq!(at(c), Err(Rejection::UntrustedIssuer));
    let c = with(with(claims(), "tid", json!("{tenantid}")), "iss", json!(format!("{BASE}/{{tenantid}}/v2.0")));
    assert_eq!(at(c), Err(Rejection::UntrustedIssuer));
    assert_eq!(at(without(claims(), "tid")), Err(Rejection::UntrustedIssuer));

    // Tenant allow-list on the issuer.
    let only_other = fixture_with(Some(HashSet::from([OTHER_TID.to_string()])), None);
    assert_eq!(check(&only_other, &sign(&only_other, &claims()), NOW), Err(Rejection::TenantNotAllowed));

    // The key's own `issuer` is honoured: a key published for one tenant cannot sign for another.
    let pinned = fixture_with(None, Some(&format!("{BASE}/{OTHER_TID}/v2.0")));
    assert_eq!(check(&pinned, &sign(&pinned, &claims()), NOW), Err(Rejection::UntrustedIssuer));
}

#[test]
fn versions_follow_the_metadata() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    // A v1 token (v1 issuer) claiming ver 2.0, and the reverse.
    let v1_iss = format!("{BASE}/{TID}/");
    assert_eq!(at(with(claims(), "iss", json!(v1_iss))), Err(Rejection::VersionMismatch));
    assert_eq!(at(with(claims(), "ver", json!("1.0"))), Err(Rejection::VersionMismatch));
    let v1 = with(with(claims(), "iss", json!(v1_iss)), "ver", json!("1.0"));
    let t = at(v1).unwrap();
    assert_eq!(t.ver.as_deref(), Some("1.0"), "v1 token signed by a key with v2 metadata is accepted");
}

#[test]
fn id_tokens_are_not_access_tokens() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    assert_eq!(at(with(claims(), "nonce", json!("n"))), Err(Rejection::IdToken));
    assert!(at(with(without(claims(), "roles"), "scp", json!("Orders.Read"))).is_ok());
    // Entra's ID token: aud = the client's own id, no azp/appid, no scp/roles, maybe a nonce.
    let id_token = with(without(without(claims(), "azp"), "roles"), "aud", json!("client"));
    assert_eq!(at(id_token.clone()), Err(Rejection::IdToken));
    assert_eq!(at(with(id_token, "nonce", json!("n"))), Err(Rejection::IdToken));
    // Neither azp nor appid, even with permissions: not an Entra access token.
    assert_eq!(at(without(claims(), "azp")), Err(Rejection::IdToken));
}

/// Entra issues app-only access tokens without `roles` when the client holds no app role of the
/// API; they are access tokens (told apart by azp/appid), not ID tokens.
#[test]
fn permission_less_access_tokens_are_access_tokens() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    let t = at(without(claims(), "roles")).expect("v2 app-only token without roles verifies");
    assert!(t.is_app_only() && !t.has_permissions());
    let v1 = with(with(without(without(claims(), "roles"), "azp"), "appid", json!("client")), "ver", json!("1.0"));
    let t = at(with(v1, "iss", json!(format!("{BASE}/{TID}/")))).expect("v1 app-only token without roles verifies");
    assert!(t.is_app_only());
    assert_eq!(t.client_id.as_deref(), Some("client"));
    // An app's access token for itself: aud = its own client id.
    let own = with(without(claims(), "roles"), "aud", json!("client"));
    assert!(at(own).is_ok());
    // idtyp=app is app-only; idtyp=user without scp is not.
    assert!(at(with(without(claims(), "roles"), "idtyp", json!("app"))).unwrap().is_app_only());
    assert!(!at(with(without(claims(), "roles"), "idtyp", json!("user"))).unwrap().is_app_only());
}

/// An empty `scp` is a delegated token carrying nothing, never an app-only token.
#[test]
fn an_empty_scp_is_never_app_only() {
    let f = fixture();
    let at = |c: Value| check(&f, &sign(&f, &c), NOW);
    let t = at(with(without(claims(), "roles"), "scp", json!(""))).unwrap();
    assert!(!t.is_app_only() && t.is_delegated() && !t.has_permissions());
    let t = at(with(claims(), "scp", json!(""))).unwrap();
    assert!(!t.is_app_only(), "roles do not make an empty-scp token app-only");
}

#[test]
fn malformed_input_is_invalid_and_never_panics() {
    let f = fixture();
    let good = sign(&f, &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let header = parts[0];
    let cases = vec![
        format!("{header}.{}", parts[1]),
        format!("{good}.extra"),
        format!("{header}.{}.{}.a.b", parts[1], parts[2]),
        format!("{header}=.{}.{}", parts[1], parts[2]),
        format!("{header}.{}!.{}", parts[1], parts[2]),
        format!("{}.{}.{}", b64url(r#"{"alg":"RS256","alg":"none"}"#), parts[1], parts[2]),
        format!("{header}.{}.{}", b64url(r#"{"iss":"a","iss":"b"}"#), parts[2]),
        format!(
            "{}.{}.{}",
            b64url(json!({"alg": "RS256", "kid": f.key.kid, "crit": ["exp"]}).to_string()),
            parts[1],
            parts[2]
        ),
        format!("{header}.{}.{}", b64url([0xff, 0xfe, 0xfd]), parts[2]),
        format!("{header}.{}.{}", b64url("[".repeat(10_000)), parts[2]),
        format!("{header}.{}.{}", b64url(r#"{"exp":1e999}"#), parts[2]),
        format!("{header}.{}.{}", b64url(good.as_bytes()), parts[2]),
        String::new(),
        ".".repeat(5),
    ];
    for (i, token) in cases.iter().enumerate() {
        assert!(check(&f, token, NOW).is_err(), "case {i} accepted");
    }
    let big = format!("{header}.{}.{}", "A".repeat(20 * 1024), parts[2]);
    assert_eq!(check(&f, &big, NOW), Err(Rejection::TokenTooLarge));
}

#[test]
fn es256_with_zero_signature_is_rejected() {
    // CVE-2022-21449 ("psychic signatures"): r = s = 0 must never verify.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = pair.public_key().as_ref().to_vec();
    let jwk =
        json!({"kty": "EC", "crv": "P-256", "kid": "ec1", "x": b64url(&point[1..33]), "y": b64url(&point[33..65])});
    let issuer = TrustedIssuer::new("oidc", IssuerKind::Oidc, None, vec![JwsAlgorithm::Es256]);
    issuer.replace_material(IssuerMaterial {
        patterns: vec![IssuerPattern { template: "https://idp.example".into(), version: None }],
        keys: parse_jwks(json!({"keys": [jwk]}).to_string().as_bytes(), &[JwsAlgorithm::Es256]).unwrap(),
    });
    let f = Fixture {
        key: SigningKey::generate(NOW).unwrap().0,
        issuers: TrustedIssuers { issuers: vec![Arc::new(issuer)] },
    };
    let c = json!({"iss": "https://idp.example", "aud": "a", "exp": NOW + 60, "scope": "read"});
    let input = format!("{}.{}", b64url(json!({"alg": "ES256", "kid": "ec1"}).to_string()), b64url(c.to_string()));
    for sig in [vec![0u8; 64], {
        let mut s = vec![0xffu8; 64];
        s[0] = 0xff;
        s
    }] {
        assert_eq!(check(&f, &format!("{input}.{}", b64url(&sig)), NOW), Err(Rejection::BadSignature));
    }
    let good = pair.sign(&rng, input.as_bytes()).unwrap();
    let t = check(&f, &format!("{input}.{}", b64url(good.as_ref())), NOW).unwrap();
    assert_eq!(&*t.scopes[0], "read", "generic OIDC `scope` claim");
}
