//! Starting and stopping the roles one process runs, shared by `dev` and `serve`: the issuer, the
//! gateway and the admin listener, each only when configured. Every node follows the revocation
//! feed and heartbeats into the store; a gateway-only node verifies the built-in issuer's tokens
//! with the public keys in the shared store and never holds private keys.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::keys::{KeyEncryptionKey, PublicKeyRing, PublishedKeys};
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use tokengate_store::ReadCachedStore;

use crate::admin::api::admin_api_state::{find_admin_app, DEFAULT_ADMIN_API_URI};
use crate::admin::api::AdminApiState;
use crate::admin::{self, AdminState};
use crate::authentication::{Authenticator, BuiltinKeys};
use crate::dashboard::{self, DashboardOptions, DashboardParts, DashboardState};
use crate::gateway::metrics::GatewayMetrics;
use crate::gateway::policy_file::{self, PolicyDocument, PolicyFile};
use crate::gateway::policy_follower::PolicyFollower;
use crate::gateway::{self, ActivePolicy, GatewayState};
use crate::listener_limits::ListenerLimits;
use crate::listener_metrics::ListenerMetrics;
use crate::per_core_listeners::{self, PerCoreSockets};
use crate::policy_publishing::{import_policy_file, Published};
use crate::revocation_feed::feed_metrics::FeedMetrics;
use crate::revocation_feed::node_heartbeat::{self, NodeIdentity, NodeStatus};
use crate::revocation_feed::{FeedHandle, FeedLoop};
use crate::server::ListenerSetup;
use crate::signing_keys::{KeyFollower, ReloadedKeys};
use crate::state::{IssuerParts, IssuerState};
use crate::{audit_writer, issuer, server, signing_keys};

/// How long the issuer may serve a directory read (app, credential, grant) from memory.
pub const DIRECTORY_CACHE_TTL: Duration = Duration::from_secs(1);
/// How long a start waits for the first full read of the revocation feed before listening
/// anyway (protected routes answer 503 until it succeeds).
const FIRST_SYNC_WAIT: Duration = Duration::from_secs(5);

pub struct RuntimeOptions {
    pub store: Arc<dyn Store>,
    pub issuer: Option<IssuerOptions>,
    pub gateway: Option<GatewayOptions>,
    pub admin_listen: Option<SocketAddr>,
    /// The admin API app's identifier URI (`None`: `api://tokengate-admin`).
    pub admin_api_uri: Option<String>,
    /// The dashboard on the admin listener (`None`: its pages say how to set it up).
    pub dashboard: Option<DashboardOptions>,
    /// Audit records older than this are deleted.
    pub audit_retention: Duration,
    /// Whether an answer waits for its audit record's commit (`[audit] durability`).
    pub audit_durability: audit_writer::AuditDurability,
    /// Timeouts, buffer sizes and connection caps of every listener.
    pub listener_limits: ListenerLimits,
}

/// The issuer role: it holds the private signing keys.
pub struct IssuerOptions {
    pub kek: Arc<KeyEncryptionKey>,
    pub settings: TokenSettings,
    pub listen: SocketAddr,
    /// Base URL clients use; `None` derives `https://{listen ip}:{bound port}`.
    pub public_url: Option<String>,
    pub tls: Arc<rustls::ServerConfig>,
    pub client_failures_per_minute: u32,
    pub ip_failures_per_minute: u32,
    pub device_code_starts: crate::config::DeviceCodeStartBudget,
    pub key_reload: Duration,
}

/// The gateway listener and its policy.
pub struct GatewayOptions {
    pub listen: SocketAddr,
    /// The node's policy file: published as a new version when it differs from the last version
    /// published from it, and watched. Without it the node runs what the store has published.
    pub policy_file: Option<PolicyFile>,
    /// Where relative paths in published policies (`ca_file`) resolve on this node.
    pub base_dir: PathBuf,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The built-in issuer's base URL, on a node that does not run the issuer itself.
    pub builtin_issuer_url: Option<String>,
    pub log_denials: bool,
    /// Which decisions get an audit record.
    pub decision_records: gateway::gateway_state::DecisionRecords,
    /// Listener threads, each with its own runtime and socket (`per_core_listeners`); 0 serves
    /// the gateway on the shared runtime.
    pub threads: usize,
}

