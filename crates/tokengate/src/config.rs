//! `tokengate serve` configuration: a TOML file, overridden by `TOKENGATE_*` environment
//! variables, validated all at once so that every problem is listed before anything listens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokengate_core::encoding::b64_decode;
use tokengate_core::tokens::TokenSettings;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub store: StoreSection,
    /// The issuer role; off when absent (a gateway-only node).
    pub issuer: Option<IssuerSection>,
    #[serde(default)]
    pub tokens: TokensSection,
    #[serde(default)]
    pub keys: KeysSection,
    #[serde(default)]
    pub admin: AdminSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    /// The gateway role; off when absent.
    pub gateway: Option<GatewaySection>,
    #[serde(default)]
    pub audit: AuditSection,
    /// Timeouts, header buffers and connection caps of every listener.
    #[serde(default)]
    pub listeners: crate::listener_limits::ListenerLimits,
}

/// Days of audit records kept unless configured.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;
/// How often retired signing keys past their window are deleted (`[keys] reload_seconds`).
pub const DEFAULT_KEY_SWEEP_SECONDS: u64 = 10;
/// Failed client authentications tolerated per client id and per source address, per minute
/// (`[rate_limit]`); `dev` runs with the same.
pub const DEFAULT_CLIENT_FAILURES_PER_MINUTE: u32 = 20;
pub const DEFAULT_IP_FAILURES_PER_MINUTE: u32 = 100;

/// Unauthenticated `POST /devicecode` requests (each stores a code) allowed per minute, per client
/// id and per source address (`[rate_limit] device_code_starts_per_*_per_minute`). The per-source
/// default suits people at their own devices; a fleet behind one NAT, or a load test, needs more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceCodeStartBudget {
    pub per_client: u32,
    pub per_ip: u32,
}

