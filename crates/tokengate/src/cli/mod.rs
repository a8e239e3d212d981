//! Command line: `dev`, `serve`, `init`, and kubectl-style commands that call the admin API of a
//! running tokengate (`--dev-dir` or `--admin-url`, see `admin_target`). With `--config` or
//! `--store` they work on the store directly instead (setting up an empty store, before any admin
//! identity exists; `store_*_commands`). `audit verify` and `keys reset` read and repair the store
//! itself by nature.

mod admin_client;
mod admin_target;
mod api_app_commands;
mod api_audit_commands;
mod api_consent_commands;
mod api_directory_commands;
mod api_group_commands;
mod api_permission_commands;
mod api_revocation_commands;
mod api_role_assignments;
mod api_user_commands;
mod app_args;
mod audit_commands;
mod audit_tail;
mod authority_client;
mod cli_error;
mod client_assertion_builder;
mod conditional_update;
mod confirmation;
mod device_code_client;
mod directory_args;
#[cfg(test)]
mod help_text_tests;
mod key_commands;
mod name_resolution;
mod policy_commands;
mod revocation_commands;
mod store_directory_commands;
mod store_names;
mod store_permission_commands;
mod store_user_commands;
mod table;
mod token_cache;
mod token_commands;
mod token_decode;
mod token_dev_defaults;
mod token_explain;
mod token_get;
mod user_args;

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokengate_store::OpenMode;

pub use admin_target::TargetArgs;
pub use cli_error::CliError;

use admin_client::AdminClient;
use admin_target::{Output, Target};

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

// Parsed once per process: the size of the largest command's arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
    /// Run everything locally with no set-up: SQLite store, local CA, demo tenant, dev.json.
    Dev(dev::DevOptions),
    /// Run from a config file (TOML; TOKENGATE_* environment variables override it).
    Serve {
        /// The config file (TOML).
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
        /// The config file (TOML) naming the store and the key-encryption key.
        #[arg(long)]
        config: PathBuf,
    },
    /// Tenants.
    Tenant {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: directory_args::TenantCommand,
    },
    /// App registrations: settings, redirect URIs, scopes, app roles, API permissions, service principals.
    App {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: app_args::AppCommand,
    },
    /// Client secrets (the value is shown once).
    Secret {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: directory_args::SecretCommand,
    },
    /// Certificate credentials.
    Cert {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: directory_args::CertCommand,
    },
    /// App-role grants to client apps (admin consent for application permissions).
    Grant {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: directory_args::GrantCommand,
    },
    /// Users (password hashed with Argon2id), their groups and app-role assignments.
    User {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: user_args::UserCommand,
    },
    /// Groups and their members.
    Group {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: user_args::GroupCommand,
    },
    /// Consent to delegated permissions (per user or tenant-wide admin consent).
    Consent {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: user_args::ConsentCommand,
    },
    /// Kill switch: revoke a token, user, client app, signing key or refresh-token family on every
    /// node (`--wait` returns when every live gateway has applied it).
    Revoke {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: revocation_commands::RevokeCommand,
    },
    /// What is revoked now.
    Revocations {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: revocation_commands::RevocationsCommand,
    },
    /// The nodes sharing this store: roles, readiness, and how far each lags behind the feed.
    Nodes {
        #[command(flatten)]
        target: TargetArgs,
        /// Same as `-o json` (kept for scripts written before `-o`).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// The audit log: query it, follow it live, export it, verify its hash chain and checkpoints.
    Audit {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: audit_commands::AuditCommand,
    },
    /// Signing keys: list, rotate, emergency removal.
    Keys {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: key_commands::KeyCommand,
    },
    /// The gateway policy's versions: apply a file (diff, simulation, publish), history, show,
    /// diff, rollback, simulate. Every gateway node runs the published version within a second.
    Policy {
        #[command(flatten)]
        target: TargetArgs,
        #[command(subcommand)]
        command: policy_commands::PolicyCommand,
    },
    /// Tokens from any Entra-compatible authority (tokengate's issuer or Entra ID): get one
    /// (cached, refreshed silently), decode one offline, explain one through the admin API.
    Token {
        #[command(subcommand)]
        command: token_commands::TokenCommand,
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
        Command::Tenant { target, command } => {
            if target.names_store() {
                store_directory_commands::tenant(&open(&target).await?.0, command).await
            } else {
                api_directory_commands::tenant(&target, command).await
            }
        }
        Command::App { target, command } => {
            if target.names_store() {
                store_directory_commands::app(&open(&target).await?.0, command).await
            } else {
                api_app_commands::app(&target, command).await
            }
        }
        Command::Secret { target, command } => {
            if target.names_store() {
                store_directory_commands::secret(&open(&target).await?.0, command).await
            } else {
                api_directory_commands::secret(&target, command).await
            }
        }
        Command::Cert { target, command } => {
            if target.names_store() {
                store_directory_commands::cert(&open(&target).await?.0, command).await
            } else {
                api_directory_commands::cert(&target, command).await
            }
        }
        Command::Grant { target, command } => {
            if target.names_store() {
                store_directory_commands::grant(&open(&target).await?.0, command).await
            } else {
                api_directory_commands::grant(&target, command).await
            }
        }
        Command::User { target, command } => {
            if target.names_store() {
                store_user_commands::user(&open(&target).await?.0, command).await
            } else {
                api_user_commands::user(&target, command).await
            }
        }
        Command::Group { target, command } => {
            if target.names_store() {
                store_user_commands::group(&open(&target).await?.0, command).await
            } else {
                api_group_commands::group(&target, command).await
            }
        }
        Command::Consent { target, command } => {
            if target.names_store() {
                store_user_commands::consent(&open(&target).await?.0, command).await
            } else {
                api_consent_commands::consent(&target, command).await
            }
        }
        Command::Revoke { target, command } => {
            if target.names_store() {
                let (store, kek) = open(&target).await?;
                revocation_commands::revoke(&store, kek, command).await
            } else {
                api_revocation_commands::revoke(&target, command).await
            }
        }
        Command::Revocations { target, command } => {
            if target.names_store() {
                revocation_commands::revocations(&open(&target).await?.0, command).await
            } else {
                api_revocation_commands::revocations(&target, command).await
            }
        }
        Command::Nodes { target, json } => {
            if target.names_store() {
                let json = json || target.output == Output::Json;
                revocation_commands::nodes(&open(&target).await?.0, json).await
            } else {
                api_revocation_commands::nodes(&target, json).await
            }
        }
        Command::Audit { target, command } => audit(&target, command).await,
        Command::Policy { target, command } => policy_commands::policy(&target, command).await,
        Command::Keys { target, command } => {
            // `reset` recovers a store whose key-encryption key is lost: only the store can.
            if target.names_store() || matches!(command, key_commands::KeyCommand::Reset { .. }) {
                let (store, kek) = open(&target).await?;
                key_commands::keys(&store, kek, command).await
            } else {
                api_revocation_commands::keys(&target, command).await
            }
        }
        Command::Token { command } => token_commands::token(command).await,
    }
}

