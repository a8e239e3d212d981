//! Cheap, real test states for in-process tests: an in-memory SQLite store with a small
//! directory (tenant, API, confidential and public clients, a user), a real key ring, the real
//! issuer state and router, and gateway states built from policy text. Requests go through
//! `Router::oneshot`: no sockets, no processes, milliseconds per test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::http::{Request, Response};
use http_body_util::BodyExt;
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::client_auth::{AuthenticatedClient, ClientAuthMethod};
use tokengate_core::directory::{
    AllowedMemberType, AppRegistration, RedirectPlatform, RedirectUri, SignInAudience, Tenant, User,
};
use tokengate_core::directory_admin::{self as admin, NewApp};
use tokengate_core::grants::client_credentials::{self, ResourceParameter};
use tokengate_core::grants::grant_context::GrantContext;
use tokengate_core::grants::Issuer;
use tokengate_core::keys::{KeyEncryptionKey, KeyRing};
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;
use tokengate_store::SqliteStore;
use tower::ServiceExt;

use crate::authentication::{Authenticator, BuiltinKeys};
use crate::gateway::metrics::GatewayMetrics;
use crate::gateway::{ActivePolicy, GatewayState};
use crate::state::{now, IssuerParts, IssuerState};

pub const BASE_URL: &str = "https://issuer.test";
pub const API_URI: &str = "api://orders";
pub const USER_PASSWORD: &str = "correct horse battery staple 1";

pub struct TestDirectory {
    pub store: Arc<dyn Store>,
    pub ring: Arc<KeyRing>,
    pub kek: Arc<KeyEncryptionKey>,
    pub tenant: Tenant,
    /// The API (`api://orders`): scopes `Orders.Read`/`Orders.Write`, app role
    /// `Orders.Read.All` for applications.
    pub api: AppRegistration,
    /// A confidential client holding `Orders.Read.All`, with `secret`.
    pub client: AppRegistration,
    pub secret: String,
    /// A public client with a native redirect (`http://localhost`).
    pub public_client: AppRegistration,
    pub user: User,
    /// The audit writer, on the same store; its stop signal lives as long as the directory.
    pub audit: crate::audit_writer::AuditSink,
    _audit_stop: tokio::sync::watch::Sender<bool>,
}

