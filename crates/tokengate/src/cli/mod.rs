//! Command line: `dev`, `serve`, and commands that inspect and change the directory and keys.
//! Directory commands talk to the store directly for now; the control-plane issue moves them
//! onto the admin API.

mod audit_commands;
mod cli_error;
mod directory_commands;
mod key_commands;
mod permission_commands;
mod revocation_commands;
mod user_commands;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokengate_store::OpenMode;

pub use cli_error::CliError;

use crate::{config, dev, runtime};

#[derive(Parser)]
#[command(
    name = "tokengate",
    version,
    about = "Entra ID token-based access control for APIs: issuer, gateway, control plane"
)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Where directory and key commands find the store.
#[derive(clap::Args, Clone)]
pub struct StoreArgs {
    /// A `tokengate dev` data dir (default: ./tokengate-dev when present).
    #[arg(long, global = true)]
    pub dev_dir: Option<PathBuf>,
    /// A `tokengate serve` config file (store URL and key-encryption key come from it).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Store URL (sqlite://PATH or postgres://...); key commands also need TOKENGATE_KEY_ENCRYPTION_KEY.
    #[arg(long, global = true, env = "TOKENGATE_STORE_URL")]
    pub store: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run everything locally with no set-up: SQLite store, local CA, demo tenant, dev.json.
    Dev(dev::DevOptions),
    /// Run from a config file (TOML; TOKENGATE_* environment variables override it).
    Serve {
        #[arg(long)]
        config: PathBuf,
        /// Validate the configuration, list every problem, and exit.
        #[arg(long)]
        check: bool,
        /// Create the store if it does not exist yet (first start). Without it a missing store is
        /// an error, so a mistyped path or URL never starts an empty deployment.
        #[arg(long)]
        init: bool,
    },
    /// Create the store a config file names (SQLite file or Postgres schema) and its first signing
    /// keys, sealed with the config's key-encryption key. Nothing else creates a store by accident.
    Init {
        #[arg(long)]
        config: PathBuf,
    },
    /// Tenants.
    Tenant {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: directory_commands::TenantCommand,
    },
    /// App registrations, their scopes and app roles.
    App {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: directory_commands::AppCommand,
    },
    /// Client secrets (the value is shown once).
    Secret {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: directory_commands::SecretCommand,
    },
    /// Certificate credentials.
    Cert {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: directory_commands::CertCommand,
    },
    /// App-role grants to client apps (admin consent for application permissions).
    Grant {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: directory_commands::GrantCommand,
    },
    /// Users (password hashed with Argon2id) and their app-role assignments.
    User {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: user_commands::UserCommand,
    },
    /// Groups and membership.
    Group {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: user_commands::GroupCommand,
    },
    /// Consent to delegated permissions (per user or tenant-wide admin consent).
    Consent {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: user_commands::ConsentCommand,
    },
    /// Kill switch: revoke a token, user, client app, signing key or refresh-token family on every
    /// node (`--wait` returns when every live gateway has applied it).
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: revocation_commands::RevokeCommand,
    },
    /// What is revoked now.
    Revocations {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: revocation_commands::RevocationsCommand,
    },
    /// The nodes sharing this store: roles, readiness, and how far each lags behind the feed.
    Nodes {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
    /// The audit log: verify its hash chain and checkpoints, export it, query it.
    Audit {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: audit_commands::AuditCommand,
    },
    /// Signing keys: list, rotate, emergency removal.
    Keys {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: key_commands::KeyCommand,
    },
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOKENGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Dev(options) => Ok(dev::run(options).await?),
        Command::Serve { config, check, init } => serve(config, check, init).await,
        Command::Init { config } => init(config).await,
        Command::Tenant { store, command } => directory_commands::tenant(&open(&store).await?.0, command).await,
        Command::App { store, command } => directory_commands::app(&open(&store).await?.0, command).await,
        Command::Secret { store, command } => directory_commands::secret(&open(&store).await?.0, command).await,
        Command::Cert { store, command } => directory_commands::cert(&open(&store).await?.0, command).await,
        Command::Grant { store, command } => directory_commands::grant(&open(&store).await?.0, command).await,
        Command::User { store, command } => user_commands::user(&open(&store).await?.0, command).await,
        Command::Group { store, command } => user_commands::group(&open(&store).await?.0, command).await,
        Command::Consent { store, command } => user_commands::consent(&open(&store).await?.0, command).await,
        Command::Revoke { store, command } => {
            let (store, kek) = open(&store).await?;
            revocation_commands::revoke(&store, kek, command).await
        }
        Command::Revocations { store, command } => {
            revocation_commands::revocations(&open(&store).await?.0, command).await
        }
        Command::Nodes { store, json } => revocation_commands::nodes(&open(&store).await?.0, json).await,
        Command::Audit { store, command } => {
            let (store, kek) = open(&store).await?;
            audit_commands::audit(store.as_ref(), kek, command).await
        }
        Command::Keys { store, command } => {
            let (store, kek) = open(&store).await?;
            key_commands::keys(&store, kek, command).await
        }
    }
}

