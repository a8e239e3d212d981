//! Keys of remote issuers (Entra tenants, any OIDC provider), fetched over HTTPS and kept per
//! Microsoft's signing-key rollover guidance: background refresh (hourly by default), one refetch
//! on an unknown `kid` at most every 5 minutes, the last good keys kept when a fetch fails, and
//! keys dropped 24 h after the last success. Metadata URLs come from config, never from tokens.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokengate_core::access::trusted_issuer::{IssuerKind, IssuerMaterial, IssuerPattern, TrustedIssuer};
use tokengate_core::access::verifying_keys::{parse_jwks, KeySnapshot};
use tokengate_core::jws::JwsAlgorithm;
use tokio::sync::{watch, Mutex};

use tokengate_core::access::policy_document::{IssuerConfig, IssuerKindConfig};

/// Metadata and JWKS documents larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefetchOutcome {
    /// Fetched now; the caller may retry verification.
    Refetched,
    /// A refetch happened recently and succeeded: the kid is simply unknown.
    TooSoon,
    /// The metadata or JWKS endpoint cannot be reached (now or at the last attempt).
    Unreachable,
}

struct FetchState {
    last_attempt: Option<Instant>,
    last_success: Option<Instant>,
    last_failed: bool,
}

impl FetchState {
    /// The answer for an unknown kid while the last attempt is under `min_gap` old (`now` is
    /// passed in so the rate limit is tested without waiting); `None` when a refetch may go.
    fn recent_attempt(&self, min_gap: Duration, now: Instant) -> Option<RefetchOutcome> {
        let last = self.last_attempt?;
        if now.saturating_duration_since(last) >= min_gap {
            return None;
        }
        Some(if self.last_failed { RefetchOutcome::Unreachable } else { RefetchOutcome::TooSoon })
    }
}

pub struct RemoteIssuer {
    pub issuer: Arc<TrustedIssuer>,
    pub config: IssuerConfig,
    http: reqwest::Client,
    state: Mutex<FetchState>,
    stop: watch::Sender<bool>,
}

