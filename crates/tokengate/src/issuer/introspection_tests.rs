//! RFC 7662 introspection in process, one SECURITY.md row each: no caller authentication is 401;
//! expired, revoked, unknown, garbage and other clients' tokens are exactly `{"active":false}`;
//! a live token is described only to its client or its audience.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use serde_json::json;
use tokengate_core::directory::{AllowedMemberType, SignInAudience};
use tokengate_core::directory_admin as admin;
use tokengate_core::errors::codes;
use tokengate_core::revocations::RevocationTarget;

use super::token_fixtures::{claims_of, refresh_token_of, uti_of, Fixture};
use crate::state::now;
use crate::test_support::BASE_URL;

#[tokio::test]
async fn introspection_without_caller_authentication_is_401() {
    let f = Fixture::new().await;
    let token = f.dir.app_token().await;
    let cases = [
        ("nothing", String::new()),
        ("client id without its secret", format!("client_id={}", f.dir.client.app_id)),
        ("a public client naming itself", f.public_auth()),
        ("wrong secret", format!("client_id={}&client_secret=nope", f.dir.client.app_id)),
    ];
    for (name, auth) in cases {
        let answer = f.present("introspect", &auth, &token).await;
        assert_eq!(answer.status, 401, "{name}: {}", answer.body);
        assert_eq!(answer.json()["error"], "invalid_client", "{name}");
        assert!(answer.json().get("active").is_none(), "{name}: nothing about the token");
    }
}

#[tokio::test]
async fn dead_unknown_or_foreign_tokens_are_active_false_and_nothing_else() {
    let f = Fixture::new().await;
    let user = f.user_tokens().await;
    let revoked = f.dir.app_token().await;
    f.apply(RevocationTarget::Token { token_id: uti_of(&revoked) });
    let live = f.dir.app_token().await;
    let mut bad_signature = live.clone();
    bad_signature.replace_range(bad_signature.len() - 4.., "AAAA");
    let cases = [
        // Expired an hour ago: beyond any skew.
        ("expired", f.app_token_at(now() - 4200, 600).await),
        // Expired a minute ago: verification tolerates the skew; introspection does not.
        ("expired within the skew", f.app_token_at(now() - 660, 600).await),
        ("revoked", revoked),
        ("unknown refresh token", "1.AbCdEf-unknown".to_owned()),
        ("garbage", "garbage".to_owned()),
        ("bad signature", bad_signature),
        // The public client's token for the API: the confidential client is neither.
        ("another client's token", user.tokens.access_token.clone()),
        ("another client's refresh token", refresh_token_of(&user)),
        ("an ID token", user.tokens.id_token.clone().unwrap()),
    ];
    for (name, token) in cases {
        let answer = f.present("introspect", &f.client_auth(), &token).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, r#"{"active":false}"#), "{name}");
        assert_eq!(answer.headers["content-type"], "application/json", "{name}");
        assert!(answer.headers["cache-control"].to_str().unwrap().contains("no-store"), "{name}");
    }
    // The same live token is active to its client: the answers above were about the tokens.
    assert_eq!(f.introspect(&f.client_auth(), &live).await["active"], true);
}

#[tokio::test]
async fn an_app_token_is_described_to_its_client() {
    let f = Fixture::new().await;
    let token = f.dir.app_token().await;
    let claims = claims_of(&token);
    let answer = f.introspect(&f.client_auth(), &token).await;
    let expected = json!({
        "active": true,
        "scope": "Orders.Read.All",
        "client_id": f.dir.client.app_id.to_string(),
        "token_type": "Bearer",
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "sub": claims["sub"],
        "aud": f.dir.api.app_id.to_string(),
        "iss": format!("{BASE_URL}/{}/v2.0", f.dir.tenant.id),
        "jti": claims["uti"],
        "oid": claims["oid"],
        "tid": f.dir.tenant.id.to_string(),
    });
    assert_eq!(answer, expected);
    assert!(claims["exp"].as_i64().unwrap() > now() && claims["iat"].as_i64().unwrap() <= now());
}

#[tokio::test]
async fn a_user_token_is_described_to_its_audience_but_not_to_a_bystander() {
    let f = Fixture::new().await;
    let user = f.user_tokens().await;
    let token = &user.tokens.access_token;
    let answer = f.introspect(&f.api_auth(), token).await;
    assert_eq!(answer["active"], true, "the API is the token's audience: {answer}");
    assert_eq!(answer["scope"], "Orders.Read");
    assert_eq!(answer["client_id"], f.dir.public_client.app_id.to_string());
    assert_eq!(answer["username"], "ada@contoso.test");
    assert_eq!(answer["oid"], f.dir.user.object_id.to_string());
    assert_eq!(answer["jti"], user.tokens.claims.uti);
    assert_eq!(answer["sub"], user.tokens.claims.sub);
    assert_eq!(f.introspect(&f.client_auth(), token).await, json!({"active": false}));
}