pub struct Running {
    pub issuer_addr: Option<SocketAddr>,
    pub admin_addr: Option<SocketAddr>,
    pub gateway_addr: Option<SocketAddr>,
    /// The built-in issuer's base URL, when this node runs it or trusts it.
    pub base_url: Option<String>,
    pub node: NodeIdentity,
    shutdown: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
    /// Stopped after the listeners: the last heartbeat says the node is gone.
    heartbeat: JoinHandle<()>,
    audit_stop: watch::Sender<bool>,
    audit_writer: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("signing keys: {0}")]
    Keys(#[from] signing_keys::KeyServiceError),
    #[error("gateway policy:\n  - {}", .0.join("\n  - "))]
    Gateway(Vec<String>),
    #[error("nothing to run: configure at least one of [issuer], [gateway], [admin]")]
    NoRole,
    #[error("cannot start the gateway's listener threads: {0}")]
    Threads(std::io::Error),
}

/// What the heartbeat reports of this node.
struct Status {
    gateway: Option<Arc<GatewayState>>,
    revocations: Arc<RevocationSet>,
    stopping: watch::Receiver<bool>,
}

impl NodeStatus for Status {
    fn applied_policy_version(&self) -> Option<String> {
        self.gateway.as_ref().map(|g| g.policy.load().version.to_string())
    }

    fn ready(&self) -> bool {
        !*self.stopping.borrow() && self.gateway.as_ref().is_none_or(|g| g.ready(&self.revocations))
    }
}

/// The policy a gateway node starts with: its policy file first published if it changed since it
/// was last published from there, then whatever version is published. With nothing published
/// and no file, no route matches (404) until a version is published.
async fn starting_policy(
    store: &dyn Store,
    g: &GatewayOptions,
    builtin: Option<&BuiltinKeys>,
    node: &str,
) -> Result<(ActivePolicy, Option<PathBuf>), StartError> {
    let gateway_error = |e: &dyn std::fmt::Display| StartError::Gateway(vec![e.to_string()]);
    if let Some(file) = &g.policy_file {
        match import_policy_file(store, file, node, crate::state::now()).await {
            Ok(Some(Published::New(v))) => {
                tracing::info!(file = %file.path.display(), version = v.version, "gateway policy file published")
            }
            Ok(_) => {}
            Err(e) => return Err(gateway_error(&e)),
        }
    }
    let published = store.published_policy_version().await.map_err(|e| gateway_error(&e))?;
    let stored = match published {
        Some(v) => store.policy_version(v).await.map_err(|e| gateway_error(&e))?,
        None => None,
    };
    let policy = match stored {
        Some(version) => {
            if let Some(file) = g.policy_file.as_ref().filter(|f| f.document != version.document) {
                tracing::warn!(
                    file = %file.path.display(),
                    version = version.summary.version,
                    by = %version.summary.author,
                    "the published policy differs from this node's policy file, which has not changed since it was \
                     last published: the published version runs (edit the file, or `tokengate policy apply`, to change it)"
                );
            }
            let problems = policy_file::validate(&version.document, &g.base_dir);
            if !problems.is_empty() {
                return Err(StartError::Gateway(
                    problems
                        .into_iter()
                        .map(|p| format!("published version {}: {p}", version.summary.version))
                        .collect(),
                ));
            }
            gateway::policy_warnings::log(&version.document, Some(store)).await;
            ActivePolicy::build(&version.document, &g.base_dir, builtin, None)
                .map_err(StartError::Gateway)?
                .published_as(version.summary.version)
        }
        None => {
            tracing::warn!("no gateway policy is published yet: every request answers 404 until one is (`tokengate policy apply -f routes.toml`, or [gateway] policy_file)");
            ActivePolicy::build(&PolicyDocument::default(), &g.base_dir, builtin, None).map_err(StartError::Gateway)?
        }
    };
    Ok((policy, g.policy_file.as_ref().map(|f| f.path.clone())))
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
    Ok((listener, bound))
}

