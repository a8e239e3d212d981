//! The gateway listener: every request is matched to a route; protected routes need a bearer
//! token that verifies (signature, issuer, lifetime — cached), is not revoked and satisfies the
//! route's policy (both checked on every request); then the request is proxied with the caller's
//! identity attached. Exactly one audit record per request, written when the answer is known.

pub mod builtin_keys;
pub mod client_body;
pub mod echo_upstream;
pub mod form_body_token;
pub mod forwarding_headers;
pub mod hot_reload;
pub mod key_changes;
pub mod metrics;
pub mod policy_file;
pub mod proxy;
pub mod remote_keys;
pub mod request_target;
pub mod responses;
pub mod route_table;
pub mod tunnel;
pub mod upgrades;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderName, Request, Response, StatusCode};
use axum::{Extension, Router};
use tokengate_core::access::bearer::bearer_token;
use tokengate_core::access::policy::{condition_claims, evaluate};
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::token_validation::{verify, ValidationContext, VerifyFailure};
use tokengate_core::access::trusted_issuer::{IssuerKind, TrustedIssuers};
use tokengate_core::access::verified_cache::VerifiedCache;
use tokengate_core::access::{Rejection, VerifiedToken};
use tokengate_core::audit::{AuditEvent, AuditSource, Outcome};
use tokengate_core::keys::KeyRing;

use crate::audit_writer::AuditSink;
use crate::issuer::token_endpoint::PeerAddr;
use crate::state::{now, now_ms};
use builtin_keys::BuiltinIssuer;
use metrics::{GatewayMetrics, RequestLabels};
use policy_file::{GatewaySettings, IssuerKindConfig, PolicyFile};
use proxy::{failure_response, UpstreamClients};
use remote_keys::{RefetchOutcome, RemoteIssuer};
use responses::{cae_challenge, plain, rejection_response, request_refused};
use route_table::{Route, RouteTable, Upstream};
use tunnel::TunnelLimit;

/// Everything one version of the policy file decides, swapped atomically on reload.
pub struct ActivePolicy {
    pub settings: GatewaySettings,
    pub routes: RouteTable,
    pub issuers: TrustedIssuers,
    pub remotes: Vec<Arc<RemoteIssuer>>,
    pub builtin: Option<Arc<BuiltinIssuer>>,
    extra_claims: Vec<String>,
    identity_headers: Vec<(HeaderName, String)>,
    identity_header_names: Vec<HeaderName>,
    upstreams: UpstreamClients,
}

/// Where the built-in issuer's keys live, when this process runs it.
#[derive(Clone)]
pub struct BuiltinKeys {
    pub ring: Arc<KeyRing>,
    pub base_url: String,
}

impl ActivePolicy {
    /// Builds from a validated file, reusing the key fetchers of unchanged remote issuers.
    pub fn build(
        file: &PolicyFile,
        base_dir: &Path,
        builtin_keys: Option<&BuiltinKeys>,
        previous: Option<&ActivePolicy>,
    ) -> Result<ActivePolicy, Vec<String>> {
        let mut problems = Vec::new();
        let mut issuers = TrustedIssuers::default();
        let mut remotes = Vec::new();
        let mut builtin = None;
        for config in &file.issuers {
            match config.kind {
                IssuerKindConfig::Builtin => match builtin_keys {
                    Some(keys) => {
                        let b = BuiltinIssuer::new(&config.name, config.tenants.clone(), keys.ring.clone(), &keys.base_url);
                        issuers.issuers.push(b.issuer.clone());
                        builtin = Some(b);
                    }
                    None => problems.push(format!(
                        "issuer '{}': kind = \"builtin\" needs the issuer in this process; on a gateway-only node trust it as kind = \"entra\" with its authority",
                        config.name
                    )),
                },
                _ => {
                    let reused = previous.and_then(|p| p.remotes.iter().find(|r| r.config == *config)).cloned();
                    let remote = match reused {
                        Some(r) => r,
                        None => match RemoteIssuer::new(config.clone(), base_dir) {
                            Ok(r) => {
                                r.spawn_refresher();
                                r
                            }
                            Err(e) => {
                                problems.push(format!("issuer '{}': {e}", config.name));
                                continue;
                            }
                        },
                    };
                    issuers.issuers.push(remote.issuer.clone());
                    remotes.push(remote);
                }
            }
        }
        let settings = file.settings.clone();
        let upstreams = UpstreamClients::new(
            Duration::from_secs(settings.connect_timeout_seconds),
            Duration::from_secs(settings.upstream_timeout_seconds),
        )
        .map_err(|e| vec![format!("upstream TLS: {e}")])?;
        if !problems.is_empty() {
            for r in &remotes {
                if previous.is_none_or(|p| !p.remotes.iter().any(|old| Arc::ptr_eq(old, r))) {
                    r.stop();
                }
            }
            return Err(problems);
        }
        let routes = RouteTable::compile(&file.routes);
        let extra_claims = condition_claims(routes.routes().filter_map(|r| r.require.as_ref()));
        let identity_headers: Vec<(HeaderName, String)> = settings
            .identity_headers
            .iter()
            .filter_map(|(h, c)| HeaderName::from_bytes(h.as_bytes()).ok().map(|h| (h, c.clone())))
            .collect();
        let identity_header_names = identity_headers.iter().map(|(h, _)| h.clone()).collect();
        Ok(ActivePolicy {
            settings,
            routes,
            issuers,
            remotes,
            builtin,
            extra_claims,
            identity_headers,
            identity_header_names,
            upstreams,
        })
    }

