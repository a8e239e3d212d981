//! RFC 7009 revocation in process: unknown tokens are 200; another client's token is refused and
//! stays alive; a revoked access token or refresh family is dead on this node (its revocation set,
//! introspection, the refresh grant) as soon as the 200 arrives. Tests that write a revocation
//! need the store's revocation feed (branch `store-feed`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use serde_json::json;
use tokengate_core::access::revocation::RevokedBy;
use tokengate_core::client_auth::ClientAuthMethod;
use tokengate_core::directory::{RedirectPlatform, RedirectUri, SignInAudience};
use tokengate_core::directory_admin as admin;
use tokengate_core::errors::codes;

use super::token_fixtures::{refresh_token_of, urlencode, Answer, Fixture, REDIRECT};
use crate::state::now;
use crate::test_support::API_URI;

fn assert_revoked_nothing_ok(answer: &Answer, name: &str) {
    assert_eq!((answer.status, answer.body.as_str()), (200, ""), "{name}");
    assert!(answer.headers["cache-control"].to_str().unwrap().contains("no-store"), "{name}");
}

#[tokio::test]
async fn unknown_expired_or_garbage_tokens_are_200_and_write_nothing() {
    let f = Fixture::new().await;
    let cases = [
        ("unknown refresh token", "1.AbCdEf-unknown".to_owned()),
        ("garbage", "%%%garbage".to_owned()),
        ("expired access token of the caller", f.app_token_at(now() - 4200, 600).await),
    ];
    for (name, token) in cases {
        for hint in ["", "&token_type_hint=access_token", "&token_type_hint=refresh_token", "&token_type_hint=other"] {
            let auth = format!("{}{hint}", f.client_auth());
            assert_revoked_nothing_ok(&f.present("revoke", &auth, &token).await, name);
        }
    }
    assert_eq!(f.state.revocations.applied_version(), 0, "nothing was revoked");
}

#[tokio::test]
async fn another_clients_tokens_are_refused_and_stay_alive() {
    let f = Fixture::new().await;
    let user = f.user_tokens().await;
    let app_token = f.dir.app_token().await;
    let cases = [
        // The public client's access token, presented by the confidential client.
        ("access token", f.client_auth(), user.tokens.access_token.clone()),
        ("refresh token", f.client_auth(), refresh_token_of(&user)),
        // The confidential client's token, presented by the public client naming itself.
        ("app token", f.public_auth(), app_token.clone()),
        // The API is the token's audience, not its client.
        ("audience's attempt", f.api_auth(), user.tokens.access_token.clone()),
    ];
    for (name, auth, token) in cases {
        let answer = f.present("revoke", &auth, &token).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, json["error"].as_str()),
            (400, Some("unauthorized_client")),
            "{name}: {}",
            answer.body
        );
    }
    assert_eq!(f.state.revocations.applied_version(), 0, "nothing was revoked");
    // Still alive where it matters: verification as a gateway does it, introspection, refresh.
    for token in [&user.tokens.access_token, &app_token] {
        assert!(f.state.own_tokens.verify(token, now()).await.is_some());
    }
    assert_eq!(f.introspect(&f.api_auth(), &user.tokens.access_token).await["active"], true);
    assert_eq!(f.introspect(&f.client_auth(), &app_token).await["active"], true);
    let refresh =
        format!("grant_type=refresh_token&{}&refresh_token={}", f.public_auth(), urlencode(&refresh_token_of(&user)));
    let refreshed = f.post(&f.path("token"), refresh).await;
    assert_eq!(refreshed.status, 200, "the rightful client still refreshes: {}", refreshed.body);
}

#[tokio::test]
async fn revocation_requests_are_checked_like_token_requests() {
    let f = Fixture::new().await;
    let token = f.dir.app_token().await;
    let auth = f.client_auth();
    let path = f.path("revoke");
    let cases = [
        ("no token", auth.clone(), 400, "invalid_request", codes::MISSING_PARAMETER),
        (
            "duplicate token",
            format!("{auth}&token={token}&token={token}"),
            400,
            "invalid_request",
            codes::DUPLICATE_PARAMETER,
        ),
        (
            "oversized body",
            format!("{auth}&token={}", "a".repeat(70 * 1024)),
            400,
            "invalid_request",
            codes::MALFORMED_REQUEST,
        ),
        ("no client", format!("token={token}"), 401, "invalid_client", codes::NO_CLIENT_CREDENTIAL),
        (
            "wrong secret",
            format!("client_id={}&client_secret=nope&token={token}", f.dir.client.app_id),
            401,
            "invalid_client",
            codes::INVALID_CLIENT_SECRET,
        ),
        (
            "confidential client without its secret",
            format!("client_id={}&token={token}", f.dir.client.app_id),
            401,
            "invalid_client",
            codes::NO_CLIENT_CREDENTIAL,
        ),
    ];
    for (name, body, status, error, code) in cases {
        let answer = f.post(&path, body).await;
        let json = answer.json();
        assert_eq!(
            (answer.status, json["error"].as_str(), json["error_codes"][0].as_u64()),
            (status, Some(error), Some(u64::from(code))),
            "{name}: {}",
            answer.body
        );
    }
    assert!(f.state.own_tokens.verify(&token, now()).await.is_some(), "refused requests revoke nothing");
}

