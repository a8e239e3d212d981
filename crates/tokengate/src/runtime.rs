//! Starting and stopping the listeners one process runs, shared by `dev` and `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use tokengate_store::ReadCachedStore;

use crate::admin::{self, AdminState};
use crate::authentication::{Authenticator, BuiltinKeys};
use crate::gateway::metrics::GatewayMetrics;
use crate::gateway::policy_file::PolicyDocument;
use crate::gateway::{self, ActivePolicy, GatewayState};
use crate::listener_limits::ListenerLimits;
use crate::listener_metrics::ListenerMetrics;
use crate::server::ListenerSetup;
use crate::state::{IssuerParts, IssuerState};
use crate::{audit_writer, issuer, revocation_feed, server, signing_keys};

/// How long the issuer may serve a directory read (app, credential, grant) from memory.
pub const DIRECTORY_CACHE_TTL: Duration = Duration::from_secs(1);

pub struct RuntimeOptions {
    pub store: Arc<dyn Store>,
    pub kek: Arc<KeyEncryptionKey>,
    pub settings: TokenSettings,
    pub issuer_listen: SocketAddr,
    /// Base URL clients use; `None` derives `https://{listen ip}:{bound port}`.
    pub issuer_public_url: Option<String>,
    pub tls: Arc<rustls::ServerConfig>,
    pub admin_listen: Option<SocketAddr>,
    pub client_failures_per_minute: u32,
    pub ip_failures_per_minute: u32,
    pub key_reload: Duration,
    pub gateway: Option<GatewayOptions>,
    /// Audit records older than this are deleted.
    pub audit_retention: Duration,
    /// Timeouts, buffer sizes and connection caps of every listener.
    pub listener_limits: ListenerLimits,
}

/// The gateway listener and its policy.
pub struct GatewayOptions {
    pub listen: SocketAddr,
    pub policy: PolicyDocument,
    /// Watched for changes (hot reload) when given.
    pub policy_path: Option<PathBuf>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

pub struct Running {
    pub issuer_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub gateway_addr: Option<SocketAddr>,
    pub base_url: String,
    shutdown: watch::Sender<bool>,
    listeners: Vec<JoinHandle<()>>,
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
}

pub async fn start(opts: RuntimeOptions) -> Result<Running, StartError> {
    let now = crate::state::now();
    signing_keys::ensure_keys(opts.store.as_ref(), &opts.kek, now).await?;
    let ring = Arc::new(signing_keys::load_key_ring(opts.store.as_ref(), &opts.kek, now).await?);

    let issuer_listener = TcpListener::bind(opts.issuer_listen)
        .await
        .map_err(|source| StartError::Bind { addr: opts.issuer_listen, source })?;
    let issuer_addr =
        issuer_listener.local_addr().map_err(|source| StartError::Bind { addr: opts.issuer_listen, source })?;
    let base_url = opts
        .issuer_public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("https://{}", issuer_addr));

