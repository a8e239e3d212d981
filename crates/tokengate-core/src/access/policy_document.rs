//! The gateway policy document: trusted issuers, routes and their requirements, and the
//! gateway's settings. It lives in core so the store can persist versions of it and the admin
//! API can carry it; reading it from TOML and checking it against the machine (files, header
//! names) is the binary's job (`gateway/policy_file.rs`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::policy::Requirements;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default)]
    pub settings: GatewaySettings,
    #[serde(default, rename = "issuer")]
    pub issuers: Vec<IssuerConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// Tolerance for `exp`/`nbf`/`iat`, seconds.
    pub clock_skew: i64,
    /// Largest bearer token (and Authorization header) accepted; larger → 431.
    pub max_token_bytes: usize,
    /// Verified-token cache capacity (entries).
    pub verified_cache_entries: usize,
    /// Upstream response-header timeout, seconds (→ 504).
    pub upstream_timeout_seconds: u64,
    /// Upstream connect timeout, seconds (→ 502 when refused, 504 when it times out).
    pub connect_timeout_seconds: u64,
    /// Headers sent upstream with the caller's identity: header name → claim
    /// (`oid`, `tid`, `azp`, `sub`, `roles`, `scp`, `groups`, `uti`, `ver`, `iss`, `issuer`).
    pub identity_headers: Vec<(String, String)>,
    /// `append` (behind a trusted proxy) or `overwrite` (at the edge: client-sent
    /// `X-Forwarded-For`/`Forwarded` are replaced, never trusted).
    pub forwarded_headers: ForwardedHeaders,
    /// Fail closed: when this node has not read the revocation feed for this long (or has never
    /// read it in full since start), protected routes answer 503 with `Retry-After` and the node
    /// reports not ready, until it has resynced.
    pub max_revocation_staleness_seconds: u64,
}

/// Default of `max_revocation_staleness_seconds`: well above the feed's 2 s backstop poll, so
/// only a store outage (not a slow read) trips it.
pub const DEFAULT_MAX_REVOCATION_STALENESS_SECONDS: u64 = 30;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardedHeaders {
    #[default]
    Append,
    Overwrite,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            clock_skew: 300,
            max_token_bytes: 16 * 1024,
            verified_cache_entries: 100_000,
            upstream_timeout_seconds: 30,
            connect_timeout_seconds: 5,
            identity_headers: [
                ("X-Tokengate-Oid", "oid"),
                ("X-Tokengate-Tid", "tid"),
                ("X-Tokengate-Azp", "azp"),
                ("X-Tokengate-Sub", "sub"),
                ("X-Tokengate-Roles", "roles"),
                ("X-Tokengate-Scp", "scp"),
                ("X-Tokengate-Uti", "uti"),
                ("X-Tokengate-Issuer", "issuer"),
            ]
            .iter()
            .map(|(h, c)| ((*h).to_owned(), (*c).to_owned()))
            .collect(),
            forwarded_headers: ForwardedHeaders::Append,
            max_revocation_staleness_seconds: DEFAULT_MAX_REVOCATION_STALENESS_SECONDS,
        }
    }
}

pub const IDENTITY_CLAIMS: [&str; 11] =
    ["oid", "tid", "azp", "sub", "roles", "scp", "groups", "uti", "ver", "iss", "issuer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerKindConfig {
    Builtin,
    Entra,
    Oidc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    pub name: String,
    pub kind: IssuerKindConfig,
    /// Entra: `https://login.microsoftonline.com/{tenant|organizations|common}`; metadata from
    /// `{authority}/v2.0/.well-known/openid-configuration` and the v1 document.
    pub authority: Option<String>,
    /// OIDC: the discovery document URL.
    pub discovery_url: Option<String>,
    /// Tenant (`tid`) allow-list; required for Entra `common`/`organizations` authorities.
    #[serde(default)]
    pub tenants: Option<Vec<String>>,
    /// Algorithm allow-list (default RS256 for Entra/builtin; RS256, PS256, ES256 for OIDC).
    #[serde(default)]
    pub algorithms: Option<Vec<String>>,
    /// Extra PEM trust roots for fetching metadata and keys (private PKI, tests).
    pub ca_file: Option<PathBuf>,
    /// Background key refresh period (Microsoft: hourly).
    #[serde(default = "default_refresh")]
    pub refresh_seconds: u64,
    /// Least time between refetches triggered by an unknown `kid` (Microsoft: 5 minutes).
    #[serde(default = "default_unknown_kid_refetch")]
    pub unknown_kid_refetch_seconds: u64,
    /// Keys are dropped this long after the last successful fetch (Microsoft: 24 h).
    #[serde(default = "default_max_key_age")]
    pub max_key_age_seconds: u64,
}

fn default_refresh() -> u64 {
    3600
}
fn default_unknown_kid_refetch() -> u64 {
    300
}
fn default_max_key_age() -> u64 {
    86_400
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    /// Exact host (without port) to match; any host when absent.
    pub host: Option<String>,
    /// Path prefix (`/orders/`), exact path (`path`), or pattern with `*` for one segment and a
    /// trailing `**` for the rest (`/tenants/*/orders/**`). Exactly one of the three.
    pub path_prefix: Option<String>,
    pub path: Option<String>,
    pub path_pattern: Option<String>,
    /// Methods (upper case); any when empty.
    #[serde(default)]
    pub methods: Vec<String>,
    /// `http://host:port`, `https://host:port`, `h2c://host:port` (HTTP/2 cleartext) or `echo`
    /// (built-in echo upstream).
    pub upstream: String,
    /// No token required.
    #[serde(default)]
    pub public: bool,
    /// Keep the caller's Authorization header when proxying (stripped by default).
    #[serde(default)]
    pub forward_token: bool,
    pub require: Option<Requirements>,
    /// Match the path case-sensitively (default: case-insensitively, as ASP.NET and IIS compare).
    #[serde(default)]
    pub case_sensitive: bool,
    /// Tell a refused caller every requirement its token fails (expected vs got) in an RFC 9457
    /// problem body. Off by default: it shows a caller what the route wants (tenants stay hidden).
    #[serde(default)]
    pub explain_denials: bool,
    /// Allow WebSocket upgrades (default true); other upgrades (`h2c`, …) are always refused.
    #[serde(default = "default_websocket")]
    pub websocket: bool,
}

fn default_websocket() -> bool {
    true
}
