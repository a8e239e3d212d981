//! Revoked tokens presented back to the issuer itself: userinfo answers 401 `invalid_token` and
//! the on-behalf-of grant refuses the assertion, for every kind of revocation that covers them
//! (both go through `own_tokens`, which consults this node's revocation set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use axum::body::Body;
use axum::http::{header, Request};
use tokengate_core::directory::{RedirectPlatform, SignInAudience};
use tokengate_core::directory_admin as admin;
use tokengate_core::errors::codes;
use tokengate_core::grants::on_behalf_of::JWT_BEARER_GRANT;
use tokengate_core::revocations::RevocationTarget;

use super::token_fixtures::{uti_of, Answer, Fixture};
use crate::state::now;
use crate::test_support::send;

async fn userinfo(f: &Fixture, token: &str) -> (u16, String) {
    let request = Request::builder()
        .uri("/oidc/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty());
    let response = send(crate::issuer::router(f.state.clone()), request.unwrap()).await;
    let challenge = response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), challenge.unwrap_or_default())
}

#[tokio::test]
async fn userinfo_refuses_a_revoked_token() {
    let f = Fixture::new().await;
    let scopes = vec!["openid".into(), "profile".into()];
    let code = f.code_for(&f.dir.public_client, RedirectPlatform::PublicClient, scopes).await;
    let tokens = f.redeem(&code, &f.dir.public_client, tokengate_core::client_auth::ClientAuthMethod::Public).await;
    let token = tokens.tokens.access_token;
    assert_eq!(userinfo(&f, &token).await.0, 200, "live: answered");

    f.apply(RevocationTarget::Token { token_id: uti_of(&token) });
    let (status, challenge) = userinfo(&f, &token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

/// The API exchanging the user's token for one to a downstream API it may call.
async fn exchange(f: &Fixture, assertion: &str) -> Answer {
    let body = format!(
        "grant_type={JWT_BEARER_GRANT}&requested_token_use=on_behalf_of&{}&assertion={assertion}&scope=api://stock/Stock.Read",
        f.api_auth()
    );
    f.post(&f.path("token"), body).await
}

/// The fixture, with a downstream API (`api://stock`) the orders API may call for its users.
async fn with_downstream() -> Fixture {
    let f = Fixture::new().await;
    let s = f.dir.store.as_ref();
    let t = now();
    let stock = admin::NewApp {
        display_name: "Stock".into(),
        identifier_uris: vec!["api://stock".into()],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        is_public_client: false,
        redirect_uris: vec![],
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (stock, _) = admin::create_app(s, f.dir.tenant.id, stock, t).await.unwrap();
    admin::add_scope(s, stock.app_id, "Stock.Read", "Read stock", t).await.unwrap();
    admin::grant_consent(s, f.dir.tenant.id, f.dir.api.app_id, stock.app_id, None, &["Stock.Read".to_owned()], t)
        .await
        .unwrap();
    f
}

#[tokio::test]
async fn on_behalf_of_refuses_a_revoked_assertion_whatever_revoked_it() {
    // One fixture per kind: a user or client revocation also covers tokens minted in the same
    // second (and, back-dated, a while after), which the next kind's live check would trip over.
    for kind in ["token", "user", "client", "family"] {
        let f = with_downstream().await;
        let user = f.user_tokens().await;
        let assertion = user.tokens.access_token.clone();
        let live = exchange(&f, &assertion).await;
        assert_eq!(live.status, 200, "{kind}: a live assertion is exchanged: {}", live.body);
        let (tenant_id, object_id) = (f.dir.tenant.id.to_string(), f.dir.user.object_id.to_string());
        f.apply(match kind {
            "token" => RevocationTarget::Token { token_id: uti_of(&assertion) },
            "user" => RevocationTarget::User { tenant_id, object_id },
            "client" => RevocationTarget::Client {
                client_id: f.dir.public_client.app_id.to_string(),
                disable_credentials: false,
            },
            _ => RevocationTarget::Family { family_id: "f".into(), token_ids: vec![uti_of(&assertion)] },
        });
        let refused = exchange(&f, &assertion).await;
        let json = refused.json();
        assert_eq!(
            (refused.status, json["error"].as_str(), json["error_codes"][0].as_u64()),
            (400, Some("invalid_grant"), Some(u64::from(codes::OBO_ASSERTION_INVALID))),
            "{kind}: {}",
            refused.body
        );
    }
}