impl Default for DeviceCodeStartBudget {
    fn default() -> Self {
        DeviceCodeStartBudget { per_client: 600, per_ip: 30 }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Audit records older than this many days are deleted (hourly).
    pub retention_days: Option<u64>,
    /// Which gateway decisions are recorded: `all` (default), `denied`, `none`.
    pub gateway_decisions: Option<crate::gateway::gateway_state::DecisionRecords>,
    /// `buffered` (default): answer once the record is queued; `strict`: answer only after the
    /// record's batch has committed (no answer without a durable record).
    pub durability: Option<crate::audit_writer::AuditDurability>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    pub listen: Option<String>,
    /// Policy file (trusted issuers and routes): published as a new policy version when it
    /// changes (also while running). Without it the node follows the version published in the
    /// store (`tokengate policy apply`).
    pub policy_file: Option<PathBuf>,
    /// Serve the gateway over HTTPS (HTTP/1.1 and HTTP/2 by ALPN); plain HTTP when absent.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// On a node without `[issuer]`: the built-in issuer's public URL (its `iss` prefix), so the
    /// policy can trust `kind = "builtin"` with the public keys from the shared store.
    pub builtin_issuer_url: Option<String>,
    /// One log line per denied request, with expected-vs-got values (default off; `dev` logs them).
    #[serde(default)]
    pub log_denials: bool,
    /// Listener threads, each with its own runtime and `SO_REUSEPORT` socket (default: one per
    /// core; 0: the gateway shares the process's runtime).
    pub threads: Option<usize>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `sqlite://PATH` or `postgres://...`
    pub url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IssuerSection {
    pub listen: Option<String>,
    /// Base URL clients use (`https://login.example.com`); defaults to `https://{listen}`.
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TokensSection {
    pub access_token_lifetime_min: Option<i64>,
    pub access_token_lifetime_max: Option<i64>,
    pub clock_skew: Option<i64>,
    pub refresh_reuse_grace_seconds: Option<i64>,
    pub device_code_lifetime_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    /// File holding the base64 32-byte key that seals private signing keys at rest.
    pub encryption_key_file: Option<PathBuf>,
    pub reload_seconds: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    pub listen: Option<String>,
    /// The admin API app's identifier URI (default `api://tokengate-admin`).
    pub api_identifier_uri: Option<String>,
    /// The public client app the dashboard signs people in with.
    pub dashboard_client_id: Option<String>,
    /// Where browsers reach this listener, e.g. `https://admin.example.com` behind a TLS proxy
    /// (default `http://{listen}`).
    pub dashboard_url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    pub client_failures_per_minute: Option<u32>,
    pub ip_failures_per_minute: Option<u32>,
    pub device_code_starts_per_client_per_minute: Option<u32>,
    pub device_code_starts_per_ip_per_minute: Option<u32>,
}

/// A configuration that passed validation. A node runs the roles whose sections are present.
#[derive(Debug)]
pub struct ServeConfig {
    pub store_url: String,
    pub issuer: Option<ServeIssuer>,
    /// Required with `[issuer]`; elsewhere only key commands of the CLI use it.
    pub encryption_key: Option<Vec<u8>>,
    pub admin_listen: Option<SocketAddr>,
    pub admin_api_uri: Option<String>,
    pub dashboard: Option<crate::dashboard::DashboardOptions>,
    pub gateway: Option<ServeGateway>,
    pub audit_retention_days: u64,
    pub audit_gateway_decisions: crate::gateway::gateway_state::DecisionRecords,
    pub audit_durability: crate::audit_writer::AuditDurability,
    pub listener_limits: crate::listener_limits::ListenerLimits,
}

#[derive(Debug)]
pub struct ServeIssuer {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub settings: TokenSettings,
    pub key_reload_seconds: u64,
    pub client_failures_per_minute: u32,
    pub ip_failures_per_minute: u32,
    pub device_code_starts: DeviceCodeStartBudget,
}

#[derive(Debug)]
pub struct ServeGateway {
    pub listen: SocketAddr,
    /// Published when it changed since it was last published from there, and watched.
    pub policy_file: Option<crate::gateway::policy_file::PolicyFile>,
    /// Where relative paths in published policies (`ca_file`) resolve: the config file's directory.
    pub base_dir: PathBuf,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub builtin_issuer_url: Option<String>,
    pub log_denials: bool,
    pub threads: usize,
}

/// Reads, overrides and validates. `Err` lists every problem found.
pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<ServeConfig, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let mut file: FileConfig = toml::from_str(&text).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let base = path.parent().unwrap_or(Path::new("."));
    apply_env(&mut file, env);
    validate(file, base, env)
}

fn apply_env(file: &mut FileConfig, env: &dyn Fn(&str) -> Option<String>) {
    if let Some(v) = env("TOKENGATE_STORE_URL") {
        file.store.url = Some(v);
    }
    // An issuer variable configures the issuer role, adding it if the file has none.
    if let Some(v) = env("TOKENGATE_ISSUER_LISTEN") {
        file.issuer.get_or_insert_default().listen = Some(v);
    }
    if let Some(v) = env("TOKENGATE_ISSUER_PUBLIC_URL") {
        file.issuer.get_or_insert_default().public_url = Some(v);
    }
    if let Some(v) = env("TOKENGATE_TLS_CERT") {
        file.issuer.get_or_insert_default().tls_cert = Some(v.into());
    }
    if let Some(v) = env("TOKENGATE_TLS_KEY") {
        file.issuer.get_or_insert_default().tls_key = Some(v.into());
    }
    if let Some(v) = env("TOKENGATE_ADMIN_LISTEN") {
        file.admin.listen = Some(v);
    }
}

fn validate(file: FileConfig, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<ServeConfig, Vec<String>> {
    let mut problems = Vec::new();
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };

    let store_url = file.store.url.unwrap_or_else(|| "sqlite://tokengate.db".into());
    if !(store_url.starts_with("sqlite://")
        || store_url.starts_with("postgres://")
        || store_url.starts_with("postgresql://"))
    {
        problems.push("store.url must start with sqlite:// or postgres://".to_string());
    }
    let store_url = match store_url.strip_prefix("sqlite://") {
        Some(p) if !Path::new(p).is_absolute() => format!("sqlite://{}", base.join(p).display()),
        _ => store_url,
    };

    let encryption_key = read_encryption_key(file.keys.encryption_key_file.as_deref(), &resolve, env, &mut problems);
    let key_configured = file.keys.encryption_key_file.is_some() || env("TOKENGATE_KEY_ENCRYPTION_KEY").is_some();
    let issuer = match file.issuer {
        None => None,
        Some(section) => {
            if !key_configured {
                problems.push("a key-encryption key is required with [issuer]: set keys.encryption_key_file or TOKENGATE_KEY_ENCRYPTION_KEY (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)".into());
            }
            validate_issuer(section, &file.tokens, &file.keys, &file.rate_limit, &resolve, &mut problems)
        }
    };
    let admin_listen = match file.admin.listen {
        None => None,
        Some(text) => text
            .parse::<SocketAddr>()
            .map_err(|_| problems.push(format!("admin.listen '{text}' is not an address like 127.0.0.1:8081")))
            .ok(),
    };

    let dashboard = match &file.admin.dashboard_client_id {
        None => None,
        Some(text) => match uuid::Uuid::parse_str(text) {
            Ok(client_id) => {
                let public_url = file.admin.dashboard_url.clone();
                if let Some(url) = public_url.as_deref().filter(|u| !valid_dashboard_url(u)) {
                    problems.push(format!(
                        "admin.dashboard_url '{url}' must be an http:// or https:// origin like https://admin.example.com (no path)"
                    ));
                }
                Some(crate::dashboard::DashboardOptions { client_id, public_url })
            }
            Err(_) => {
                problems.push(format!("admin.dashboard_client_id '{text}' is not an app's client id (a GUID)"));
                None
            }
        },
    };

    let gateway = match file.gateway {
        None => None,
        Some(g) => {
            let listen_text = g.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
            let listen = listen_text
                .parse::<SocketAddr>()
                .map_err(|_| {
                    problems.push(format!("gateway.listen '{listen_text}' is not an address like 127.0.0.1:8080"))
                })
                .ok();
            // Optional: a gateway node without a file follows the policy published in the store.
            let policy_file = match g.policy_file {
                None => Ok(None),
                Some(p) => {
                    let p = resolve(&p);
                    crate::gateway::policy_file::read(&p).map(Some).map_err(|found| {
                        problems.extend(found.into_iter().map(|f| format!("gateway policy {}: {f}", p.display())));
                    })
                }
            };
            let tls = match (g.tls_cert.map(|p| resolve(&p)), g.tls_key.map(|p| resolve(&p))) {
                (None, None) => None,
                (Some(cert), Some(key)) => {
                    if let Err(e) = crate::server::tls_config(&cert, &key) {
                        problems.push(format!("gateway TLS: {e}"));
                    }
                    Some((cert, key))
                }
                _ => {
                    problems.push("gateway.tls_cert and gateway.tls_key go together".into());
                    None
                }
            };
            if let Some(threads) = g.threads.filter(|t| *t > crate::per_core_listeners::MAX_THREADS) {
                problems.push(format!(
                    "gateway.threads {threads} is more than {}: use about one per core (the default), or 0 for the shared runtime",
                    crate::per_core_listeners::MAX_THREADS
                ));
            }
            if let Some(url) = &g.builtin_issuer_url {
                if !url.starts_with("https://") {
                    problems
                        .push(format!("gateway.builtin_issuer_url '{url}' must be the issuer's https:// public URL"));
                }
            }
            match (listen, policy_file) {
                (Some(listen), Ok(policy_file)) => Some(ServeGateway {
                    listen,
                    policy_file,
                    base_dir: base.to_path_buf(),
                    tls,
                    builtin_issuer_url: g.builtin_issuer_url,
                    log_denials: g.log_denials,
                    threads: g.threads.unwrap_or_else(crate::per_core_listeners::default_threads),
                }),
                _ => None,
            }
        }
    };

    let audit_retention_days = file.audit.retention_days.unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS);
    if !(1..=3650).contains(&audit_retention_days) {
        problems.push("audit.retention_days must lie within 1..=3650".into());
    }
    problems.extend(file.listeners.problems());

    if issuer.is_none() && gateway.is_none() && admin_listen.is_none() && problems.is_empty() {
        problems.push("nothing to run: configure at least one of [issuer], [gateway], [admin]".into());
    }
    if problems.is_empty() {
        Ok(ServeConfig {
            store_url,
            issuer,
            encryption_key,
            admin_listen,
            admin_api_uri: file.admin.api_identifier_uri,
            dashboard,
            gateway,
            audit_retention_days,
            audit_gateway_decisions: file.audit.gateway_decisions.unwrap_or_default(),
            audit_durability: file.audit.durability.unwrap_or_default(),
            listener_limits: file.listeners,
        })
    } else {
        Err(problems)
    }
}

/// The key-encryption key from the environment or the configured file, if any.
fn read_encryption_key(
    file: Option<&Path>,
    resolve: &dyn Fn(&Path) -> PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<Vec<u8>> {
    match (env("TOKENGATE_KEY_ENCRYPTION_KEY"), file) {
        (Some(v), _) => {
            decode_key(v.trim()).map_err(|e| problems.push(format!("TOKENGATE_KEY_ENCRYPTION_KEY: {e}"))).ok()
        }
        (None, Some(p)) => {
            let p = resolve(p);
            match std::fs::read_to_string(&p) {
                Ok(text) => decode_key(text.trim())
                    .map_err(|e| problems.push(format!("keys.encryption_key_file '{}': {e}", p.display())))
                    .ok(),
                Err(e) => {
                    problems.push(format!("keys.encryption_key_file '{}': {e}", p.display()));
                    None
                }
            }
        }
        (None, None) => None,
    }
}

/// The issuer role's listener, TLS, token lifetimes and rate limits.
fn validate_issuer(
    section: IssuerSection,
    tokens: &TokensSection,
    keys: &KeysSection,
    rate_limit: &RateLimitSection,
    resolve: &dyn Fn(&Path) -> PathBuf,
    problems: &mut Vec<String>,
) -> Option<ServeIssuer> {
    let listen_text = section.listen.unwrap_or_else(|| "127.0.0.1:8443".into());
    let listen = listen_text
        .parse::<SocketAddr>()
        .map_err(|_| problems.push(format!("issuer.listen '{listen_text}' is not an address like 127.0.0.1:8443")))
        .ok();
    if let Some(url) = &section.public_url {
        if !url.starts_with("https://") || url.trim_end_matches('/').matches('/').count() > 2 {
            problems.push(format!(
                "issuer.public_url '{url}' must be an https:// origin without a path (MSAL refuses http)"
            ));
        }
    }
    let mut existing_file = |name: &str, value: Option<PathBuf>| -> Option<PathBuf> {
        match value {
            None => {
                problems.push(format!("{name} is required (PEM file)"));
                None
            }
            Some(p) => {
                let p = resolve(&p);
                if !p.is_file() {
                    problems.push(format!("{name} '{}' does not exist", p.display()));
                }
                Some(p)
            }
        }
    };
    let tls_cert = existing_file("issuer.tls_cert", section.tls_cert);
    let tls_key = existing_file("issuer.tls_key", section.tls_key);
    if let (Some(c), Some(k)) = (&tls_cert, &tls_key) {
        if c.is_file() && k.is_file() {
            if let Err(e) = crate::server::tls_config(c, k) {
                problems.push(format!("TLS: {e}"));
            }
        }
    }
    let defaults = TokenSettings::default();
    let settings = TokenSettings {
        access_token_lifetime_min: tokens.access_token_lifetime_min.unwrap_or(defaults.access_token_lifetime_min),
        access_token_lifetime_max: tokens.access_token_lifetime_max.unwrap_or(defaults.access_token_lifetime_max),
        clock_skew: tokens.clock_skew.unwrap_or(defaults.clock_skew),
        refresh_reuse_grace: tokens.refresh_reuse_grace_seconds.unwrap_or(defaults.refresh_reuse_grace),
        device_code_lifetime: tokens.device_code_lifetime_seconds.unwrap_or(defaults.device_code_lifetime),
    };
    if let Err(e) = settings.validate() {
        problems.push(format!("tokens: {e}"));
    }
    let key_reload_seconds = keys.reload_seconds.unwrap_or(DEFAULT_KEY_SWEEP_SECONDS);
    if !(1..=3600).contains(&key_reload_seconds) {
        problems.push("keys.reload_seconds must lie within 1..=3600".into());
    }
    let client_failures_per_minute =
        rate_limit.client_failures_per_minute.unwrap_or(DEFAULT_CLIENT_FAILURES_PER_MINUTE);
    let ip_failures_per_minute = rate_limit.ip_failures_per_minute.unwrap_or(DEFAULT_IP_FAILURES_PER_MINUTE);
    let start_defaults = DeviceCodeStartBudget::default();
    let device_code_starts = DeviceCodeStartBudget {
        per_client: rate_limit.device_code_starts_per_client_per_minute.unwrap_or(start_defaults.per_client),
        per_ip: rate_limit.device_code_starts_per_ip_per_minute.unwrap_or(start_defaults.per_ip),
    };
    let budgets =
        [client_failures_per_minute, ip_failures_per_minute, device_code_starts.per_client, device_code_starts.per_ip];
    if budgets.contains(&0) {
        problems.push("rate_limit budgets must be at least 1".into());
    }
    Some(ServeIssuer {
        listen: listen?,
        public_url: section.public_url,
        tls_cert: tls_cert?,
        tls_key: tls_key?,
        settings,
        key_reload_seconds,
        client_failures_per_minute,
        ip_failures_per_minute,
        device_code_starts,
    })
}

pub fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    match b64_decode(text) {
        Some(bytes) if bytes.len() == 32 => Ok(bytes),
        Some(bytes) => Err(format!("must decode to 32 bytes, got {}", bytes.len())),
        None => Err("is not valid base64".into()),
    }
}

/// An origin browsers can reach: scheme, host, optional port, nothing after.
fn valid_dashboard_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else { return false };
    let rest = rest.trim_end_matches('/');
    !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' '])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_problem_at_once() {
        let dir = std::env::temp_dir().join(format!("tg-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokengate.toml");
        std::fs::write(
            &path,
            "[store]\nurl = \"mysql://x\"\n[issuer]\nlisten = \"nowhere\"\npublic_url = \"http://x\"\ntls_cert = \"missing.pem\"\n[tokens]\naccess_token_lifetime_min = 10\n[audit]\nretention_days = 0\n[listeners]\nmax_connections_per_ip = 0\n",
        )
        .unwrap();
        let problems = load(&path, &|_| None).unwrap_err();
        let text = problems.join("\n");
        for expected in [
            "store.url",
            "issuer.listen",
            "public_url",
            "tls_cert",
            "tls_key",
            "tokens",
            "key-encryption key",
            "listeners.max_connections_per_ip",
        ] {
            assert!(text.contains(expected), "missing problem about {expected}: {text}");
        }
        std::fs::write(&path, "[issuer]\nunknown_field = 1\n").unwrap();
        assert!(load(&path, &|_| None).unwrap_err()[0].contains("unknown field"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_overrides_file() {
        let dir = std::env::temp_dir().join(format!("tg-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokengate.toml");
        std::fs::write(&path, "[issuer]\nlisten = \"bad\"\n").unwrap();
        let env = |name: &str| (name == "TOKENGATE_ISSUER_LISTEN").then(|| "127.0.0.1:9999".to_string());
        let problems = load(&path, &env).unwrap_err();
        assert!(!problems.iter().any(|p| p.contains("issuer.listen")), "{problems:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    #[test]
    fn a_node_runs_the_roles_its_sections_name() {
        let dir = std::env::temp_dir().join(format!("tg-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("gateway.toml"),
            "[[route]]\nname = \"p\"\npath_prefix = \"/p/\"\nupstream = \"echo\"\npublic = true\n",
        )
        .unwrap();
        let path = dir.join("tokengate.toml");

        // Gateway-only: no issuer, no key-encryption key needed.
        std::fs::write(
            &path,
            "[store]\nurl = \"postgres://db/x\"\n[gateway]\npolicy_file = \"gateway.toml\"\nbuiltin_issuer_url = \"https://login.example\"\n",
        )
        .unwrap();
        let cfg = load(&path, &|_| None).unwrap();
        assert!(cfg.issuer.is_none() && cfg.encryption_key.is_none() && cfg.admin_listen.is_none());
        let gateway = cfg.gateway.unwrap();
        assert_eq!(gateway.builtin_issuer_url.as_deref(), Some("https://login.example"));
        assert_eq!(gateway.threads, crate::per_core_listeners::default_threads(), "one listener thread per core");

        // Listener threads: 0 (the shared runtime) is a choice, thousands are a mistake.
        let gateway_with = |threads: &str| {
            format!("[store]\nurl = \"postgres://db/x\"\n[gateway]\npolicy_file = \"gateway.toml\"\nbuiltin_issuer_url = \"https://login.example\"\nthreads = {threads}\n")
        };
        std::fs::write(&path, gateway_with("0")).unwrap();
        assert_eq!(load(&path, &|_| None).unwrap().gateway.unwrap().threads, 0);
        std::fs::write(&path, gateway_with("5000")).unwrap();
        let problems = load(&path, &|_| None).unwrap_err().join("\n");
        assert!(problems.contains("gateway.threads 5000 is more than 256"), "{problems}");
        std::fs::write(
            &path,
            "[store]\nurl = \"postgres://db/x\"\n[gateway]\npolicy_file = \"gateway.toml\"\nbuiltin_issuer_url = \"https://login.example\"\n",
        )
        .unwrap();

        // An issuer variable adds the issuer role, which needs a key-encryption key.
        let env = |name: &str| (name == "TOKENGATE_ISSUER_LISTEN").then(|| "127.0.0.1:9443".to_string());
        let problems = load(&path, &env).unwrap_err().join("\n");
        assert!(problems.contains("key-encryption key is required with [issuer]"), "{problems}");

        // Nothing to run; a builtin issuer URL that is not https.
        std::fs::write(&path, "[store]\nurl = \"postgres://db/x\"\n").unwrap();
        assert!(load(&path, &|_| None).unwrap_err()[0].contains("nothing to run"));
        std::fs::write(
            &path,
            "[gateway]\npolicy_file = \"gateway.toml\"\nbuiltin_issuer_url = \"http://login.example\"\n",
        )
        .unwrap();
        assert!(load(&path, &|_| None).unwrap_err()[0].contains("builtin_issuer_url"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
