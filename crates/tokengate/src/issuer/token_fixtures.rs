//! Test fixtures for the endpoints that take tokens back (revocation, introspection, CAE claims,
//! userinfo, on-behalf-of): a user's real tokens from a sign-in, app tokens minted at any time,
//! the issuer state with (when asked) its revocation feed loop running as a node's does, and form
//! posts through the real router.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request};
use tokengate_core::client_auth::{AuthenticatedClient, ClientAuthMethod};
use tokengate_core::directory::{AppRegistration, RedirectPlatform};
use tokengate_core::directory_admin as admin;
use tokengate_core::encoding::{b64url, b64url_decode, sha256};
use tokengate_core::grants::authorization_code::{self, CodeRequest, NewCode};
use tokengate_core::grants::client_credentials::{self, ResourceParameter};
use tokengate_core::grants::delegated_issuance::UserTokens;
use tokengate_core::grants::grant_context::GrantContext;
use tokengate_core::grants::Issuer;
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};
use tokengate_core::tokens::TokenSettings;
use tokengate_core::UnixTime;
use uuid::Uuid;

use crate::revocation_feed::feed_metrics::FeedMetrics;
use crate::revocation_feed::FeedLoop;
use crate::state::{now, now_ms, IssuerState};
use crate::test_support::{body_text, directory, send, TestDirectory, API_URI, BASE_URL};

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough";
pub const REDIRECT: &str = "http://localhost";

pub struct Fixture {
    pub dir: TestDirectory,
    pub state: Arc<IssuerState>,
    /// The API's own secret: it introspects the tokens addressed to it.
    pub api_secret: String,
    _feed_stop: Option<tokio::sync::watch::Sender<bool>>,
    /// Tokens minted by hand stand for tokens issued before any revocation: no issued floor.
    before_any_revocation: tokengate_core::access::revocation::RevocationSet,
    device_polls: tokengate_core::grants::device_poll_pace::DevicePollPace,
}

/// One answer: status, headers, body.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

impl Fixture {
    /// The directory, with both clients consented to `Orders.Read`; no feed loop (tests
    /// that apply revocations to the set by hand need nothing else writing it).
    pub async fn new() -> Fixture {
        let dir = directory().await;
        let s = dir.store.as_ref();
        let t = now();
        let (tenant, api) = (dir.tenant.id, dir.api.app_id);
        for client in [dir.public_client.app_id, dir.client.app_id] {
            admin::grant_consent(s, tenant, client, api, None, &["Orders.Read".to_owned()], t).await.unwrap();
        }
        let api_secret = admin::create_secret(s, api, "introspection", 30, t).await.unwrap().value;
        let state = dir.issuer_state();
        Fixture {
            dir,
            state,
            api_secret,
            _feed_stop: None,
            before_any_revocation: Default::default(),
            device_polls: Default::default(),
        }
    }

    /// As `new`, with the feed loop running: a revocation written here reaches the set only
    /// through the feed, as on a node.
    pub async fn with_feed() -> Fixture {
        let mut f = Fixture::new().await;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        FeedLoop {
            store: f.dir.store.clone(),
            revocations: f.state.revocations.clone(),
            handle: f.state.feed.clone(),
            metrics: Arc::new(FeedMetrics::default()),
            keys: crate::signing_keys::KeyFollower::new(
                f.dir.store.clone(),
                crate::signing_keys::ReloadedKeys::Private { kek: f.dir.kek.clone(), ring: f.dir.ring.clone() },
            ),
        }
        .spawn(stop_rx);
        f._feed_stop = Some(stop);
        f
    }

    pub fn path(&self, endpoint: &str) -> String {
        format!("/{}/oauth2/v2.0/{endpoint}", self.dir.tenant.id)
    }

    /// The confidential client's credentials, as form parameters.
    pub fn client_auth(&self) -> String {
        format!("client_id={}&client_secret={}", self.dir.client.app_id, self.dir.secret)
    }

    /// The API's credentials, as form parameters.
    pub fn api_auth(&self) -> String {
        format!("client_id={}&client_secret={}", self.dir.api.app_id, self.api_secret)
    }

    /// The public client naming itself.
    pub fn public_auth(&self) -> String {
        format!("client_id={}", self.dir.public_client.app_id)
    }