/// The config file at `path`, with `TOKENGATE_*` overrides, or every problem it has.
fn load_config(path: &std::path::Path) -> Result<config::ServeConfig, CliError> {
    config::load(path, &|name| std::env::var(name).ok())
        .map_err(|problems| CliError::Config { path: path.to_owned(), problems })
}

async fn serve(path: PathBuf, check_only: bool, init: bool) -> Result<(), CliError> {
    let cfg = load_config(&path)?;
    if check_only {
        println!("{}: configuration is valid", path.display());
        return Ok(());
    }
    let mode = if init { OpenMode::CreateIfMissing } else { OpenMode::Existing };
    let store = tokengate_store::open_store(&cfg.store_url, mode).await.map_err(CliError::OpenStore)?;
    let issuer = match cfg.issuer {
        None => None,
        Some(i) => Some(runtime::IssuerOptions {
            kek: Arc::new(issuer_key(cfg.encryption_key.as_deref())?),
            settings: i.settings,
            listen: i.listen,
            public_url: i.public_url,
            tls: crate::server::tls_config(&i.tls_cert, &i.tls_key).map_err(CliError::Tls)?,
            client_failures_per_minute: i.client_failures_per_minute,
            ip_failures_per_minute: i.ip_failures_per_minute,
            key_reload: std::time::Duration::from_secs(i.key_reload_seconds),
        }),
    };
    let gateway = match cfg.gateway {
        None => None,
        Some(g) => Some(runtime::GatewayOptions {
            listen: g.listen,
            policy: g.policy,
            policy_path: Some(g.policy_path),
            tls: match &g.tls {
                Some((cert, key)) => Some(crate::server::tls_config(cert, key).map_err(CliError::Tls)?),
                None => None,
            },
            builtin_issuer_url: g.builtin_issuer_url,
            log_denials: g.log_denials,
        }),
    };
    let running = runtime::start(runtime::RuntimeOptions {
        store,
        issuer,
        gateway,
        admin_listen: cfg.admin_listen,
        admin_api_uri: cfg.admin_api_uri,
        audit_retention: std::time::Duration::from_secs(cfg.audit_retention_days * 86_400),
        listener_limits: cfg.listener_limits,
    })
    .await?;
    tracing::info!(
        node = %running.node.name,
        roles = %running.node.roles,
        issuer = ?running.base_url,
        issuer_listen = ?running.issuer_addr,
        gateway = ?running.gateway_addr,
        admin = ?running.admin_addr,
        "tokengate serving"
    );
    runtime::shutdown_signal().await;
    running.stop().await;
    Ok(())
}

/// The key-encryption key the issuer role needs (validation already required one).
fn issuer_key(bytes: Option<&[u8]>) -> Result<KeyEncryptionKey, CliError> {
    let bytes = bytes.ok_or(CliError::NeedsKeyEncryptionKey)?;
    KeyEncryptionKey::from_bytes(bytes).map_err(CliError::KeyEncryptionKey)
}

async fn init(path: PathBuf) -> Result<(), CliError> {
    let cfg = load_config(&path)?;
    let store =
        tokengate_store::open_store(&cfg.store_url, OpenMode::CreateIfMissing).await.map_err(CliError::OpenStore)?;
    let kek = issuer_key(cfg.encryption_key.as_deref())?;
    crate::signing_keys::ensure_keys(store.as_ref(), &kek, crate::state::now()).await?;
    println!("store ready: {}", redact_url(&cfg.store_url));
    Ok(())
}

/// A store URL fit for output: any password is replaced.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// The store (and key-encryption key, when known) that the global flags point at.
async fn open(args: &StoreArgs) -> Result<(Arc<dyn Store>, Option<KeyEncryptionKey>), CliError> {
    if let Some(config_path) = &args.config {
        let cfg = load_config(config_path)?;
        let store =
            tokengate_store::open_store(&cfg.store_url, OpenMode::Existing).await.map_err(CliError::OpenStore)?;
        return Ok((store, cfg.encryption_key.and_then(|k| KeyEncryptionKey::from_bytes(&k).ok())));
    }
    if let Some(url) = &args.store {
        let store = tokengate_store::open_store(url, OpenMode::Existing).await.map_err(CliError::OpenStore)?;
        let kek = std::env::var("TOKENGATE_KEY_ENCRYPTION_KEY")
            .ok()
            .and_then(|v| config::decode_key(v.trim()).ok())
            .and_then(|b| KeyEncryptionKey::from_bytes(&b).ok());
        return Ok((store, kek));
    }
    let dir = args.dev_dir.clone().unwrap_or_else(|| PathBuf::from("./tokengate-dev"));
    if !dev::has_store(&dir) {
        return Err(CliError::NoStore { dir });
    }
    let store =
        tokengate_store::open_store(&dev::store_url(&dir), OpenMode::Existing).await.map_err(CliError::OpenStore)?;
    Ok((store, Some(dev::existing_key_encryption_key(&dir)?)))
}
