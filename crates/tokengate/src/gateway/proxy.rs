//! Forwarding to upstreams over pooled connections: HTTP/1.1 and HTTP/2 (TLS by ALPN, or h2c),
//! bodies streamed both ways, WebSocket upgrades spliced (until the opening token expires or is
//! revoked). Upstream failures are the upstream's: refused or reset → 502, timed out → 504 —
//! never 401. A forward that failed because the client's own body broke off is the client's:
//! 400, never counted against the upstream.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::forwarding_headers::remove_hop_by_hop;
use super::tunnel::TunnelLimit;

/// One connection pool per per-core listener thread (`per_core_listeners`): a request and the
/// upstream connection task that carries it run on the same thread, so forwarding wakes no other
/// thread. With more listener threads than cores, threads share pools round-robin.
pub struct UpstreamClients {
    pools: Box<[UpstreamPool]>,
    timeout: Duration,
}

struct UpstreamPool {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>,
    h2c: Client<HttpConnector, Body>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// Refused, reset, TLS or protocol failure (502).
    Unavailable,
    /// No response within the timeout (504).
    TimedOut,
    /// The client's request body was malformed or cut short (400: the client's fault).
    ClientBody,
}

impl UpstreamFailure {
    /// Whether the client, not the upstream, caused it (audit `denied`, not `error`).
    pub fn is_client_error(self) -> bool {
        self == UpstreamFailure::ClientBody
    }

    pub fn code(self) -> &'static str {
        match self {
            UpstreamFailure::Unavailable => "upstream_unavailable",
            UpstreamFailure::TimedOut => "upstream_timeout",
            UpstreamFailure::ClientBody => "client_body_invalid",
        }
    }
}

impl UpstreamClients {
    pub fn new(connect_timeout: Duration, timeout: Duration) -> Result<UpstreamClients, String> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(false);
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector.clone());
        let pools = (0..crate::per_core_listeners::default_threads())
            .map(|_| UpstreamPool {
                http: Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(90))
                    .build(https.clone()),
                h2c: Client::builder(TokioExecutor::new()).http2_only(true).build(connector.clone()),
            })
            .collect();
        Ok(UpstreamClients { pools, timeout })
    }

    /// This thread's pool.
    fn pool(&self) -> &UpstreamPool {
        &self.pools[crate::per_core_listeners::current_core() % self.pools.len()]
    }

    /// Sends `request` (headers already rewritten; an `Upgrade` left in it is a screened
    /// WebSocket handshake) to `base` + its path and query. A tunnel lives within `limit`.
    pub async fn forward(
        &self,
        base: &str,
        http2_only: bool,
        mut request: Request<Body>,
        limit: TunnelLimit,
    ) -> Result<Response<Body>, UpstreamFailure> {
        let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let uri: Uri = format!("{base}{path_and_query}").parse().map_err(|_| UpstreamFailure::Unavailable)?;
        *request.uri_mut() = uri;
        // The client sets Host (HTTP/1.1) or :authority (HTTP/2) from the upstream URI.
        request.headers_mut().remove(header::HOST);
        let (parts, body) = request.into_parts();
        let (body, client_body) = super::client_body::watch(body);
        let mut request = Request::from_parts(parts, body);
        let wants_upgrade = is_upgrade(request.headers());
        let client_upgrade = wants_upgrade.then(|| hyper::upgrade::on(&mut request));
        if http2_only {
            *request.version_mut() = axum::http::Version::HTTP_2;
        } else {
            *request.version_mut() = axum::http::Version::HTTP_11;
        }

        let pool = self.pool();
        let sent = if http2_only { pool.h2c.request(request) } else { pool.http.request(request) };
        let mut response = match tokio::time::timeout(self.timeout, sent).await {
            Err(_) => return Err(UpstreamFailure::TimedOut),
            Ok(Err(_)) if client_body.happened() => return Err(UpstreamFailure::ClientBody),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(r)) => r,
        };

        if response.status() == StatusCode::SWITCHING_PROTOCOLS {
            // A switch the client did not ask for, or to another protocol, is never passed on.
            let Some(client_upgrade) = client_upgrade.filter(|_| answers_websocket(response.headers())) else {
                return Err(UpstreamFailure::Unavailable);
            };
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                if let (Ok(client), Ok(upstream)) = (client_upgrade.await, upstream_upgrade.await) {
                    let mut client = TokioIo::new(client);
                    let mut upstream = TokioIo::new(upstream);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        end = limit.reached() => {
                            tracing::info!(reason = end.code(), "closing a WebSocket tunnel: its token ended");
                        }
                    }
                }
            });
            return Ok(response.map(Body::new));
        }
        remove_hop_by_hop(response.headers_mut(), false);
        Ok(response.map(Body::new))
    }
}

pub fn is_upgrade(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade")))
}

fn answers_websocket(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

fn classify(e: &hyper_util::client::legacy::Error) -> UpstreamFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return UpstreamFailure::TimedOut;
            }
        }
        if s.to_string().contains("timed out") {
            return UpstreamFailure::TimedOut;
        }
        source = s.source();
    }
    UpstreamFailure::Unavailable
}