    /// Stops the fetchers this policy started that `next` does not reuse.
    pub fn retire(&self, next: &ActivePolicy) {
        for r in &self.remotes {
            if !next.remotes.iter().any(|n| Arc::ptr_eq(n, r)) {
                r.stop();
            }
        }
    }

    /// Ready when every remote issuer has keys.
    pub fn ready(&self) -> bool {
        self.remotes.iter().all(|r| r.is_ready())
    }
}

pub struct GatewayState {
    pub policy: ArcSwap<ActivePolicy>,
    pub policy_path: Option<PathBuf>,
    pub builtin_keys: Option<BuiltinKeys>,
    pub cache: VerifiedCache,
    pub revocations: Arc<RevocationSet>,
    pub audit: AuditSink,
    pub metrics: Arc<GatewayMetrics>,
    /// `http` or `https`, for `X-Forwarded-Proto`.
    pub scheme: &'static str,
}

impl GatewayState {
    /// Installs a new policy; verified tokens are dropped since issuers or needed claims may differ.
    pub fn install(&self, next: ActivePolicy) {
        let previous = self.policy.swap(Arc::new(next));
        previous.retire(&self.policy.load());
        self.cache.clear();
    }
}

pub fn router(state: Arc<GatewayState>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

/// What the audit record says about one request.
struct Decision {
    route: Option<Arc<str>>,
    outcome: Outcome,
    reason: &'static str,
    token: Option<Arc<VerifiedToken>>,
}

async fn handle(
    State(gw): State<Arc<GatewayState>>,
    peer: Option<Extension<PeerAddr>>,
    request: Request<Body>,
) -> Response<Body> {
    let started = Instant::now();
    let client_ip = peer.map(|Extension(PeerAddr(a))| a.ip()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (response, decision) = decide_and_forward(&gw, request, client_ip).await;

    let status = response.status().as_u16();
    let route_label = decision.route.as_deref().unwrap_or("-").to_owned();
    gw.metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route_label,
            outcome: decision.outcome.as_str().to_owned(),
            reason: decision.reason.to_owned(),
        })
        .inc();
    gw.metrics.latency_seconds.observe(started.elapsed().as_secs_f64());

    let mut event = AuditEvent::new(AuditSource::Gateway, "gateway.request", decision.outcome, now_ms());
    event.reason = (!decision.reason.is_empty()).then(|| decision.reason.to_owned());
    if let Some(t) = &decision.token {
        event.tenant_id = t.tid.as_deref().map(str::to_owned);
        event.client_id = t.client_id.as_deref().map(str::to_owned);
        event.subject = t.oid.as_deref().map(str::to_owned);
        event.token_id = t.uti.as_deref().map(str::to_owned);
    }
    event.client_ip = Some(client_ip.to_string());
    event.status = Some(status);
    event.latency_us = Some(started.elapsed().as_micros() as i64);
    // The path only: the query string may carry a token (`access_token=`) and is never logged.
    event.detail = serde_json::json!({"route": decision.route.as_deref(), "method": method.as_str(), "path": truncate(&path, 512)});
    gw.audit.record(event).await;
    response
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn denied(
    route: Option<Arc<str>>,
    rejection: &Rejection,
    token: Option<Arc<VerifiedToken>>,
) -> (Response<Body>, Decision) {
    (rejection_response(rejection), Decision { route, outcome: Outcome::Denied, reason: rejection.code(), token })
}

/// A request refused for its form (path, host, upgrade); `reason` is the audit reason code.
fn refused(route: Option<Arc<str>>, reason: &'static str) -> (Response<Body>, Decision) {
    (request_refused(reason), Decision { route, outcome: Outcome::Denied, reason, token: None })
}

async fn decide_and_forward(
    gw: &GatewayState,
    mut request: Request<Body>,
    client_ip: IpAddr,
) -> (Response<Body>, Decision) {
    let policy = gw.policy.load_full();
    // Routed and forwarded by the same normalised path and host.
    let target = match request_target::settle(&mut request) {
        Ok(t) => t,
        Err(reason) => return refused(None, reason),
    };
    let Some(route) = policy.routes.find(target.host.as_deref(), &target.routing_path, request.method()).cloned()
    else {
        let r = plain(StatusCode::NOT_FOUND, "not found: no route matches\n");
        return (r, Decision { route: None, outcome: Outcome::Denied, reason: "no_route", token: None });
    };
    let route_name = Some(route.name.clone());
    if let Err(reason) = upgrades::screen(&request, route.websocket) {
        return refused(route_name, reason);
    }

    let mut identity = None;
    if let Some(requirements) = &route.require {
        let presented = match presented_token(&policy, &request) {
            Ok(t) => t,
            Err(rejection) => return denied(route_name, &rejection, None),
        };
        request = match form_body_token::refuse_token_in_form_body(request, form_body_token::MAX_FORM_BODY_BYTES).await
        {
            Ok(r) => r,
            Err(refusal) => return form_body_refused(route_name, refusal),
        };
        let token = match authenticate(gw, &policy, &presented, &requirements.issuers).await {
            Ok(t) => t,
            Err(rejection) => return denied(route_name, &rejection, None),
        };
        let now = now();
        if gw.revocations.check(&token).is_some() {
            if token.cae_capable {
                let r = cae_challenge(&token, now);
                return (
                    r,
                    Decision { route: route_name, outcome: Outcome::Denied, reason: "revoked", token: Some(token) },
                );
            }
            return denied(route_name, &Rejection::Revoked, Some(token));
        }
        if let Err(rejection) = evaluate(requirements, &token) {
            return denied(route_name, &rejection, Some(token));
        }
        identity = Some(token);
    }

    prepare_upstream_request(&mut request, &route, &policy, identity.as_deref(), client_ip, gw.scheme);
    let tunnel_limit = TunnelLimit::for_token(identity.clone(), gw.revocations.clone());
    let result = match &route.upstream {
        Upstream::Echo => Ok(echo_upstream::echo(&request)),
        Upstream::Http { base, http2_only } => policy.upstreams.forward(base, *http2_only, request, tunnel_limit).await,
    };
    match result {
        Ok(response) => {
            (response, Decision { route: route_name, outcome: Outcome::Allowed, reason: "", token: identity })
        }
        Err(failure) => {
            let outcome = if failure.is_client_error() { Outcome::Denied } else { Outcome::Error };
            (
                failure_response(failure),
                Decision { route: route_name, outcome, reason: failure.code(), token: identity },
            )
        }
    }
}

fn form_body_refused(route: Option<Arc<str>>, refusal: form_body_token::FormBodyRefusal) -> (Response<Body>, Decision) {
    use form_body_token::FormBodyRefusal;
    let (response, reason) = match refusal {
        FormBodyRefusal::TokenInBody(rejection) => return denied(route, &rejection, None),
        FormBodyRefusal::TooLarge => {
            (plain(StatusCode::PAYLOAD_TOO_LARGE, "form body too large\n"), "form_body_too_large")
        }
        FormBodyRefusal::ClientBody => {
            (failure_response(proxy::UpstreamFailure::ClientBody), proxy::UpstreamFailure::ClientBody.code())
        }
    };
    (response, Decision { route, outcome: Outcome::Denied, reason, token: None })
}

/// The request's bearer token, copied out (the request body is not `Sync`, so nothing borrowed
/// from the request may live across an await).
fn presented_token(policy: &ActivePolicy, request: &Request<Body>) -> Result<String, Rejection> {
    let values: Vec<&[u8]> = request.headers().get_all(header::AUTHORIZATION).iter().map(|v| v.as_bytes()).collect();
    let query_token =
        request.uri().query().is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"));
    bearer_token(&values, query_token, policy.settings.max_token_bytes).map(str::to_owned)
}

/// Verifies the token (or takes it from the cache). `route_issuers` are the issuers the route
/// trusts: while one of them has not loaded its keys yet, a token no issuer recognises gets 503
/// (it may be that issuer's), not 401.
async fn authenticate(
    gw: &GatewayState,
    policy: &ActivePolicy,
    token: &str,
    route_issuers: &[String],
) -> Result<Arc<VerifiedToken>, Rejection> {
    let skew = policy.settings.clock_skew;
    let now = now();
    let key = VerifiedCache::key(token);
    if let Some(hit) = gw.cache.get(&key, now, skew) {
        // A key that left its issuer's JWKS (rollover or emergency removal) takes its cached
        // verifications with it.
        if policy.issuers.by_name(&hit.issuer).is_some_and(|i| i.has_key(&hit.kid)) {
            return Ok(hit);
        }
        gw.cache.remove(&key);
    }
    let ctx = ValidationContext {
        issuers: &policy.issuers,
        skew,
        max_token_len: policy.settings.max_token_bytes,
        extra_claims: &policy.extra_claims,
        now,
    };
    let verified = match verify(token, &ctx) {
        Ok(v) => v,
        Err(VerifyFailure::Rejected(Rejection::UntrustedIssuer)) => {
            let cold: Vec<&Arc<RemoteIssuer>> = policy
                .remotes
                .iter()
                .filter(|r| !r.is_ready() && route_issuers.iter().any(|n| *n == r.config.name))
                .collect();
            if cold.is_empty() {
                return Err(Rejection::UntrustedIssuer);
            }
            let mut loaded = false;
            for remote in cold {
                gw.metrics.key_refetches.inc();
                loaded |= remote.refetch_for_unknown_kid().await == RefetchOutcome::Refetched;
            }
            if !loaded {
                return Err(Rejection::KeysUnavailable);
            }
            match verify(token, &ctx) {
                Ok(v) => v,
                Err(VerifyFailure::Rejected(r)) => return Err(r),
                Err(VerifyFailure::UnknownKey(_)) => return Err(Rejection::UnknownKey),
            }
        }
        Err(VerifyFailure::Rejected(r)) => return Err(r),
        Err(VerifyFailure::UnknownKey(issuer)) => {
            // One refetch (rate-limited per issuer), then one more try.
            let refreshed = match issuer.kind {
                IssuerKind::Builtin => {
                    gw.metrics.key_refetches.inc();
                    policy.builtin.as_ref().is_some_and(|b| b.sync())
                }
                _ => {
                    let Some(remote) = policy.remotes.iter().find(|r| Arc::ptr_eq(&r.issuer, &issuer)) else {
                        return Err(Rejection::UnknownKey);
                    };
                    gw.metrics.key_refetches.inc();
                    match remote.refetch_for_unknown_kid().await {
                        RefetchOutcome::Refetched => true,
                        RefetchOutcome::TooSoon => false,
                        RefetchOutcome::Unreachable => return Err(Rejection::KeysUnavailable),
                    }
                }
            };
            if !refreshed {
                return Err(Rejection::UnknownKey);
            }
            match verify(token, &ctx) {
                Ok(v) => v,
                Err(VerifyFailure::Rejected(r)) => return Err(r),
                Err(VerifyFailure::UnknownKey(_)) => return Err(Rejection::UnknownKey),
            }
        }
    };
    let verified = Arc::new(verified);
    // The cache-size gauge is refreshed by the sweeper: `len()` visits every shard, too much
    // for each new token.
    gw.cache.insert(key, verified.clone());
    Ok(verified)
}

fn prepare_upstream_request(
    request: &mut Request<Body>,
    route: &Route,
    policy: &ActivePolicy,
    identity: Option<&VerifiedToken>,
    client_ip: IpAddr,
    scheme: &str,
) {
    let upgrade = proxy::is_upgrade(request.headers());
    let original_host = request
        .headers()
        .get(header::HOST)
        .cloned()
        .or_else(|| request.uri().authority().and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok()));
    let headers = request.headers_mut();
    forwarding_headers::remove_hop_by_hop(headers, upgrade);
    forwarding_headers::strip_identity_headers(headers, &policy.identity_header_names);
    if !route.forward_token {
        headers.remove(header::AUTHORIZATION);
    }
    if let Some(token) = identity {
        forwarding_headers::add_identity_headers(headers, token, &policy.identity_headers);
    }
    let overwrite = policy.settings.forwarded_headers == policy_file::ForwardedHeaders::Overwrite;
    forwarding_headers::add_forwarded(headers, client_ip, scheme, original_host.as_ref(), overwrite);
}
