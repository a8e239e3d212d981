//! Unit tests of the authorization-code, refresh-token and on-behalf-of grants, on the real
//! grant code (`tokengate-core`) and an in-memory store: no HTTP, milliseconds each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use tokengate_core::client_auth::{AuthenticatedClient, ClientAuthMethod};
use tokengate_core::directory::{AppRegistration, RedirectPlatform};
use tokengate_core::directory_admin as admin;
use tokengate_core::encoding::{b64url, sha256};
use tokengate_core::errors::codes;
use tokengate_core::grants::authorization_code::{self, CodeRequest, NewCode};
use tokengate_core::grants::delegated_issuance::UserTokens;
use tokengate_core::grants::grant_context::GrantContext;
use tokengate_core::grants::on_behalf_of::{self, OboRequest};
use tokengate_core::grants::refresh_token::{self, RefreshRequest};
use tokengate_core::grants::Issuer;
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::tokens::TokenSettings;
use tokengate_core::OAuthError;
use uuid::Uuid;

use crate::state::now;
use crate::test_support::{directory, TestDirectory, API_URI, BASE_URL};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough";
const REDIRECT: &str = "http://localhost";

struct Grants {
    dir: TestDirectory,
    settings: TokenSettings,
    revocations: tokengate_core::access::revocation::RevocationSet,
    device_polls: tokengate_core::grants::device_poll_pace::DevicePollPace,
}

impl Grants {
    async fn new() -> Grants {
        let dir = directory().await;
        let s = dir.store.as_ref();
        admin::grant_consent(
            s,
            dir.tenant.id,
            dir.public_client.app_id,
            dir.api.app_id,
            None,
            &["Orders.Read".to_owned()],
            now(),
        )
        .await
        .unwrap();
        Grants {
            dir,
            settings: TokenSettings::default(),
            revocations: Default::default(),
            device_polls: Default::default(),
        }
    }

    fn ctx<'a>(&'a self, client: &'a AuthenticatedClient) -> GrantContext<'a> {
        GrantContext {
            issuer: Issuer {
                store: self.dir.store.as_ref(),
                keys: &self.dir.ring,
                settings: &self.settings,
                base_url: BASE_URL,
                revocations: &self.revocations,
                device_polls: &self.device_polls,
            },
            tenant: &self.dir.tenant,
            client,
            origin: None,
            client_capabilities: None,
            now: now(),
            now_ms: now() * 1000,
        }
    }

    fn public(&self) -> AuthenticatedClient {
        AuthenticatedClient {
            app: self.dir.public_client.clone(),
            method: ClientAuthMethod::Public,
            credential_id: None,
        }
    }

    fn confidential(app: &AppRegistration) -> AuthenticatedClient {
        AuthenticatedClient { app: app.clone(), method: ClientAuthMethod::Secret, credential_id: None }
    }

