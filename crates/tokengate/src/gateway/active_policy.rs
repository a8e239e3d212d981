//! Everything one version of the gateway policy decides — routes, trusted issuers with their key
//! sources, settings, upstream clients — built from a validated document and swapped in
//! atomically (requests in flight finish on the version they started with).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderName;
use tokengate_core::access::policy::condition_claims;
use tokengate_core::access::policy_document::{GatewaySettings, PolicyDocument};
use tokengate_core::policy_versions::{content_hash, version_label};

use super::proxy::UpstreamClients;
use super::route_table::RouteTable;
use crate::authentication::issuer_trust::VerificationLimits;
use crate::authentication::{BuiltinKeys, IssuerTrust};

pub struct ActivePolicy {
    /// Names this version in decisions, audit records and node heartbeats: `v7` for a version
    /// published in the store, else a digest of the document (so every node running the same
    /// document reports the same version).
    pub version: Arc<str>,
    /// The store's version number, when this policy is a published version.
    pub published: Option<i64>,
    pub settings: GatewaySettings,
    pub routes: RouteTable,
    pub trust: IssuerTrust,
    pub identity_headers: Vec<(HeaderName, String)>,
    pub identity_header_names: Vec<HeaderName>,
    pub upstreams: UpstreamClients,
}

impl ActivePolicy {
    /// Builds from a validated document, reusing the key fetchers of unchanged remote issuers.
    pub fn build(
        document: &PolicyDocument,
        base_dir: &Path,
        builtin_keys: Option<&BuiltinKeys>,
        previous: Option<&ActivePolicy>,
    ) -> Result<ActivePolicy, Vec<String>> {
        let settings = document.settings.clone();
        // Before the issuers: a failure here must not leave new key fetchers running.
        let upstreams = UpstreamClients::new(
            Duration::from_secs(settings.connect_timeout_seconds),
            Duration::from_secs(settings.upstream_timeout_seconds),
        )
        .map_err(|e| vec![format!("upstream TLS: {e}")])?;
        let routes = RouteTable::compile(&document.routes);
        let limits = VerificationLimits {
            skew: settings.clock_skew,
            max_token_bytes: settings.max_token_bytes,
            extra_claims: condition_claims(routes.routes().filter_map(|r| r.require.as_ref())),
        };
        let trust = IssuerTrust::build(&document.issuers, base_dir, builtin_keys, previous.map(|p| &p.trust), limits)?;
        let identity_headers: Vec<(HeaderName, String)> = settings
            .identity_headers
            .iter()
            .filter_map(|(h, c)| HeaderName::from_bytes(h.as_bytes()).ok().map(|h| (h, c.clone())))
            .collect();
        let identity_header_names = identity_headers.iter().map(|(h, _)| h.clone()).collect();
        Ok(ActivePolicy {
            version: Arc::from(content_hash(document)),
            published: None,
            settings,
            routes,
            trust,
            identity_headers,
            identity_header_names,
            upstreams,
        })
    }

    /// Names this policy as the store's published version `version`.
    pub fn published_as(mut self, version: i64) -> ActivePolicy {
        self.version = Arc::from(version_label(version));
        self.published = Some(version);
        self
    }

    /// Stops the fetchers this policy started that `next` does not reuse.
    pub fn retire(&self, next: &ActivePolicy) {
        self.trust.retire(&next.trust);
    }

    /// Ready when every remote issuer has keys.
    pub fn ready(&self) -> bool {
        self.trust.ready()
    }
}