    pub async fn post(&self, path: &str, body: impl Into<String>) -> Answer {
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, FORM)
            .body(Body::from(body.into()))
            .unwrap();
        let response = send(crate::issuer::router(self.state.clone()), request).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        Answer { status, headers, body: body_text(response).await }
    }

    /// `token` posted to `endpoint` (`revoke`, `introspect`) with `auth`.
    pub async fn present(&self, endpoint: &str, auth: &str, token: &str) -> Answer {
        self.post(&self.path(endpoint), format!("{auth}&token={}", urlencode(token))).await
    }

    /// The introspection answer for `token` asked by `auth`.
    pub async fn introspect(&self, auth: &str, token: &str) -> serde_json::Value {
        let answer = self.present("introspect", auth, token).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json()
    }

    /// A code the public client may redeem with `VERIFIER` for the user: `Orders.Read`, offline,
    /// openid.
    pub async fn code(&self) -> String {
        let scopes = vec![format!("{API_URI}/Orders.Read"), "offline_access".into(), "openid".into()];
        self.code_for(&self.dir.public_client, RedirectPlatform::PublicClient, scopes).await
    }

    /// A code for `app` at `REDIRECT` (registered with `platform`) with `scopes`.
    pub async fn code_for(&self, app: &AppRegistration, platform: RedirectPlatform, scopes: Vec<String>) -> String {
        let settings = TokenSettings::default();
        authorization_code::issue_code(
            &self.issuer(&settings),
            NewCode {
                tenant_id: self.dir.tenant.id,
                client_id: app.app_id,
                user_id: self.dir.user.object_id,
                redirect_uri: REDIRECT,
                redirect_platform: platform,
                scopes,
                nonce: None,
                pkce: Some((b64url(sha256(VERIFIER.as_bytes())), ChallengeMethod::S256)),
                auth_time: now(),
                session_id: Uuid::new_v4(),
                now: now(),
            },
        )
        .await
        .unwrap()
    }

    /// The user's tokens for the public client: an access token for the API and a refresh token.
    pub async fn user_tokens(&self) -> UserTokens {
        let code = self.code().await;
        self.redeem(&code, &self.dir.public_client, ClientAuthMethod::Public).await
    }

    /// The user's tokens for the confidential client (a web sign-in): for the API, and a refresh
    /// token that only the client's secret redeems.
    pub async fn confidential_user_tokens(&self) -> UserTokens {
        let scopes = vec![format!("{API_URI}/Orders.Read"), "offline_access".into()];
        let code = self.code_for(&self.dir.client, RedirectPlatform::Web, scopes).await;
        self.redeem(&code, &self.dir.client, ClientAuthMethod::Secret).await
    }

    /// A code redeemed by `app` (authenticated by `method`) through the grant itself.
    pub async fn redeem(&self, code: &str, app: &AppRegistration, method: ClientAuthMethod) -> UserTokens {
        let settings = TokenSettings::default();
        let client = authenticated(app, method);
        let ctx = self.ctx(&settings, &client, now());
        let request = CodeRequest { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER) };
        authorization_code::redeem(&ctx, request).await.unwrap()
    }

    /// An app-only token for the confidential client, minted at `at` with a `lifetime`.
    pub async fn app_token_at(&self, at: UnixTime, lifetime: i64) -> String {
        let settings = TokenSettings {
            access_token_lifetime_min: lifetime,
            access_token_lifetime_max: lifetime,
            ..Default::default()
        };
        let client = authenticated(&self.dir.client, ClientAuthMethod::Secret);
        let scope = format!("{API_URI}/.default");
        let ctx = self.ctx(&settings, &client, at);
        client_credentials::issue(&ctx, ResourceParameter::Scope(&scope)).await.unwrap().access_token
    }

    /// Applies a revocation to this node's set by hand, as the feed would.
    pub fn apply(&self, target: RevocationTarget) {
        let set = &self.state.revocations;
        let version = set.applied_version() + 1;
        let row = Revocation { version, revocation: NewRevocation::at(target, "test", None, now_ms()) };
        set.apply(&[row], version, now_ms());
    }

    fn issuer<'a>(&'a self, settings: &'a TokenSettings) -> Issuer<'a> {
        Issuer {
            store: self.dir.store.as_ref(),
            keys: &self.dir.ring,
            settings,
            base_url: BASE_URL,
            revocations: &self.before_any_revocation,
            device_polls: &self.device_polls,
        }
    }

    fn ctx<'a>(
        &'a self,
        settings: &'a TokenSettings,
        client: &'a AuthenticatedClient,
        at: UnixTime,
    ) -> GrantContext<'a> {
        GrantContext {
            issuer: self.issuer(settings),
            tenant: &self.dir.tenant,
            client,
            origin: None,
            client_capabilities: None,
            now: at,
            now_ms: at * 1000,
        }
    }
}

fn authenticated(app: &AppRegistration, method: ClientAuthMethod) -> AuthenticatedClient {
    AuthenticatedClient { app: app.clone(), method, credential_id: None }
}

pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A JWT's payload, unverified (the tests read what the issuer put in).
pub fn claims_of(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&b64url_decode(payload).expect("base64url")).expect("JSON")
}

pub fn uti_of(jwt: &str) -> String {
    claims_of(jwt)["uti"].as_str().expect("a uti").to_owned()
}

pub fn refresh_token_of(t: &UserTokens) -> String {
    t.tokens.refresh.as_ref().expect("a refresh token").0.clone()
}
