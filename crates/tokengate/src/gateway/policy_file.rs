//! The gateway policy file (TOML): trusted issuers and routes. Parsed and validated as a whole
//! (every problem listed); a file that fails validation never replaces the running policy.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokengate_core::access::policy::Requirements;
use tokengate_core::jws::JwsAlgorithm;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub settings: GatewaySettings,
    #[serde(default, rename = "issuer")]
    pub issuers: Vec<IssuerConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
}

#[derive(Debug, Clone, Deserialize)]
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
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
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
        }
    }
}

pub const IDENTITY_CLAIMS: [&str; 11] =
    ["oid", "tid", "azp", "sub", "roles", "scp", "groups", "uti", "ver", "iss", "issuer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerKindConfig {
    Builtin,
    Entra,
    Oidc,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
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
    /// Allow WebSocket upgrades (default true); other upgrades (`h2c`, …) are always refused.
    #[serde(default = "default_websocket")]
    pub websocket: bool,
}

fn default_websocket() -> bool {
    true
}

/// Problems that make a policy file unusable, all of them.
pub fn validate(policy: &PolicyFile, base: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let s = &policy.settings;
    if !(0..=3600).contains(&s.clock_skew) {
        problems.push("settings.clock_skew must lie within 0..=3600".to_owned());
    }
    if !(1024..=256 * 1024).contains(&s.max_token_bytes) {
        problems.push("settings.max_token_bytes must lie within 1024..=262144".to_owned());
    }
    if s.upstream_timeout_seconds == 0 || s.connect_timeout_seconds == 0 {
        problems.push("settings timeouts must be at least 1 second".to_owned());
    }
    for (header, claim) in &s.identity_headers {
        if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            problems.push(format!("settings.identity_headers: '{header}' is not a header name"));
        }
        if !IDENTITY_CLAIMS.contains(&claim.as_str()) {
            problems.push(format!(
                "settings.identity_headers: unknown claim '{claim}' (one of {})",
                IDENTITY_CLAIMS.join(", ")
            ));
        }
    }

    let mut issuer_names = HashSet::new();
    for (i, issuer) in policy.issuers.iter().enumerate() {
        let at = format!("issuer #{} ({})", i + 1, issuer.name);
        if !issuer_names.insert(issuer.name.as_str()) {
            problems.push(format!("{at}: duplicate issuer name"));
        }
        match issuer.kind {
            IssuerKindConfig::Builtin => {
                if issuer.authority.is_some() || issuer.discovery_url.is_some() {
                    problems.push(format!("{at}: the builtin issuer takes no authority or discovery_url"));
                }
            }
            IssuerKindConfig::Entra => match &issuer.authority {
                None => problems.push(format!(
                    "{at}: kind = \"entra\" needs authority = \"https://login.microsoftonline.com/<tenant>\""
                )),
                Some(a) => {
                    if !a.starts_with("https://") {
                        problems.push(format!("{at}: authority must be https"));
                    }
                    let tenant = a.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                    if ["common", "organizations"].contains(&tenant)
                        && issuer.tenants.as_ref().is_none_or(|t| t.is_empty())
                    {
                        problems
                            .push(format!("{at}: a multi-tenant authority ({tenant}) needs a `tenants` allow-list"));
                    }
                }
            },
            IssuerKindConfig::Oidc => match &issuer.discovery_url {
                None => problems.push(format!("{at}: kind = \"oidc\" needs discovery_url")),
                Some(u) if !u.starts_with("https://") => problems.push(format!("{at}: discovery_url must be https")),
                Some(_) => {}
            },
        }
        if let Some(algs) = &issuer.algorithms {
            for a in algs {
                if JwsAlgorithm::parse(a).is_none() {
                    problems.push(format!(
                        "{at}: algorithm '{a}' is not supported (RS256, PS256, ES256; never HMAC or none)"
                    ));
                }
            }
        }
        if let Some(ca) = &issuer.ca_file {
            let path = if ca.is_absolute() { ca.clone() } else { base.join(ca) };
            if !path.is_file() {
                problems.push(format!("{at}: ca_file '{}' does not exist", path.display()));
            }
        }
        if issuer.refresh_seconds == 0 || issuer.max_key_age_seconds < issuer.refresh_seconds {
            problems.push(format!("{at}: need refresh_seconds >= 1 and max_key_age_seconds >= refresh_seconds"));
        }
    }

    let mut route_names = HashSet::new();
    for (i, route) in policy.routes.iter().enumerate() {
        let at = format!("route #{} ({})", i + 1, route.name);
        if !route_names.insert(route.name.as_str()) {
            problems.push(format!("{at}: duplicate route name"));
        }
        let matchers = [&route.path_prefix, &route.path, &route.path_pattern].iter().filter(|m| m.is_some()).count();
        if matchers != 1 {
            problems.push(format!("{at}: give exactly one of path_prefix, path, path_pattern"));
        }
        for p in [&route.path_prefix, &route.path, &route.path_pattern].into_iter().flatten() {
            if !p.starts_with('/') {
                problems.push(format!("{at}: paths start with '/' ('{p}')"));
            } else {
                // Requests are matched in normal form; a path that is not would never match.
                match tokengate_core::access::request_path::normalise(p) {
                    Ok(n) if n.path == *p && n.routing == *p => {}
                    Ok(n) => problems.push(format!("{at}: path '{p}' is not in normal form (write '{}')", n.routing)),
                    Err(e) => problems.push(format!("{at}: path '{p}' cannot be matched ({})", e.code())),
                }
            }
        }
        if let Some(p) = &route.path_pattern {
            if p.split('/').rev().skip(1).any(|seg| seg == "**") {
                problems.push(format!("{at}: '**' may only end a path_pattern"));
            }
        }
        for m in &route.methods {
            if axum::http::Method::from_bytes(m.as_bytes()).is_err() || m.to_ascii_uppercase() != *m {
                problems.push(format!("{at}: method '{m}' must be an upper-case HTTP method"));
            }
        }
        if route.upstream != "echo" {
            match route.upstream.parse::<axum::http::Uri>() {
                Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https" | "h2c")) && uri.host().is_some() => {
                    if uri.path() != "/" && !uri.path().is_empty() {
                        problems.push(format!("{at}: upstream takes no path ('{}')", route.upstream));
                    }
                }
                _ => problems.push(format!(
                    "{at}: upstream '{}' must be http://, https://, h2c://host:port or echo",
                    route.upstream
                )),
            }
        }
        match (&route.require, route.public) {
            (Some(_), true) => problems.push(format!("{at}: a public route takes no `require`")),
            (None, false) => problems.push(format!("{at}: needs `public = true` or a [route.require] table")),
            (Some(req), false) => {
                for p in req.problems() {
                    problems.push(format!("{at}: {p}"));
                }
                for name in &req.issuers {
                    if !issuer_names.contains(name.as_str()) {
                        problems.push(format!("{at}: unknown issuer '{name}'"));
                    }
                }
            }
            (None, true) => {}
        }
    }
    problems
}