impl RemoteIssuer {
    pub fn new(config: IssuerConfig, base_dir: &std::path::Path) -> Result<Arc<RemoteIssuer>, String> {
        let kind = match config.kind {
            IssuerKindConfig::Entra => IssuerKind::Entra,
            IssuerKindConfig::Oidc => IssuerKind::Oidc,
            IssuerKindConfig::Builtin => return Err("the builtin issuer has no remote keys".into()),
        };
        let algorithms = match &config.algorithms {
            Some(names) => names.iter().filter_map(|a| JwsAlgorithm::parse(a)).collect(),
            None => tokengate_core::access::token_validation::default_algorithms(kind),
        };
        let tenants = config.tenants.as_ref().map(|t| t.iter().map(|x| x.to_ascii_lowercase()).collect::<HashSet<_>>());
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tokengate/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = &config.ca_file {
            let path = if ca.is_absolute() { ca.clone() } else { base_dir.join(ca) };
            let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| format!("{}: {e}", path.display()))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| e.to_string())?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(RemoteIssuer {
            issuer: Arc::new(TrustedIssuer::new(&config.name, kind, tenants, algorithms)),
            config,
            http,
            state: Mutex::new(FetchState { last_attempt: None, last_success: None, last_failed: false }),
            stop,
        }))
    }

    /// Fetches metadata and keys and publishes them; on failure keeps the last good ones.
    async fn fetch_now(&self, state: &mut FetchState) -> Result<(), String> {
        state.last_attempt = Some(Instant::now());
        match self.download().await {
            Ok(material) => {
                self.issuer.replace_material(material);
                state.last_success = Some(Instant::now());
                state.last_failed = false;
                Ok(())
            }
            Err(e) => {
                state.last_failed = true;
                tracing::warn!(issuer = %self.config.name, error = %e, "fetching issuer metadata/keys failed; keeping the last good keys");
                Err(e)
            }
        }
    }

    async fn download(&self) -> Result<IssuerMaterial, String> {
        let mut patterns = Vec::new();
        let mut keys = KeySnapshot::default();
        let documents: Vec<(String, Option<&'static str>, bool)> = match self.config.kind {
            IssuerKindConfig::Entra => {
                let authority = self.config.authority.clone().unwrap_or_default();
                let authority = authority.trim_end_matches('/');
                vec![
                    (format!("{authority}/v2.0/.well-known/openid-configuration"), Some("2.0"), true),
                    (format!("{authority}/.well-known/openid-configuration"), Some("1.0"), false),
                ]
            }
            _ => vec![(self.config.discovery_url.clone().unwrap_or_default(), None, true)],
        };
        for (url, version, required) in documents {
            let result = self.metadata(&url).await;
            let (issuer, jwks_uri) = match result {
                Ok(found) => found,
                Err(e) if !required => {
                    tracing::debug!(issuer = %self.config.name, error = %e, "optional metadata unavailable");
                    continue;
                }
                Err(e) => return Err(e),
            };
            patterns.push(IssuerPattern { template: issuer, version });
            let jwks = self.get(&jwks_uri).await?;
            let snapshot = parse_jwks(&jwks, &self.issuer.algorithms).map_err(|e| format!("{jwks_uri}: {e}"))?;
            // The first (v2) document's keys carry issuer metadata; keep them over v1 copies.
            for (kid, key) in snapshot.keys {
                keys.keys.entry(kid).or_insert(key);
            }
        }
        Ok(IssuerMaterial { patterns, keys })
    }

    async fn metadata(&self, url: &str) -> Result<(String, String), String> {
        let body = self.get(url).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))?;
        let field = |name: &str| {
            doc.get(name).and_then(|v| v.as_str()).map(str::to_owned).ok_or_else(|| format!("{url}: no `{name}`"))
        };
        let jwks_uri = field("jwks_uri")?;
        if !jwks_uri.starts_with("https://") {
            return Err(format!("{url}: jwks_uri must be https"));
        }
        Ok((field("issuer")?, jwks_uri))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut response = self.http.get(url).send().await.map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("{url}: document larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Called when a token names a kid this issuer does not have.
    pub async fn refetch_for_unknown_kid(&self) -> RefetchOutcome {
        let min_gap = Duration::from_secs(self.config.unknown_kid_refetch_seconds);
        // One refetch at a time; concurrent requests with unknown kids wait for it.
        let mut state = self.state.lock().await;
        if let Some(answer) = state.recent_attempt(min_gap, Instant::now()) {
            return answer;
        }
        match self.fetch_now(&mut state).await {
            Ok(()) => RefetchOutcome::Refetched,
            Err(_) => RefetchOutcome::Unreachable,
        }
    }

    /// Background refresh until stopped; retries failures sooner, drops keys past their age.
    pub fn spawn_refresher(self: &Arc<Self>) {
        let this = self.clone();
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            loop {
                let ok = {
                    let mut state = this.state.lock().await;
                    let ok = this.fetch_now(&mut state).await.is_ok();
                    let max_age = Duration::from_secs(this.config.max_key_age_seconds);
                    if state.last_success.is_none_or(|t| t.elapsed() > max_age) && this.issuer.has_keys() {
                        tracing::error!(issuer = %this.config.name, "keys older than max_key_age_seconds: dropping them");
                        this.issuer.replace_keys(KeySnapshot::default());
                    }
                    ok
                };
                let wait = if ok {
                    Duration::from_secs(this.config.refresh_seconds)
                } else {
                    Duration::from_secs(this.config.refresh_seconds.min(10))
                };
                if !crate::periodic::sleep_or_stop(wait, &mut stop).await {
                    return;
                }
            }
        });
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    pub fn is_ready(&self) -> bool {
        self.issuer.has_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kids_refetch_at_most_once_per_gap() {
        let t0 = Instant::now();
        let gap = Duration::from_secs(300);
        let never = FetchState { last_attempt: None, last_success: None, last_failed: false };
        assert_eq!(never.recent_attempt(gap, t0), None, "the first unknown kid fetches");
        let fetched = FetchState { last_attempt: Some(t0), last_success: Some(t0), last_failed: false };
        assert_eq!(fetched.recent_attempt(gap, t0 + Duration::from_secs(299)), Some(RefetchOutcome::TooSoon));
        assert_eq!(fetched.recent_attempt(gap, t0 + gap), None, "the gap has passed");
        let failed = FetchState { last_attempt: Some(t0), last_success: None, last_failed: true };
        assert_eq!(
            failed.recent_attempt(gap, t0 + Duration::from_secs(1)),
            Some(RefetchOutcome::Unreachable),
            "within the gap after a failure the issuer is still taken as unreachable (503, not 401)"
        );
        assert_eq!(failed.recent_attempt(Duration::ZERO, t0), None, "a zero gap refetches every time");
    }
}