    let (shutdown, shutdown_rx) = watch::channel(false);
    // The audit writer stops on its own signal, sent after the listeners have drained, so that
    // records of the last requests are still written.
    let (audit_stop, audit_stop_rx) = watch::channel(false);
    let (audit, audit_writer) = audit_writer::start(opts.store.clone(), audit_stop_rx);
    // The token endpoint reads through a short-lived cache; changes made elsewhere (CLI, other
    // nodes) show within DIRECTORY_CACHE_TTL.
    let hot_store: Arc<dyn Store> = Arc::new(ReadCachedStore::new(opts.store.clone(), DIRECTORY_CACHE_TTL));
    // One revocation set for the issuer's own checks and the gateway, fed from the store.
    let revocations = Arc::new(RevocationSet::default());
    let state = Arc::new(IssuerState::new(IssuerParts {
        store: hot_store,
        keys: ring.clone(),
        kek: opts.kek.clone(),
        settings: opts.settings,
        base_url: base_url.clone(),
        audit: audit.clone(),
        revocations: revocations.clone(),
        client_failures_per_minute: opts.client_failures_per_minute,
        ip_failures_per_minute: opts.ip_failures_per_minute,
    }));
    let listener_metrics = Arc::new(ListenerMetrics::new());
    let setup = |name: &'static str| ListenerSetup {
        name,
        limits: opts.listener_limits.clone(),
        metrics: listener_metrics.clone(),
    };
    let mut listeners = vec![server::spawn(
        issuer_listener,
        issuer::router(state.clone()),
        Some(opts.tls.clone()),
        setup("issuer"),
        shutdown_rx.clone(),
    )];

    // Key-ring generations announced by the key watcher; the gateway follows them at once.
    let (key_changes, key_changes_rx) = watch::channel(ring.current().generation);
    let mut gateway_addr = None;
    let mut gateway_state = None;
    if let Some(g) = opts.gateway {
        let builtin = BuiltinKeys { ring: ring.clone(), base_url: base_url.clone() };
        let base_dir = g.policy_path.as_ref().and_then(|p| p.parent().map(|d| d.to_path_buf())).unwrap_or_default();
        let policy = ActivePolicy::build(&g.policy, &base_dir, Some(&builtin), None).map_err(StartError::Gateway)?;
        let cache_capacity = g.policy.settings.verified_cache_entries;
        let metrics = Arc::new(GatewayMetrics::new());
        let state = Arc::new(GatewayState {
            policy: ArcSwap::from_pointee(policy),
            policy_path: g.policy_path,
            builtin_keys: Some(builtin),
            auth: Authenticator::new(cache_capacity, revocations.clone(), metrics.key_refetches.clone()),
            audit: audit.clone(),
            metrics,
            scheme: if g.tls.is_some() { "https" } else { "http" },
        });
        let listener =
            TcpListener::bind(g.listen).await.map_err(|source| StartError::Bind { addr: g.listen, source })?;
        gateway_addr = Some(listener.local_addr().map_err(|source| StartError::Bind { addr: g.listen, source })?);
        listeners.push(server::spawn(
            listener,
            gateway::router(state.clone()),
            g.tls,
            setup("gateway"),
            shutdown_rx.clone(),
        ));
        listeners.push(gateway::hot_reload::spawn(state.clone(), shutdown_rx.clone()));
        listeners.push(spawn_cache_sweeper(state.clone(), shutdown_rx.clone()));
        listeners.push(gateway::key_changes::spawn(state.clone(), key_changes_rx, shutdown_rx.clone()));
        gateway_state = Some(state);
    }

    let mut admin_addr = None;
    if let Some(addr) = opts.admin_listen {
        let listener = TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
        admin_addr = Some(listener.local_addr().map_err(|source| StartError::Bind { addr, source })?);
        let admin = admin::router(AdminState {
            stopping: shutdown_rx.clone(),
            gateway: gateway_state.clone(),
            listeners: listener_metrics.clone(),
        });
        listeners.push(server::spawn(listener, admin, None, setup("admin"), shutdown_rx.clone()));
    }
    listeners.push(revocation_feed::spawn(opts.store.clone(), revocations, shutdown_rx.clone()));
    listeners.push(audit_writer::spawn_retention(opts.store.clone(), opts.audit_retention, shutdown_rx.clone()));
    listeners.push(signing_keys::spawn_reloader(
        opts.store.clone(),
        opts.kek.clone(),
        ring,
        opts.key_reload,
        key_changes,
        shutdown_rx,
    ));
    Ok(Running { issuer_addr, admin_addr, gateway_addr, base_url, shutdown, listeners, audit_stop, audit_writer })
}

impl Running {
    /// Stops accepting, drains in-flight requests, then flushes the audit queue.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for handle in self.listeners {
            let _ = handle.await;
        }
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
            let remaining = state.auth.cache.sweep(crate::state::now(), skew);
            state.metrics.verified_cache_entries.set(remaining as i64);
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