pub async fn start(opts: RuntimeOptions) -> Result<Running, StartError> {
    let mut roles = Vec::new();
    if opts.issuer.is_some() {
        roles.push("issuer");
    }
    if opts.gateway.is_some() {
        roles.push("gateway");
    }
    if opts.admin_listen.is_some() {
        roles.push("admin");
    }
    if roles.is_empty() {
        return Err(StartError::NoRole);
    }
    let node = NodeIdentity::new(&roles);
    let now = crate::state::now();

    let (shutdown, shutdown_rx) = watch::channel(false);
    // The audit writer stops on its own signal, sent after the listeners have drained, so that
    // records of the last requests are still written.
    let (audit_stop, audit_stop_rx) = watch::channel(false);
    let (audit, audit_writer) = audit_writer::start(opts.store.clone(), opts.audit_durability, audit_stop_rx);
    let listener_metrics = Arc::new(ListenerMetrics::new());
    let setup = |name: &'static str| ListenerSetup {
        name,
        limits: opts.listener_limits.clone(),
        metrics: listener_metrics.clone(),
    };

    // The signing keys this node verifies with (and, on the issuer, signs with): the issuer's own
    // ring, or a gateway-only node's public keys from the store. The feed keeps them current.
    let mut issuer_ring = None;
    let issuer_kek = opts.issuer.as_ref().map(|i| i.kek.clone());
    let (published, reloaded): (Arc<dyn PublishedKeys>, ReloadedKeys) = match &opts.issuer {
        Some(i) => {
            signing_keys::ensure_keys(opts.store.as_ref(), &i.kek, now).await?;
            let ring = Arc::new(signing_keys::load_key_ring(opts.store.as_ref(), &i.kek, now).await?);
            issuer_ring = Some(ring.clone());
            (ring.clone(), ReloadedKeys::Private { kek: i.kek.clone(), ring })
        }
        None => {
            let ring = Arc::new(PublicKeyRing::new(signing_keys::load_public_keys(opts.store.as_ref(), now).await?));
            (ring.clone(), ReloadedKeys::Public { ring })
        }
    };
    let key_follower = KeyFollower::new(opts.store.clone(), reloaded);
    let key_sweep =
        opts.issuer.as_ref().map_or(Duration::from_secs(crate::config::DEFAULT_KEY_SWEEP_SECONDS), |i| i.key_reload);

    // The feed: one revocation set for the issuer's own checks and the gateway. A node never
    // serves a protected route before its first full read (see `FIRST_SYNC_WAIT`).
    let revocations = Arc::new(RevocationSet::default());
    let feed = FeedHandle::new();
    let feed_metrics = Arc::new(FeedMetrics::default());
    let feed_loop = FeedLoop {
        store: opts.store.clone(),
        revocations: revocations.clone(),
        handle: feed.clone(),
        metrics: feed_metrics.clone(),
        keys: key_follower.clone(),
    };
    if tokio::time::timeout(FIRST_SYNC_WAIT, feed_loop.resync()).await.map_or(true, |r| r.is_err()) {
        tracing::warn!("the revocation feed could not be read yet; protected routes answer 503 until it can");
    }
    let mut listeners = vec![feed_loop.spawn(shutdown_rx.clone())];
    listeners.push(signing_keys::spawn_reloader(key_follower.clone(), key_sweep, shutdown_rx.clone()));

    let mut issuer_addr = None;
    let mut issuer_metrics = None;
    let mut base_url = None;
    let mut issuer_router = None;
    if let (Some(i), Some(ring)) = (opts.issuer, issuer_ring) {
        let (listener, addr) = bind(i.listen).await?;
        let url = i
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("https://{addr}"));
        // The token endpoint reads through a short-lived cache; changes made elsewhere (CLI,
        // other nodes) show within DIRECTORY_CACHE_TTL.
        let hot_store: Arc<dyn Store> = Arc::new(ReadCachedStore::new(opts.store.clone(), DIRECTORY_CACHE_TTL));
        let state = Arc::new(IssuerState::new(IssuerParts {
            store: hot_store,
            keys: ring,
            kek: i.kek.clone(),
            settings: i.settings,
            base_url: url.clone(),
            audit: audit.clone(),
            revocations: revocations.clone(),
            feed: feed.clone(),
            client_failures_per_minute: i.client_failures_per_minute,
            ip_failures_per_minute: i.ip_failures_per_minute,
            device_code_starts: i.device_code_starts,
        }));
        issuer_metrics = Some(state.metrics.clone());
        let router = issuer::router(state);
        issuer_router = Some(router.clone());
        listeners.push(server::spawn(listener, router, Some(i.tls.clone()), setup("issuer"), shutdown_rx.clone()));
        issuer_addr = Some(addr);
        listeners.push(crate::audit_checkpoints::spawn(opts.store.clone(), &i.kek, shutdown_rx.clone()));
        base_url = Some(url);
    }

    let mut gateway_addr = None;
    let mut gateway_state = None;
    if let Some(g) = opts.gateway {
        if base_url.is_none() {
            // Gateway-only: the built-in issuer is trusted at the URL the config names.
            base_url = g.builtin_issuer_url.clone().map(|u| u.trim_end_matches('/').to_owned());
        }
        let builtin = base_url.as_ref().map(|url| BuiltinKeys { ring: published.clone(), base_url: url.clone() });
        let (policy, policy_path) = starting_policy(opts.store.as_ref(), &g, builtin.as_ref(), &node.name).await?;
        let cache_capacity = policy.settings.verified_cache_entries;
        let metrics = Arc::new(GatewayMetrics::new());
        metrics.verified_cache_capacity.set(cache_capacity as i64);
        let state = Arc::new(GatewayState {
            policy: ArcSwap::from_pointee(policy),
            policy_path,
            policy_base_dir: g.base_dir.clone(),
            builtin_keys: builtin,
            auth: Authenticator::new(cache_capacity, revocations.clone(), metrics.key_refetches.clone()),
            audit: audit.clone(),
            metrics,
            scheme: if g.tls.is_some() { "https" } else { "http" },
            log_denials: g.log_denials,
            decision_records: g.decision_records,
        });
        let router = gateway::router(state.clone());
        if g.threads == 0 {
            let (listener, addr) = bind(g.listen).await?;
            gateway_addr = Some(addr);
            listeners.push(server::spawn(listener, router, g.tls, setup("gateway"), shutdown_rx.clone()));
        } else {
            let addr = g.listen;
            let sockets = PerCoreSockets::bind(addr, g.threads).map_err(|source| StartError::Bind { addr, source })?;
            gateway_addr = Some(sockets.local_addr());
            let serving = per_core_listeners::spawn(sockets, router, g.tls, setup("gateway"), shutdown_rx.clone())
                .map_err(StartError::Threads)?;
            listeners.push(serving);
        }
        let follower = PolicyFollower::new(opts.store.clone(), state.clone());
        listeners.push(follower.clone().spawn(feed.subscribe(), shutdown_rx.clone()));
        listeners.push(gateway::hot_reload::spawn(follower, node.name.clone(), shutdown_rx.clone()));
        listeners.push(spawn_cache_sweeper(state.clone(), shutdown_rx.clone()));
        listeners.push(gateway::key_changes::spawn(state.clone(), key_follower.changes(), shutdown_rx.clone()));
        gateway_state = Some(state);
    }

    let mut admin_addr = None;
    if let Some(addr) = opts.admin_listen {
        let uri = opts.admin_api_uri.clone().unwrap_or_else(|| DEFAULT_ADMIN_API_URI.to_owned());
        let admin_app = find_admin_app(opts.store.as_ref(), &uri).await;
        let api = match (&base_url, &admin_app) {
            (Some(url), Some(app)) => {
                let builtin = BuiltinKeys { ring: published.clone(), base_url: url.clone() };
                AdminApiState::new(opts.store.clone(), &builtin, app, revocations.clone(), feed.clone(), issuer_kek.clone(), gateway_state.clone())
                    .map(|api| Arc::new(api.with_stop_signal(shutdown_rx.clone())))
                    .map_err(|problems| format!("admin API: {}", problems.join("; ")))
            }
            (None, _) => Err("the admin API needs the built-in issuer: run [issuer] on this node or set [gateway] builtin_issuer_url".to_owned()),
            (_, None) => Err(format!("the admin API app {uri} is not in the store: register it (tokengate dev does) or set [admin] api_identifier_uri")),
        };
        if let Err(reason) = &api {
            tracing::warn!("{reason}");
        }
        let (listener, bound) = bind(addr).await?;
        admin_addr = Some(bound);
        let admin_state = AdminState {
            stopping: shutdown_rx.clone(),
            gateway: gateway_state.clone(),
            listeners: listener_metrics.clone(),
            revocations: revocations.clone(),
            feed_metrics: feed_metrics.clone(),
            issuer_metrics,
            audit: audit.clone(),
            api,
        };
        let api_router = admin::api_router(&admin_state);
        let dashboard = dashboard_router(DashboardSetup {
            options: opts.dashboard.clone(),
            api_ready: admin_state.api.as_ref().map(|_| ()).map_err(Clone::clone),
            api: api_router.clone(),
            issuer: issuer_router.clone(),
            issuer_url: base_url.clone(),
            admin_app: admin_app.as_ref(),
            admin_api_uri: &uri,
            bound,
        });
        let admin = admin::router(admin_state, api_router, dashboard);
        listeners.push(server::spawn(listener, admin, None, setup("admin"), shutdown_rx.clone()));
    }
    listeners.push(audit_writer::spawn_retention(opts.store.clone(), opts.audit_retention, shutdown_rx.clone()));
    listeners.push(spawn_revocation_forgetter(opts.store.clone(), shutdown_rx.clone()));
    let status =
        Arc::new(Status { gateway: gateway_state, revocations: revocations.clone(), stopping: shutdown_rx.clone() });
    let heartbeat = node_heartbeat::spawn(opts.store.clone(), node.clone(), revocations, feed, status, shutdown_rx);
    Ok(Running {
        issuer_addr,
        admin_addr,
        gateway_addr,
        base_url,
        node,
        shutdown,
        listeners,
        heartbeat,
        audit_stop,
        audit_writer,
    })
}