async fn audit(target: &TargetArgs, command: audit_commands::AuditCommand) -> Result<(), CliError> {
    use audit_commands::AuditCommand;
    let on_store = target.names_store()
        || matches!(command, AuditCommand::Verify { .. } | AuditCommand::Export { from_store: true, .. });
    if on_store {
        let (store, kek) = open(target).await?;
        return audit_commands::audit(store.as_ref(), kek, command, target.output == Output::Json).await;
    }
    match command {
        AuditCommand::Query { filter, limit, cursor } => {
            api_audit_commands::query(target, &filter, limit, cursor).await
        }
        AuditCommand::Export { filter, .. } => api_audit_commands::export(target, &filter).await,
        AuditCommand::Tail { filter, after } => api_audit_commands::tail(target, &filter, after).await,
        AuditCommand::Verify { .. } => Ok(()), // routed to the store above
    }
}

/// A client of the admin API the flags name, holding a token.
async fn api_session(args: &TargetArgs) -> Result<AdminClient, CliError> {
    match args.target()? {
        Target::Api(target) => AdminClient::connect(target).await,
        // Callers only ask for a session when the flags name no store.
        Target::Store => {
            Err(CliError::Argument("this command works through the admin API: drop --config/--store".into()))
        }
    }
}

/// `-o`, or JSON when a command's legacy `--json` asks for it.
fn output_of(args: &TargetArgs, json: bool) -> Output {
    if json {
        Output::Json
    } else {
        args.output
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
            device_code_starts: i.device_code_starts,
            key_reload: std::time::Duration::from_secs(i.key_reload_seconds),
        }),
    };
    let gateway = match cfg.gateway {
        None => None,
        Some(g) => Some(runtime::GatewayOptions {
            listen: g.listen,
            policy_file: g.policy_file,
            base_dir: g.base_dir,
            tls: match &g.tls {
                Some((cert, key)) => Some(crate::server::tls_config(cert, key).map_err(CliError::Tls)?),
                None => None,
            },
            builtin_issuer_url: g.builtin_issuer_url,
            log_denials: g.log_denials,
            decision_records: cfg.audit_gateway_decisions,
            threads: g.threads,
        }),
    };
    let running = runtime::start(runtime::RuntimeOptions {
        store,
        issuer,
        gateway,
        admin_listen: cfg.admin_listen,
        admin_api_uri: cfg.admin_api_uri,
        dashboard: cfg.dashboard,
        audit_retention: std::time::Duration::from_secs(cfg.audit_retention_days * 86_400),
        audit_durability: cfg.audit_durability,
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
async fn open(args: &TargetArgs) -> Result<(Arc<dyn Store>, Option<KeyEncryptionKey>), CliError> {
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
    let dir = args.dev_dir.clone().unwrap_or_else(|| PathBuf::from(admin_target::DEFAULT_DEV_DIR));
    if !dev::has_store(&dir) {
        return Err(CliError::NoStore { dir });
    }
    let store =
        tokengate_store::open_store(&dev::store_url(&dir), OpenMode::Existing).await.map_err(CliError::OpenStore)?;
    Ok((store, Some(dev::existing_key_encryption_key(&dir)?)))
}
