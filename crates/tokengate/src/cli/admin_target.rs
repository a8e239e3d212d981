//! Which tokengate a command talks to, decided from the global flags once: the admin API of a
//! running `tokengate dev` (`--dev-dir`, default `./tokengate-dev` when present), the admin API at
//! `--admin-url` (with `TOKENGATE_ADMIN_TOKEN` or client credentials), or the store itself
//! (`--config` / `--store`: bootstrapping an empty store, before any admin identity exists).
//! Reads no secret into anything printable: tokens and client secrets only travel to the issuer.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde::Deserialize;

use super::CliError;

/// The admin API's app ID URI unless `--admin-scope` or the dev dir names another.
pub const DEFAULT_ADMIN_SCOPE: &str = "api://tokengate-admin/.default";
/// Where `tokengate dev` keeps its data unless `--dev-dir` says otherwise.
pub const DEFAULT_DEV_DIR: &str = "./tokengate-dev";

/// Where commands find tokengate, and how they print.
#[derive(clap::Args, Clone, Debug)]
pub struct TargetArgs {
    /// A `tokengate dev` data dir: the CLI calls its admin API as its admin client (default:
    /// ./tokengate-dev when present).
    #[arg(long, global = true)]
    pub dev_dir: Option<PathBuf>,
    /// The admin API of a `tokengate serve` node, e.g. http://127.0.0.1:8081. Authenticates with
    /// TOKENGATE_ADMIN_TOKEN (a bearer token), or with --client-id, TOKENGATE_CLIENT_SECRET and
    /// --authority (client credentials).
    #[arg(long, global = true, env = "TOKENGATE_ADMIN_URL")]
    pub admin_url: Option<String>,
    /// With --admin-url: the client id of an app holding Tokengate.Admin or Tokengate.Auditor
    /// (its secret comes from TOKENGATE_CLIENT_SECRET, never a flag).
    #[arg(long, global = true, env = "TOKENGATE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// With --client-id: the authority that issues admin tokens, e.g. https://login.example.com/TENANT_ID.
    #[arg(long, global = true, env = "TOKENGATE_AUTHORITY")]
    pub authority: Option<String>,
    /// With --client-id: the scope asked for (the admin API's app ID URI + /.default).
    #[arg(long, global = true, env = "TOKENGATE_ADMIN_SCOPE", default_value = DEFAULT_ADMIN_SCOPE)]
    pub admin_scope: String,
    /// A PEM file of CA certificates to trust for the authority (and an HTTPS admin URL) besides
    /// the public roots.
    #[arg(long, global = true, env = "TOKENGATE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Work on the store of a `tokengate serve` config file directly, not through the admin API
    /// (to set up an empty store; key commands also use its key-encryption key).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Work on this store directly (sqlite://PATH or postgres://...), not through the admin API;
    /// key commands also need TOKENGATE_KEY_ENCRYPTION_KEY.
    #[arg(long, global = true, env = "TOKENGATE_STORE_URL")]
    pub store: Option<String>,
    /// Output: aligned tables for people, or the admin API's JSON for scripts.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// What a command reaches.
pub enum Target {
    /// The store itself (`--config` or `--store`).
    Store,
    Api(AdminTarget),
}

/// An admin API and the credentials to call it with.
pub struct AdminTarget {
    /// Base URL, without a trailing slash.
    pub admin_url: String,
    pub credentials: Credentials,
    /// Extra CA certificates (PEM) to trust.
    pub ca_pem: Option<Vec<u8>>,
    /// The dev dir it came from: a refused connection then means `dev` is not running there.
    pub dev_dir: Option<PathBuf>,
}

/// How the CLI gets its bearer token. Neither variant's `Debug` shows a secret.
pub enum Credentials {
    /// TOKENGATE_ADMIN_TOKEN, used as given.
    Bearer(String),
    ClientCredentials {
        authority: String,
        client_id: String,
        client_secret: String,
        scope: String,
    },
}

/// The parts of `dev.json` the CLI uses.
#[derive(Deserialize)]
struct DevJson {
    authority: String,
    ca_cert: PathBuf,
    admin_url: Option<String>,
    admin: DevAdmin,
}

#[derive(Deserialize)]
struct DevAdmin {
    client_id: String,
    client_secret: String,
    app_id_uri: Option<String>,
}

impl TargetArgs {
    /// The dev dir named or, when present, the default one.
    pub fn dev_dir(&self) -> Option<PathBuf> {
        self.dev_dir.clone().or_else(|| Some(PathBuf::from(DEFAULT_DEV_DIR)).filter(|d| d.exists()))
    }

    /// Whether the flags name the store itself rather than an admin API.
    pub fn names_store(&self) -> bool {
        self.config.is_some() || self.store.is_some()
    }

    pub fn target(&self) -> Result<Target, CliError> {
        if self.names_store() {
            return Ok(Target::Store);
        }
        if let Some(url) = &self.admin_url {
            return Ok(Target::Api(self.remote(url)?));
        }
        match self.dev_dir() {
            Some(dir) => Ok(Target::Api(dev_target(&dir)?)),
            None => Err(CliError::NoTarget),
        }
    }

    fn remote(&self, url: &str) -> Result<AdminTarget, CliError> {
        let credentials = match std::env::var("TOKENGATE_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            Some(token) => Credentials::Bearer(token.trim().to_owned()),
            None => {
                let secret = std::env::var("TOKENGATE_CLIENT_SECRET").ok().filter(|s| !s.is_empty());
                match (&self.client_id, secret, &self.authority) {
                    (Some(client_id), Some(client_secret), Some(authority)) => Credentials::ClientCredentials {
                        authority: authority.trim_end_matches('/').to_owned(),
                        client_id: client_id.clone(),
                        client_secret,
                        scope: self.admin_scope.clone(),
                    },
                    _ => return Err(CliError::NoAdminCredentials),
                }
            }
        };
        let ca_pem = match &self.ca_cert {
            Some(path) => Some(std::fs::read(path).map_err(|source| CliError::File { path: path.clone(), source })?),
            None => None,
        };
        Ok(AdminTarget { admin_url: url.trim_end_matches('/').to_owned(), credentials, ca_pem, dev_dir: None })
    }
}

/// The running `tokengate dev` in `dir`, as its admin client.
fn dev_target(dir: &Path) -> Result<AdminTarget, CliError> {
    let not_running = || CliError::DevNotRunning { dir: dir.to_owned() };
    if !dir.exists() {
        return Err(CliError::NoDevDir { dir: dir.to_owned() });
    }
    // `dev` writes dev.json once it listens; without it (or its admin URL) nothing answers yet.
    let text = std::fs::read_to_string(dir.join("dev.json")).map_err(|_| not_running())?;
    let dev: DevJson = serde_json::from_str(&text)
        .map_err(|e| CliError::Argument(format!("{}: not a dev.json this CLI understands: {e}", dir.display())))?;
    let admin_url = dev.admin_url.ok_or_else(not_running)?;
    let ca_pem = std::fs::read(&dev.ca_cert).map_err(|source| CliError::File { path: dev.ca_cert.clone(), source })?;
    let scope = dev.admin.app_id_uri.map_or_else(|| DEFAULT_ADMIN_SCOPE.to_owned(), |uri| format!("{uri}/.default"));
    Ok(AdminTarget {
        admin_url: admin_url.trim_end_matches('/').to_owned(),
        credentials: Credentials::ClientCredentials {
            authority: dev.authority,
            client_id: dev.admin.client_id,
            client_secret: dev.admin.client_secret,
            scope,
        },
        ca_pem: Some(ca_pem),
        dev_dir: Some(dir.to_owned()),
    })
}