#[tokio::test]
async fn a_revoked_access_token_is_dead_on_this_node_before_the_answer() {
    let f = Fixture::with_feed().await;
    let token = f.dir.app_token().await;
    let verified = f.state.own_tokens.verify(&token, now()).await.expect("live");
    let other = f.dir.app_token().await;

    let answer = f.present("revoke", &format!("{}&token_type_hint=access_token", f.client_auth()), &token).await;
    assert_revoked_nothing_ok(&answer, "revoked");
    // No waiting: the 200 came after this node applied the revocation.
    assert_eq!(f.state.revocations.check(&verified), Some(RevokedBy::Token));
    assert!(f.state.own_tokens.verify(&token, now()).await.is_none());
    assert_eq!(f.introspect(&f.client_auth(), &token).await, json!({"active": false}));
    assert_eq!(f.introspect(&f.client_auth(), &other).await["active"], true, "one token, not the client");

    // The feed row names the token and the client that revoked it.
    let feed = f.dir.store.revocations_after(0, now()).await.unwrap();
    let row = feed.rows.last().expect("a row");
    assert_eq!(row.revocation.target.subject(), verified.uti.as_deref().unwrap());
    assert_eq!(row.revocation.actor, f.dir.client.app_id.to_string());
    // Revoking it again is a 200 that writes nothing more (it is already dead).
    let again = f.present("revoke", &f.client_auth(), &token).await;
    assert_revoked_nothing_ok(&again, "again");
    assert_eq!(f.dir.store.revocations_after(0, now()).await.unwrap().rows.len(), feed.rows.len());
}

#[tokio::test]
async fn a_public_client_revokes_its_refresh_token_and_the_whole_sign_in_goes() {
    let f = Fixture::with_feed().await;
    let user = f.user_tokens().await;
    let access = f.state.own_tokens.verify(&user.tokens.access_token, now()).await.expect("live");
    let refresh = refresh_token_of(&user);

    // The v1 path, with the hint: a public client names itself, as at the token endpoint.
    let v1 = format!("/{}/oauth2/revoke", f.dir.tenant.id);
    let body = format!("{}&token_type_hint=refresh_token&token={}", f.public_auth(), urlencode(&refresh));
    assert_revoked_nothing_ok(&f.post(&v1, body).await, "revoked");

    assert_eq!(f.state.revocations.check(&access), Some(RevokedBy::Family), "the family's access token");
    assert_eq!(f.introspect(&f.api_auth(), &user.tokens.access_token).await, json!({"active": false}));
    let refresh_grant = format!("grant_type=refresh_token&{}&refresh_token={}", f.public_auth(), urlencode(&refresh));
    let refused = f.post(&f.path("token"), refresh_grant).await;
    assert_eq!((refused.status, refused.json()["error"].as_str()), (400, Some("invalid_grant")), "{}", refused.body);
    let feed = f.dir.store.revocations_after(0, now()).await.unwrap();
    let row = feed.rows.last().expect("a row");
    assert_eq!(row.revocation.target.kind(), "family");
    assert_eq!(row.revocation.actor, f.dir.public_client.app_id.to_string());
}

#[tokio::test]
async fn a_hybrid_apps_web_sign_in_is_not_revoked_without_its_secret() {
    let f = Fixture::new().await;
    let s = f.dir.store.as_ref();
    let t = now();
    // Web and native redirects: it may name itself (public flows), but what its web redirect
    // received stays bound to its secret, at the refresh grant and here alike.
    let hybrid = admin::NewApp {
        display_name: "Hybrid".into(),
        identifier_uris: vec![],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        is_public_client: false,
        redirect_uris: vec![
            RedirectUri { uri: "https://hybrid.example/cb".into(), platform: RedirectPlatform::Web },
            RedirectUri { uri: REDIRECT.into(), platform: RedirectPlatform::PublicClient },
        ],
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (hybrid, _) = admin::create_app(s, f.dir.tenant.id, hybrid, t).await.unwrap();
    admin::grant_consent(s, f.dir.tenant.id, hybrid.app_id, f.dir.api.app_id, None, &["Orders.Read".to_owned()], t)
        .await
        .unwrap();
    let scopes = vec![format!("{API_URI}/Orders.Read"), "offline_access".into()];
    let code = f.code_for(&hybrid, RedirectPlatform::Web, scopes).await;
    let user = f.redeem(&code, &hybrid, ClientAuthMethod::Secret).await;

    let answer = f.present("revoke", &format!("client_id={}", hybrid.app_id), &refresh_token_of(&user)).await;
    let json = answer.json();
    assert_eq!(
        (answer.status, json["error"].as_str(), json["error_codes"][0].as_u64()),
        (401, Some("invalid_client"), Some(u64::from(codes::NO_CLIENT_CREDENTIAL))),
        "{}",
        answer.body
    );
    assert_eq!(f.state.revocations.applied_version(), 0);
}
