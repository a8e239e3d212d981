//! Listeners: HTTPS (rustls, HTTP/1.1 + HTTP/2 by ALPN) or plain HTTP serving an axum router,
//! with graceful shutdown (stop accepting, let in-flight requests finish within a drain window),
//! and the limits of `listener_limits` against slow clients and connection floods.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::client_address::PeerAddr;
use crate::connection_caps::ConnectionCaps;
use crate::idle_connection::{Activity, TrackedIo};
use crate::listener_limits::ListenerLimits;
use crate::listener_metrics::ListenerMetrics;

/// Drain window after shutdown is signalled.
const DRAIN: Duration = Duration::from_secs(10);
/// A TLS handshake that has not finished by then is dropped (slowloris).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn tls_config(cert_pem_path: &Path, key_pem_path: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let cert_pem = std::fs::read(cert_pem_path).map_err(|e| format!("{}: {e}", cert_pem_path.display()))?;
    let key_pem = std::fs::read(key_pem_path).map_err(|e| format!("{}: {e}", key_pem_path.display()))?;
    tls_config_from_pem(&cert_pem, &key_pem)
}

pub fn tls_config_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate PEM: {e}"))?;
    if certs.is_empty() {
        return Err("certificate PEM holds no certificate".into());
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| format!("private key PEM: {e}"))?
        .ok_or("private key PEM holds no private key")?;
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("certificate and key do not fit together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One listener's name (metrics label), limits and the metrics it reports to.
#[derive(Clone)]
pub struct ListenerSetup {
    pub name: &'static str,
    pub limits: ListenerLimits,
    pub metrics: Arc<ListenerMetrics>,
}

impl ListenerSetup {
    /// The listener's connection caps: one set however many sockets accept for it.
    pub fn caps(&self) -> Arc<ConnectionCaps> {
        ConnectionCaps::new(
            self.name,
            self.limits.max_connections_per_ip,
            self.limits.max_connections,
            self.metrics.clone(),
        )
    }
}

/// Serves `router` on `listener` until `shutdown` flips to true, then drains.
pub fn spawn(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    setup: ListenerSetup,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let caps = setup.caps();
    tokio::spawn(serve(listener, router, tls.map(TlsAcceptor::from), setup, caps, shutdown))
}

/// The accept loop of one socket, on the runtime that polls it: each connection is served by a
/// task of that runtime. Several sockets of one listener (`per_core_listeners`) share `caps`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    setup: ListenerSetup,
    caps: Arc<ConnectionCaps>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(setup.limits.builder());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over a cap: closed at once (dropping the stream), before any TLS work.
        let Ok(slot) = caps.admit(peer.ip()) else {
            tracing::debug!(%peer, listener = setup.name, "connection refused: connection cap reached");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let service = service_for(router.clone(), peer, activity.clone());
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let setup = setup.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let stream = TrackedIo::new(stream, activity.clone());
            let (header_timeout, idle) = (setup.limits.header_read_timeout(), setup.limits.idle_timeout());
            let served = match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            setup.metrics.timed_out(setup.name, "tls_handshake");
                            return;
                        }
                    };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    tokio::select! {
                        served = watcher.watch(conn.into_owned()) => Ok(served),
                        expiry = activity.expired(header_timeout, idle) => Err(expiry),
                    }
                }
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    tokio::select! {
                        served = watcher.watch(conn.into_owned()) => Ok(served),
                        expiry = activity.expired(header_timeout, idle) => Err(expiry),
                    }
                }
            };
            match served {
                Err(expiry) => setup.metrics.timed_out(setup.name, expiry.reason()),
                Ok(Err(e)) if is_header_timeout(e.as_ref()) => setup.metrics.timed_out(setup.name, "header_read"),
                Ok(_) => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("drain window elapsed with connections still open");
    }
}

/// hyper's header-read timeout, wherever it sits in the error chain.
fn is_header_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        if err.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_timeout) {
            return true;
        }
        source = err.source();
    }
    false
}

fn service_for(
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
) -> TowerToHyperService<
    impl tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    let svc = router
        .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(PeerAddr(peer));
            req.map(axum::body::Body::new)
        })
        // The request counts as in flight until its response body is done (idle timeout).
        .map_future(move |response| {
            let in_flight = activity.request_started();
            async move {
                let response: axum::response::Response = response.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| {
                    axum::body::Body::new(body.map_frame(move |frame| {
                        let _still_in_flight = &in_flight;
                        frame
                    }))
                }))
            }
        });
    TowerToHyperService::new(svc)
}