    /// What /authorize would hand the public client after the user signed in.
    async fn code(&self) -> String {
        let client = self.public();
        let ctx = self.ctx(&client);
        authorization_code::issue_code(
            &ctx.issuer,
            NewCode {
                tenant_id: self.dir.tenant.id,
                client_id: self.dir.public_client.app_id,
                user_id: self.dir.user.object_id,
                redirect_uri: REDIRECT,
                redirect_platform: RedirectPlatform::PublicClient,
                scopes: vec![format!("{API_URI}/Orders.Read"), "offline_access".into(), "openid".into()],
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

    async fn redeem(&self, code: &str, verifier: &str, redirect: &str) -> Result<UserTokens, OAuthError> {
        let client = self.public();
        let request = CodeRequest { code, redirect_uri: Some(redirect), code_verifier: Some(verifier) };
        authorization_code::redeem(&self.ctx(&client), request).await
    }

    async fn refresh_as(&self, client: &AuthenticatedClient, token: &str) -> Result<UserTokens, OAuthError> {
        refresh_token::refresh(&self.ctx(client), RefreshRequest { refresh_token: token, scope: None }).await
    }

    async fn refresh(&self, token: &str) -> Result<UserTokens, OAuthError> {
        self.refresh_as(&self.public(), token).await
    }
}

fn refresh_token_of(t: &UserTokens) -> String {
    t.tokens.refresh.as_ref().expect("a refresh token").0.clone()
}

fn code_of(r: Result<UserTokens, OAuthError>) -> u32 {
    r.err().expect("an error").code
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_its_reuse_revokes_the_sign_in() {
    let g = Grants::new().await;
    let code = g.code().await;
    let first = g.redeem(&code, VERIFIER, REDIRECT).await.unwrap();
    assert_eq!(first.user_id, g.dir.user.object_id);
    assert!(first.tokens.id_token.is_some(), "openid asks for an ID token");
    let refresh = refresh_token_of(&first);

    assert_eq!(code_of(g.redeem(&code, VERIFIER, REDIRECT).await), codes::CODE_REDEEMED);
    assert_eq!(code_of(g.refresh(&refresh).await), codes::REFRESH_REVOKED, "the family went with the reused code");
}

#[tokio::test]
async fn a_code_needs_its_verifier_and_redirect_and_is_burnt_by_a_wrong_one() {
    let g = Grants::new().await;
    let code = g.code().await;
    assert_eq!(
        code_of(g.redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier", REDIRECT).await),
        codes::PKCE_MISMATCH
    );
    assert_eq!(code_of(g.redeem(&code, VERIFIER, REDIRECT).await), codes::CODE_REDEEMED, "spent by the failed try");

    let code = g.code().await;
    assert_eq!(code_of(g.redeem(&code, VERIFIER, "http://localhost/other").await), codes::INVALID_GRANT);
    assert_eq!(code_of(g.redeem("1.Aunknown", VERIFIER, REDIRECT).await), codes::CODE_EXPIRED);
}

#[tokio::test]
async fn refresh_rotates_and_a_replayed_ancestor_revokes_the_family() {
    let g = Grants::new().await;
    let first = g.redeem(&g.code().await, VERIFIER, REDIRECT).await.unwrap();
    let rt1 = refresh_token_of(&first);
    let second = g.refresh(&rt1).await.unwrap();
    let rt2 = refresh_token_of(&second);
    assert_ne!(rt1, rt2, "every use hands out a new refresh token");
    assert_eq!(second.tokens.claims.scp.as_deref(), Some("Orders.Read"), "the family keeps its scopes");
    let third = g.refresh(&rt2).await.unwrap();
    let rt3 = refresh_token_of(&third);

    // rt1's successor was used: presenting rt1 again is theft, not a retry.
    assert_eq!(code_of(g.refresh(&rt1).await), codes::REFRESH_REVOKED);
    assert_eq!(code_of(g.refresh(&rt3).await), codes::REFRESH_REVOKED, "the whole family is revoked");
}

#[tokio::test]
async fn another_clients_refresh_token_is_refused_without_disturbing_its_family() {
    let g = Grants::new().await;
    let first = g.redeem(&g.code().await, VERIFIER, REDIRECT).await.unwrap();
    let rt = refresh_token_of(&first);
    let thief = Grants::confidential(&g.dir.client);
    assert_eq!(code_of(g.refresh_as(&thief, &rt).await), codes::INVALID_GRANT);
    assert!(g.refresh(&rt).await.is_ok(), "the rightful client still refreshes");
}

#[tokio::test]
async fn on_behalf_of_takes_only_a_live_delegated_token_addressed_to_the_caller() {
    let g = Grants::new().await;
    let s = g.dir.store.as_ref();
    let t = now();
    // A downstream API the orders API calls for its user, with tenant-wide consent.
    let (downstream, _) = admin::create_app(
        s,
        g.dir.tenant.id,
        admin::NewApp {
            display_name: "Stock".into(),
            identifier_uris: vec!["api://stock".into()],
            sign_in_audience: tokengate_core::directory::SignInAudience::AzureADMyOrg,
            access_token_accepted_version: Some(2),
            is_public_client: false,
            redirect_uris: vec![],
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
        },
        t,
    )
    .await
    .unwrap();
    admin::add_scope(s, downstream.app_id, "Stock.Read", "Read stock", t).await.unwrap();
    admin::grant_consent(s, g.dir.tenant.id, g.dir.api.app_id, downstream.app_id, None, &["Stock.Read".to_owned()], t)
        .await
        .unwrap();

    let user_tokens = g.redeem(&g.code().await, VERIFIER, REDIRECT).await.unwrap();
    let issuer_state = g.dir.issuer_state();
    let assertion =
        issuer_state.own_tokens.verify(&user_tokens.tokens.access_token, now()).await.expect("live and ours");

    let api = Grants::confidential(&g.dir.api);
    let exchanged =
        on_behalf_of::exchange(&g.ctx(&api), OboRequest { assertion: &assertion, scope: "api://stock/Stock.Read" })
            .await
            .unwrap();
    assert_eq!(exchanged.user_id, g.dir.user.object_id, "the downstream token acts for the same user");
    assert_eq!(exchanged.tokens.claims.scp.as_deref(), Some("Stock.Read"));

    // Addressed to another app: the confidential client is not the token's audience.
    let other = Grants::confidential(&g.dir.client);
    let other_ctx = g.ctx(&other);
    let refused =
        on_behalf_of::exchange(&other_ctx, OboRequest { assertion: &assertion, scope: "api://stock/Stock.Read" });
    assert_eq!(code_of(refused.await), codes::OBO_ASSERTION_INVALID);

    // An app-only token has no user to act for.
    let app_only = issuer_state.own_tokens.verify(&g.dir.app_token().await, now()).await.expect("live and ours");
    let api_ctx = g.ctx(&api);
    let refused =
        on_behalf_of::exchange(&api_ctx, OboRequest { assertion: &app_only, scope: "api://stock/Stock.Read" });
    assert_eq!(code_of(refused.await), codes::OBO_ASSERTION_INVALID);
}

/// A user revocation this node has applied, covering every token issued up to `cutoff` (the
/// store's own sweep of families and codes is not involved: this is the race it can miss).
fn revoke_user_until(g: &Grants, cutoff: i64) {
    use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};
    let target =
        RevocationTarget::User { tenant_id: g.dir.tenant.id.to_string(), object_id: g.dir.user.object_id.to_string() };
    let mut revocation = NewRevocation::at(target, "test", None, now() * 1000);
    revocation.issued_before = cutoff;
    let version = g.revocations.applied_version() + 1;
    g.revocations.apply(&[Revocation { version, revocation }], version, crate::state::now_ms());
}

#[tokio::test]
async fn a_sign_in_from_before_a_user_revocation_yields_nothing_while_one_after_it_works() {
    let g = Grants::new().await;
    let first = g.redeem(&g.code().await, VERIFIER, REDIRECT).await.unwrap();
    let before = refresh_token_of(&first);
    let unredeemed = g.code().await;

    // The revocation lands after both were issued (a cutoff in the next second, as always).
    revoke_user_until(&g, now() + 1);
    assert_eq!(code_of(g.refresh(&before).await), codes::REFRESH_REVOKED, "a refresh token from before");
    assert_eq!(code_of(g.redeem(&unredeemed, VERIFIER, REDIRECT).await), codes::INVALID_GRANT, "a code from before");

    // A sign-in after the revocation: its tokens are stamped at the cutoff, so nothing covers them.
    let code = {
        let client = g.public();
        let ctx = g.ctx(&client);
        authorization_code::issue_code(
            &ctx.issuer,
            NewCode {
                tenant_id: g.dir.tenant.id,
                client_id: g.dir.public_client.app_id,
                user_id: g.dir.user.object_id,
                redirect_uri: REDIRECT,
                redirect_platform: RedirectPlatform::PublicClient,
                scopes: vec![format!("{API_URI}/Orders.Read"), "offline_access".into()],
                nonce: None,
                pkce: Some((b64url(sha256(VERIFIER.as_bytes())), ChallengeMethod::S256)),
                auth_time: now() + 1,
                session_id: Uuid::new_v4(),
                now: now(),
            },
        )
        .await
        .unwrap()
    };
    let after = g.redeem(&code, VERIFIER, REDIRECT).await.unwrap();
    let floor = g.revocations.issued_floor(
        &g.dir.tenant.id.to_string(),
        Some(&g.dir.user.object_id.to_string()),
        &g.dir.public_client.app_id.to_string(),
    );
    assert_eq!(after.tokens.claims.iat, floor.unwrap(), "the access token is not back-dated before the cutoff");
    let renewed = g.refresh(&refresh_token_of(&after)).await;
    assert!(renewed.is_ok(), "its refresh token works: {:?}", renewed.err());
}

/// A pending device code of the public client, stored; returns its hash.
async fn stored_device_code(g: &Grants, expires_at: i64) -> (Vec<u8>, Vec<u8>) {
    use tokengate_core::grants::device_code::*;
    let code = DeviceAuthorization {
        device_code_hash: device_code_hash(&format!("DAQ{}", Uuid::new_v4().simple())),
        user_code_hash: user_code_hash(&new_user_code()),
        tenant_id: g.dir.tenant.id,
        client_id: g.dir.public_client.app_id,
        scopes: vec!["openid".into(), format!("{API_URI}/Orders.Read")],
        status: DeviceCodeStatus::Pending,
        user_id: None,
        auth_time: None,
        session_id: None,
        interval: DEVICE_POLL_INTERVAL,
        created_at: now(),
        expires_at,
    };
    g.dir.store.insert_device_code(&code).await.unwrap();
    (code.device_code_hash, code.user_code_hash)
}

#[tokio::test]
async fn device_polls_answer_terminal_states_first_pace_in_memory_and_redeem_once() {
    use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
    use tokengate_core::grants::device_code::{poll, DeviceCodeStatus, DeviceDecision, DevicePoll};
    let g = Grants::new().await;
    let client = g.public();
    let issuer = g.ctx(&client).issuer;
    let me = g.dir.public_client.app_id;
    let t0 = now() * 1000;
    let (hash, user_code) = stored_device_code(&g, now() + 900).await;

    assert_eq!(poll(&issuer, &hash, me, t0).await.unwrap(), DevicePoll::Pending);
    assert_eq!(poll(&issuer, &hash, me, t0 + 1_000).await.unwrap(), DevicePoll::SlowDown { interval: 10 });
    // Another client's poll is refused before the pace: it does not move this code's clock.
    assert_eq!(poll(&issuer, &hash, Uuid::new_v4(), t0 + 1_500).await.unwrap(), DevicePoll::WrongClient);
    assert_eq!(poll(&issuer, &hash, me, t0 + 11_000).await.unwrap(), DevicePoll::Pending, "10 s after the last");

    let audit = AuditEvent::new(AuditSource::Issuer, "device_code.approved", Outcome::Allowed, t0);
    let approve =
        DeviceDecision::Approve { user_id: g.dir.user.object_id, auth_time: now(), session_id: Uuid::new_v4() };
    assert!(g.dir.store.decide_device_code(&user_code, approve, now(), &audit).await.unwrap());
    assert_eq!(
        poll(&issuer, &hash, me, t0 + 12_000).await.unwrap(),
        DevicePoll::SlowDown { interval: 15 },
        "too fast does not redeem"
    );
    let stored = g.dir.store.device_code(&hash).await.unwrap().unwrap();
    assert_eq!(stored.status, DeviceCodeStatus::Approved);
    match poll(&issuer, &hash, me, t0 + 27_000).await.unwrap() {
        DevicePoll::Approved(code) => assert_eq!(code.user_id, Some(g.dir.user.object_id)),
        other => panic!("an on-time poll of an approved code redeems it: {other:?}"),
    }
    assert_eq!(
        poll(&issuer, &hash, me, t0 + 27_001).await.unwrap(),
        DevicePoll::AlreadyRedeemed,
        "single use is answered before slow_down"
    );

    // Expired and unknown codes, without touching the pace.
    let (short, _) = stored_device_code(&g, now() + 10).await;
    assert_eq!(poll(&issuer, &short, me, t0 + 9_999).await.unwrap(), DevicePoll::Pending);
    assert_eq!(poll(&issuer, &short, me, t0 + 10_000).await.unwrap(), DevicePoll::Expired);
    let unknown = tokengate_core::grants::device_code::device_code_hash("DAQunknown");
    assert_eq!(poll(&issuer, &unknown, me, t0).await.unwrap(), DevicePoll::NotFound);
    assert_eq!(g.device_polls.len(), 1, "the redeemed code's clock is gone; only the short code's is kept");

    // The pace is each node's memory: another node's clock starts fresh (the documented price
    // of not writing every poll).
    let (busy, _) = stored_device_code(&g, now() + 900).await;
    assert_eq!(poll(&issuer, &busy, me, t0).await.unwrap(), DevicePoll::Pending);
    assert_eq!(poll(&issuer, &busy, me, t0 + 1).await.unwrap(), DevicePoll::SlowDown { interval: 10 });
    let other_node = tokengate_core::grants::device_poll_pace::DevicePollPace::default();
    let issuer_b = Issuer { device_polls: &other_node, ..g.ctx(&client).issuer };
    assert_eq!(poll(&issuer_b, &busy, me, t0 + 2).await.unwrap(), DevicePoll::Pending);
}