/// What the dashboard is built from on a node with an admin listener.
struct DashboardSetup<'a> {
    options: Option<DashboardOptions>,
    /// Whether the admin API runs here (and why not).
    api_ready: Result<(), String>,
    api: axum::Router,
    issuer: Option<axum::Router>,
    issuer_url: Option<String>,
    admin_app: Option<&'a tokengate_core::directory::AppRegistration>,
    admin_api_uri: &'a str,
    bound: SocketAddr,
}

/// The dashboard's routes, or pages saying why it cannot run on this node.
fn dashboard_router(setup: DashboardSetup<'_>) -> axum::Router {
    let plan = (|| {
        setup.api_ready.clone()?;
        let options = setup.options.ok_or(
            "the dashboard is not configured on this node: register a public client app with the redirect URI \
             http://127.0.0.1/dashboard/callback and the admin API's user_impersonation permission, then set \
             [admin] dashboard_client_id (tokengate dev does all of this)",
        )?;
        let (Some(issuer), Some(issuer_url)) = (setup.issuer, setup.issuer_url) else {
            return Err(
                "the dashboard signs people in through the built-in issuer on the same node: run [issuer] here"
                    .to_owned(),
            );
        };
        let app = setup.admin_app.ok_or("the admin API app is not in the store")?;
        let public_url = match options.public_url {
            Some(url) => url,
            // Browsers cannot go to 0.0.0.0: only the operator knows the name they use.
            None if setup.bound.ip().is_unspecified() => {
                return Err("the admin listener listens on every address: set [admin] dashboard_url to the URL \
                            browsers use for it (e.g. https://admin.example.com)"
                    .to_owned())
            }
            None => format!("http://{}", setup.bound),
        };
        Ok(DashboardState::new(DashboardParts {
            api: setup.api,
            issuer,
            issuer_url,
            tenant_id: app.tenant_id,
            client_id: options.client_id,
            admin_api_uri: setup.admin_api_uri.to_owned(),
            public_url,
        }))
    })();
    match plan {
        Ok(state) => dashboard::router(Arc::new(state)),
        Err(reason) => {
            tracing::info!("dashboard: {reason}");
            dashboard::unavailable_router(reason)
        }
    }
}