#[tokio::test]
async fn a_v1_token_names_its_audience_by_app_id_uri() {
    let f = Fixture::new().await;
    let s = f.dir.store.as_ref();
    let t = now();
    let legacy = admin::NewApp {
        display_name: "Legacy API".into(),
        identifier_uris: vec!["api://legacy".into()],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: None,
        is_public_client: false,
        redirect_uris: vec![],
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (legacy, _) = admin::create_app(s, f.dir.tenant.id, legacy, t).await.unwrap();
    let legacy_secret = admin::create_secret(s, legacy.app_id, "introspection", 30, t).await.unwrap().value;
    admin::add_app_role(s, legacy.app_id, "Legacy.Read", "Read", vec![AllowedMemberType::Application], t)
        .await
        .unwrap();
    admin::grant_app_role(s, f.dir.tenant.id, f.dir.client.app_id, legacy.app_id, "Legacy.Read", t).await.unwrap();

    let v1_token = format!("/{}/oauth2/token", f.dir.tenant.id);
    let issued =
        f.post(&v1_token, format!("grant_type=client_credentials&{}&resource=api://legacy", f.client_auth())).await;
    let token = issued.json()["access_token"].as_str().expect(&issued.body).to_owned();
    assert_eq!(claims_of(&token)["aud"], "api://legacy");

    let v1_introspect = format!("/{}/oauth2/introspect", f.dir.tenant.id);
    let auth = format!("client_id={}&client_secret={legacy_secret}", legacy.app_id);
    let answer = f.post(&v1_introspect, format!("{auth}&token={token}")).await.json();
    assert_eq!((answer["active"].as_bool(), answer["aud"].as_str()), (Some(true), Some("api://legacy")), "{answer}");
    assert_eq!(answer["scope"], "Legacy.Read", "an app token's roles stand in for scope");
    assert_eq!(f.introspect(&f.api_auth(), &token).await, json!({"active": false}), "another API learns nothing");
}

#[tokio::test]
async fn a_refresh_token_is_described_to_its_client_while_it_can_be_redeemed() {
    let f = Fixture::new().await;
    let user = f.confidential_user_tokens().await;
    let refresh = refresh_token_of(&user);
    let hinted = format!("{}&token_type_hint=refresh_token", f.client_auth());
    for auth in [f.client_auth(), hinted] {
        let answer = f.introspect(&auth, &refresh).await;
        assert_eq!(answer["active"], true, "{answer}");
        assert_eq!(answer["token_type"], "refresh_token");
        assert_eq!(answer["client_id"], f.dir.client.app_id.to_string());
        assert_eq!(answer["oid"], f.dir.user.object_id.to_string());
        assert_eq!(answer["username"], "ada@contoso.test");
        assert!(answer["scope"].as_str().unwrap().contains("Orders.Read"), "{answer}");
        assert!(answer["exp"].as_i64().unwrap() > now() + 80 * 86_400, "{answer}");
        assert!(answer.get("aud").is_none() && answer.get("jti").is_none(), "{answer}");
    }
    // The API is no audience of a refresh token.
    assert_eq!(f.introspect(&f.api_auth(), &refresh).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_requests_are_checked_like_token_requests() {
    let f = Fixture::new().await;
    let path = f.path("introspect");
    let token = f.dir.app_token().await;
    let auth = f.client_auth();
    let cases = [
        ("no token", auth.clone(), codes::MISSING_PARAMETER),
        ("duplicate token", format!("{auth}&token={token}&token={token}"), codes::DUPLICATE_PARAMETER),
        ("oversized body", format!("{auth}&token={}", "a".repeat(70 * 1024)), codes::MALFORMED_REQUEST),
    ];
    for (name, body, code) in cases {
        let answer = f.post(&path, body).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, json["error"].as_str(), json["error_codes"][0].as_u64()),
            (400, Some("invalid_request"), Some(u64::from(code))),
            "{name}"
        );
    }
    let common = f.post("/common/oauth2/v2.0/introspect", format!("{auth}&token={token}")).await;
    assert_eq!(common.status, 400, "a tenant-specific endpoint only: {}", common.body);
}