/// Reads and validates a policy file.
pub fn load(path: &Path) -> Result<PolicyFile, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    parse(&text, path)
}

/// Validates policy text that is (or is about to be) the content of `path`.
pub fn parse(text: &str, path: &Path) -> Result<PolicyFile, Vec<String>> {
    let policy: PolicyFile = toml::from_str(text).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let problems = validate(&policy, path.parent().unwrap_or(Path::new(".")));
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed() {
        let text = r#"
            [[issuer]]
            name = "e"
            kind = "entra"
            authority = "http://login/common"
            algorithms = ["HS256"]

            [[issuer]]
            name = "e"
            kind = "oidc"

            [[route]]
            name = "r"
            path_prefix = "x"
            path = "/y"
            upstream = "ftp://x"
            methods = ["get"]

            [[route]]
            name = "s"
            path = "/s"
            upstream = "echo"
            [route.require]
            issuers = ["nope"]
            audiences = []
        "#;
        let policy: PolicyFile = toml::from_str(text).unwrap();
        let problems = validate(&policy, Path::new("."));
        let all = problems.join("\n");
        for needle in [
            "must be https",
            "allow-list",
            "HS256",
            "duplicate issuer",
            "needs discovery_url",
            "exactly one",
            "start with '/'",
            "ftp://",
            "upper-case",
            "public = true",
            "unknown issuer",
            "audience",
        ] {
            assert!(all.contains(needle), "missing '{needle}' in:\n{all}");
        }
    }

    #[test]
    fn a_good_file_passes() {
        let text = r#"
            [[issuer]]
            name = "tokengate"
            kind = "builtin"
            [[route]]
            name = "orders"
            path_pattern = "/tenants/*/orders/**"
            methods = ["GET"]
            upstream = "http://127.0.0.1:9000"
            [route.require]
            issuers = ["tokengate"]
            audiences = ["api://orders"]
            roles_any = ["Orders.Read.All"]
            [[route]]
            name = "health"
            path = "/healthz"
            upstream = "echo"
            public = true
        "#;
        let policy: PolicyFile = toml::from_str(text).unwrap();
        assert_eq!(validate(&policy, Path::new(".")), Vec::<String>::new());
    }
}