impl Running {
    /// Stops accepting, drains in-flight requests, then flushes the audit queue.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for handle in self.listeners {
            let _ = handle.await;
        }
        let _ = self.heartbeat.await;
        let _ = self.audit_stop.send(true);
        if tokio::time::timeout(Duration::from_secs(30), self.audit_writer).await.is_err() {
            tracing::error!("audit writer did not finish within 30 s");
        }
    }
}

/// Drops expired tokens from the verified-token cache every 30 s.
fn spawn_cache_sweeper(state: Arc<GatewayState>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if !crate::periodic::sleep_or_stop(Duration::from_secs(30), &mut shutdown).await {
                return;
            }
            let skew = state.policy.load().settings.clock_skew;
            // `/metrics` reads the cache's fill at each scrape (`admin::metrics`).
            state.auth.cache.sweep(crate::state::now(), skew);
        }
    })
}

/// Deletes revocations whose tokens have all expired, hourly (any node may; it is idempotent).
fn spawn_revocation_forgetter(store: Arc<dyn Store>, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if !crate::periodic::sleep_or_stop(Duration::from_secs(3600), &mut shutdown).await {
                return;
            }
            match store.forget_revocations(crate::state::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(forgotten = n, "revocations past every covered token's expiry deleted"),
                Err(e) => tracing::warn!(error = %e, "could not delete expired revocations"),
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