pub async fn directory() -> TestDirectory {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let kek = Arc::new(KeyEncryptionKey::from_bytes(&[7u8; 32]).unwrap());
    let now = now();
    crate::signing_keys::ensure_keys(store.as_ref(), &kek, now).await.unwrap();
    let ring = Arc::new(crate::signing_keys::load_key_ring(store.as_ref(), &kek, now).await.unwrap());
    let s = store.as_ref();
    let tenant = admin::create_tenant(s, "Contoso", &["contoso.test".to_owned()], now).await.unwrap();
    let app = |name: &str, uris: Vec<String>, public: bool, redirects: Vec<RedirectUri>| NewApp {
        display_name: name.to_owned(),
        identifier_uris: uris,
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        is_public_client: public,
        redirect_uris: redirects,
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    let (api, _) =
        admin::create_app(s, tenant.id, app("Orders API", vec![API_URI.to_owned()], false, vec![]), now).await.unwrap();
    admin::add_scope(s, api.app_id, "Orders.Read", "Read orders", now).await.unwrap();
    admin::add_scope(s, api.app_id, "Orders.Write", "Write orders", now).await.unwrap();
    admin::add_app_role(s, api.app_id, "Orders.Read.All", "Read all", vec![AllowedMemberType::Application], now)
        .await
        .unwrap();
    let (client, _) = admin::create_app(s, tenant.id, app("Orders client", vec![], false, vec![]), now).await.unwrap();
    let secret = admin::create_secret(s, client.app_id, "test", 30, now).await.unwrap().value;
    admin::grant_app_role(s, tenant.id, client.app_id, api.app_id, "Orders.Read.All", now).await.unwrap();
    let native = RedirectUri { uri: "http://localhost".to_owned(), platform: RedirectPlatform::PublicClient };
    let (public_client, _) =
        admin::create_app(s, tenant.id, app("Orders CLI", vec![], true, vec![native]), now).await.unwrap();
    let user = admin::create_user(s, tenant.id, "ada@contoso.test", "Ada", USER_PASSWORD, now).await.unwrap();
    let api = store.app(api.app_id).await.unwrap().unwrap();
    let (audit_stop, stop_rx) = tokio::sync::watch::channel(false);
    let (audit, _writer) =
        crate::audit_writer::start(store.clone(), crate::audit_writer::AuditDurability::Buffered, stop_rx);
    TestDirectory { store, ring, kek, tenant, api, client, secret, public_client, user, audit, _audit_stop: audit_stop }
}

impl TestDirectory {
    pub fn issuer_state(&self) -> Arc<IssuerState> {
        Arc::new(IssuerState::new(IssuerParts {
            store: self.store.clone(),
            keys: self.ring.clone(),
            kek: self.kek.clone(),
            settings: TokenSettings::default(),
            base_url: BASE_URL.to_owned(),
            audit: self.audit.clone(),
            revocations: synced_revocations(),
            feed: crate::revocation_feed::FeedHandle::new(),
            client_failures_per_minute: crate::config::DEFAULT_CLIENT_FAILURES_PER_MINUTE,
            ip_failures_per_minute: crate::config::DEFAULT_IP_FAILURES_PER_MINUTE,
            device_code_starts: Default::default(),
        }))
    }

    /// An app-only token for `client`, minted by the client-credentials grant itself.
    pub async fn app_token(&self) -> String {
        self.app_token_for(&self.client, API_URI).await
    }

    /// An app-only token for `client` to the API `resource` (an App ID URI), with the app roles
    /// `client` was granted there.
    pub async fn app_token_for(&self, client: &AppRegistration, resource: &str) -> String {
        let settings = TokenSettings::default();
        let revocations = RevocationSet::default();
        let device_polls = tokengate_core::grants::device_poll_pace::DevicePollPace::default();
        let client = AuthenticatedClient { app: client.clone(), method: ClientAuthMethod::Secret, credential_id: None };
        let ctx = GrantContext {
            issuer: Issuer {
                store: self.store.as_ref(),
                keys: &self.ring,
                settings: &settings,
                base_url: BASE_URL,
                revocations: &revocations,
                device_polls: &device_polls,
            },
            tenant: &self.tenant,
            client: &client,
            origin: None,
            client_capabilities: None,
            now: now(),
            now_ms: now() * 1000,
        };
        let scope = format!("{resource}/.default");
        client_credentials::issue(&ctx, ResourceParameter::Scope(&scope)).await.unwrap().access_token
    }

    /// A confidential client app named `name` (no credentials needed in process).
    pub async fn new_client(&self, name: &str) -> AppRegistration {
        let app = NewApp {
            display_name: name.to_owned(),
            identifier_uris: vec![],
            sign_in_audience: SignInAudience::AzureADMyOrg,
            access_token_accepted_version: Some(2),
            is_public_client: false,
            redirect_uris: vec![],
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
        };
        admin::create_app(self.store.as_ref(), self.tenant.id, app, now()).await.unwrap().0
    }

    /// A gateway trusting the built-in issuer, with `routes` (TOML `[[route]]` tables) after
    /// an `[[issuer]]` named `tokengate`.
    pub fn gateway(&self, routes: &str) -> Arc<GatewayState> {
        let text = format!("[[issuer]]\nname = \"tokengate\"\nkind = \"builtin\"\n{routes}");
        let document = crate::gateway::policy_file::parse(&text, std::path::Path::new("gateway.toml")).unwrap();
        let builtin = BuiltinKeys { ring: self.ring.clone(), base_url: BASE_URL.to_owned() };
        let policy = ActivePolicy::build(&document, std::path::Path::new("."), Some(&builtin), None).unwrap();
        let metrics = Arc::new(GatewayMetrics::new());
        Arc::new(GatewayState {
            policy: ArcSwap::from_pointee(policy),
            policy_path: None,
            policy_base_dir: std::path::PathBuf::from("."),
            builtin_keys: Some(builtin),
            auth: Authenticator::new(1000, synced_revocations(), metrics.key_refetches.clone()),
            audit: self.audit.clone(),
            metrics,
            scheme: "http",
            log_denials: false,
            decision_records: crate::gateway::gateway_state::DecisionRecords::All,
        })
    }
}

/// An empty revocation set that has just read the (empty) feed in full, as a started node's has.
pub fn synced_revocations() -> Arc<RevocationSet> {
    let set = Arc::new(RevocationSet::default());
    set.resync(&[], 0, crate::state::now_ms());
    set
}

/// Sends one request through a router in process.
pub async fn send(router: axum::Router, request: Request<Body>) -> Response<Body> {
    router.oneshot(request).await.unwrap()
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}
