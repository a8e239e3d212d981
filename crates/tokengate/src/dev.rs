//! `tokengate dev`: the whole product on one machine with no set-up — a data dir with an embedded
//! SQLite store, a local CA and HTTPS certificate, a demo tenant with an API, a confidential
//! client (secret + certificate), a public client and an admin client; then the listeners, a
//! machine-readable `dev.json` and a quickstart a newcomer can paste.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use serde::{Deserialize, Serialize};
use tokengate_core::api_permissions::add_api_permission;
use tokengate_core::directory::{AllowedMemberType, RedirectPlatform, RedirectUri, SignInAudience};
use tokengate_core::directory_admin::{self as admin, NewApp};
use tokengate_core::encoding::{b64, hex_upper, pem, sha1};
use tokengate_core::keys::local_ca::generate_local_ca;
use tokengate_core::keys::signing_key::self_signed_certificate;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;
use uuid::Uuid;

use tokengate_store::OpenMode;

use crate::dev_data_dir;
use crate::dev_error::DevError;
use crate::runtime::{self, GatewayOptions, IssuerOptions, RuntimeOptions};

#[derive(clap::Args)]
pub struct DevOptions {
    /// Where the store, keys, CA, gateway.toml and dev.json live (created if missing, reused if not).
    #[arg(long, default_value = "./tokengate-dev")]
    pub data_dir: PathBuf,
    /// HTTPS issuer port (0 = pick a free one; the actual port goes into dev.json).
    #[arg(long, default_value_t = 8443)]
    pub issuer_port: u16,
    /// Gateway port (plain HTTP on loopback).
    #[arg(long, default_value_t = 8080)]
    pub gateway_port: u16,
    /// Admin port: health, readiness, metrics.
    #[arg(long, default_value_t = 8081)]
    pub admin_port: u16,
    /// Put your own service behind the demo route (e.g. http://127.0.0.1:3000) instead of the built-in echo.
    #[arg(long)]
    pub upstream: Option<String>,
    /// How long device codes stay valid, in seconds (Entra: 900). Short values help tests of expiry.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(i64).range(10..=3600))]
    pub device_code_lifetime: i64,
    /// Grace, in seconds, for presenting the immediately previous refresh token again (lost response).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(0..=300))]
    pub refresh_reuse_grace: i64,
    /// Run the gateway with your own policy file (never rewritten) instead of DIR/gateway.toml.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Regenerate DIR/gateway.toml even if you edited it (an edited one is otherwise kept).
    #[arg(long, conflicts_with = "policy")]
    pub reset_policy: bool,
    /// Run on this store instead of the embedded SQLite one (e.g. postgres://postgres@127.0.0.1/tokengate),
    /// so more nodes can join it with `tokengate serve`. Remembered in the data dir.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Which gateway decisions get an audit record (`[audit] gateway_decisions` in serve).
    #[arg(long, value_enum, default_value_t = crate::gateway::gateway_state::DecisionRecords::All)]
    pub gateway_decisions: crate::gateway::gateway_state::DecisionRecords,
    /// `strict`: no answer before its audit record has committed (`[audit] durability` in serve).
    #[arg(long, value_enum, default_value_t = crate::audit_writer::AuditDurability::Buffered)]
    pub audit_durability: crate::audit_writer::AuditDurability,
    /// Gateway listener threads, each with its own runtime and socket (`[gateway] threads` in
    /// serve; default: one per core; 0: the gateway shares the process's runtime).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=crate::per_core_listeners::MAX_THREADS as i64))]
    pub gateway_threads: Option<u16>,
    /// `POST /devicecode` requests allowed per minute per client and per source address (default
    /// 600 and 30; `[rate_limit] device_code_starts_per_*_per_minute` in serve). Raise it for load tests.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub device_code_starts_per_minute: Option<u32>,
    #[command(flatten)]
    pub listener_limits: crate::listener_limits::ListenerLimitArgs,
}

/// Path prefix of the demo route.
pub const DEMO_ROUTE: &str = "/demo/";

/// What `dev` created once and reuses on every later run (kept in `seed.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevSeed {
    pub tenant_id: Uuid,
    pub tenant_domain: String,
    pub api: DevApi,
    pub confidential_client: DevConfidentialClient,
    pub public_client: DevPublicClient,
    pub admin: DevAdminClient,
    /// Added by a later version: dirs seeded before it get users on their next start.
    #[serde(default)]
    pub users: Option<DevUsers>,
    /// Whether the clients' API permissions were configured (dirs seeded before get them once).
    #[serde(default)]
    pub api_permissions: bool,
    /// A client and a user holding Tokengate.Auditor (read-only admin); added by a later version.
    #[serde(default)]
    pub auditor: Option<DevAuditor>,
    /// The dashboard's sign-in client; added by a later version.
    #[serde(default)]
    pub dashboard: Option<crate::dev_dashboard_client::DevDashboard>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevAuditor {
    pub client_id: Uuid,
    pub client_secret: String,
    pub user: DevUser,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevUsers {
    pub user: DevUser,
    pub admin_user: DevUser,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevUser {
    pub username: String,
    pub password: String,
    pub object_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevApi {
    pub app_id: Uuid,
    pub app_id_uri: String,
    pub scopes: Vec<String>,
    pub app_roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevConfidentialClient {
    pub client_id: Uuid,
    pub client_secret: String,
    pub certificate_pem: PathBuf,
    pub certificate_thumbprint: String,
    pub granted_app_roles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevPublicClient {
    pub client_id: Uuid,
    pub redirect_uri: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevAdminClient {
    pub client_id: Uuid,
    pub client_secret: String,
    pub app_id: Uuid,
    pub app_id_uri: String,
}

pub const ADMIN_ROLE: &str = "Tokengate.Admin";
pub const AUDITOR_ROLE: &str = "Tokengate.Auditor";

/// The store a data dir runs on: the one `--store` named when it was set up (kept in
/// `DIR/store_url`), else the embedded SQLite file.
pub fn store_url(data_dir: &Path) -> String {
    match std::fs::read_to_string(data_dir.join(STORE_URL_FILE)) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => embedded_store_url(data_dir),
    }
}

fn embedded_store_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("tokengate.db").display())
}

/// Where a data dir remembers its `--store`.
pub const STORE_URL_FILE: &str = "store_url";

/// Whether a data dir holds a dev store (the embedded file, or a remembered `--store`).
pub fn has_store(data_dir: &Path) -> bool {
    data_dir.join("tokengate.db").exists() || data_dir.join(STORE_URL_FILE).exists()
}

/// Settles which store this run uses, and remembers a new `--store` for later runs and the CLI.
fn choose_store(dir: &Path, asked: Option<&str>) -> Result<String, DevError> {
    let current = store_url(dir);
    let seeded = dir.join("seed.json").exists();
    match asked {
        None => Ok(current),
        Some(url) if url == current => Ok(current),
        Some(url) if seeded => Err(DevError::StoreMismatch {
            dir: dir.to_owned(),
            seeded: crate::cli::redact_url(&current),
            asked: crate::cli::redact_url(url),
        }),
        Some(url) => {
            write_atomic(&dir.join(STORE_URL_FILE), url)?;
            Ok(url.to_owned())
        }
    }
}

/// The data dir's key-encryption key, created on first use (0600) — but never beside a store that
/// already holds signing keys: those were sealed with the missing key, and a silent new key would
/// only make the store unusable later.
pub async fn key_encryption_key(data_dir: &Path, store: &dyn Store) -> Result<KeyEncryptionKey, DevError> {
    let path = data_dir.join("master.key");
    if !path.exists() {
        let keys = store.signing_keys().await.map_err(DevError::Store)?;
        if !keys.is_empty() {
            return Err(DevError::MissingKeyEncryptionKey { path, sealed: keys.len() });
        }
        write_private(&path, &format!("{}\n", b64(KeyEncryptionKey::generate_bytes())))?;
    }
    existing_key_encryption_key(data_dir)
}

/// The data dir's key-encryption key, which must exist (CLI commands never create one).
pub fn existing_key_encryption_key(data_dir: &Path) -> Result<KeyEncryptionKey, DevError> {
    let path = data_dir.join("master.key");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // Only asked of a data dir with a store, whose signing keys were sealed with it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(DevError::MissingKeyEncryptionKey { path, sealed: 1 })
        }
        Err(source) => return Err(DevError::File { path, source }),
    };
    let bytes = match crate::config::decode_key(text.trim()) {
        Ok(bytes) => bytes,
        Err(reason) => return Err(DevError::UnreadableKeyEncryptionKey { path, reason }),
    };
    KeyEncryptionKey::from_bytes(&bytes).map_err(|source| DevError::InvalidKeyEncryptionKey { path, source })
}

fn write_private(path: &Path, content: &str) -> Result<(), DevError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).map_err(DevError::file(path))?;
    f.write_all(content.as_bytes()).map_err(DevError::file(path))?;
    f.sync_all().map_err(DevError::file(path))
}

/// Writes via a temporary file and rename, so readers never see half a file.
pub(crate) fn write_atomic(path: &Path, content: &str) -> Result<(), DevError> {
    let tmp = path.with_extension("tmp");
    write_private(&tmp, content)?;
    std::fs::rename(&tmp, path).map_err(DevError::file(path))
}

fn ensure_tls(data_dir: &Path, now: i64) -> Result<(), DevError> {
    let (ca, cert, key) = (data_dir.join("ca.pem"), data_dir.join("server.pem"), data_dir.join("server-key.pem"));
    if ca.exists() && cert.exists() && key.exists() {
        return Ok(());
    }
    let generated =
        generate_local_ca(now).map_err(|source| DevError::KeyGeneration { what: "the local CA", source })?;
    write_private(&key, &generated.server_key_pem)?;
    std::fs::write(&cert, &generated.server_cert_pem).map_err(DevError::file(&cert))?;
    std::fs::write(&ca, &generated.ca_cert_pem).map_err(DevError::file(&ca))
}

async fn seed(store: &dyn Store, data_dir: &Path, now: i64) -> Result<DevSeed, DevError> {
    let tenant_domain = "demo.tokengate.test".to_string();
    let tenant = admin::create_tenant(store, "tokengate demo", std::slice::from_ref(&tenant_domain), now).await?;

    let api_uri = "api://tokengate-demo-api".to_string();
    let (api, _) = demo_app(store, tenant.id, "Demo API", vec![api_uri.clone()], false, vec![], now).await?;
    let scopes = ["Demo.Read", "Demo.Write"];
    for s in scopes {
        admin::add_scope(store, api.app_id, s, &format!("{s} on the demo API"), now).await?;
    }
    let roles = [
        ("Demo.Read.All", vec![AllowedMemberType::Application]),
        ("Demo.Write.All", vec![AllowedMemberType::Application]),
        ("Demo.Admin", vec![AllowedMemberType::User]),
    ];
    for (value, members) in &roles {
        admin::add_app_role(store, api.app_id, value, value, members.clone(), now).await?;
    }

    let (client, _) = demo_app(
        store,
        tenant.id,
        "Demo daemon",
        vec![],
        false,
        vec![RedirectUri { platform: RedirectPlatform::Web, uri: "https://localhost/callback".into() }],
        now,
    )
    .await?;
    let secret = admin::create_secret(store, client.app_id, "dev", 365, now).await?;
    let (cert_path, thumbprint) = client_certificate(store, data_dir, client.app_id, now).await?;
    let granted = vec!["Demo.Read.All".to_string()];
    for role in &granted {
        admin::grant_app_role(store, tenant.id, client.app_id, api.app_id, role, now).await?;
    }

    let (public, _) = demo_app(
        store,
        tenant.id,
        "Demo CLI",
        vec![],
        true,
        vec![RedirectUri { platform: RedirectPlatform::PublicClient, uri: "http://localhost".into() }],
        now,
    )
    .await?;

    // The control plane's own API and an admin client holding Tokengate.Admin.
    let admin_uri = "api://tokengate-admin".to_string();
    let (admin_api, _) =
        demo_app(store, tenant.id, "tokengate admin API", vec![admin_uri.clone()], false, vec![], now).await?;
    for role in [ADMIN_ROLE, AUDITOR_ROLE] {
        let members = vec![AllowedMemberType::Application, AllowedMemberType::User];
        admin::add_app_role(store, admin_api.app_id, role, role, members, now).await?;
    }
    let (admin_client, _) = demo_app(store, tenant.id, "tokengate admin client", vec![], false, vec![], now).await?;
    let admin_secret = admin::create_secret(store, admin_client.app_id, "dev", 365, now).await?;
    admin::grant_app_role(store, tenant.id, admin_client.app_id, admin_api.app_id, ADMIN_ROLE, now).await?;

    Ok(DevSeed {
        tenant_id: tenant.id,
        tenant_domain,
        api: DevApi {
            app_id: api.app_id,
            app_id_uri: api_uri,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            app_roles: roles.iter().map(|(v, _)| (*v).to_owned()).collect(),
        },
        confidential_client: DevConfidentialClient {
            client_id: client.app_id,
            client_secret: secret.value,
            certificate_pem: cert_path,
            certificate_thumbprint: thumbprint,
            granted_app_roles: granted,
        },
        public_client: DevPublicClient { client_id: public.app_id, redirect_uri: "http://localhost".into() },
        admin: DevAdminClient {
            client_id: admin_client.app_id,
            client_secret: admin_secret.value,
            app_id: admin_api.app_id,
            app_id_uri: admin_uri,
        },
        users: None,
        api_permissions: false,
        auditor: None,
        dashboard: None,
    })
}

/// The clients' configured API permissions, as an app registration lists them in Entra: the
/// public client's delegated Demo.Read and Demo.Write (what `{api}/.default` stands for), and the
/// application permissions the daemon and the admin client were granted.
async fn seed_api_permissions(store: &dyn Store, seed: &DevSeed, now: i64) -> Result<(), DevError> {
    let api = seed.api.app_id.to_string();
    let delegated = ["Demo.Read".to_string(), "Demo.Write".to_string()];
    add_api_permission(store, seed.public_client.client_id, &api, &delegated, &[], now).await?;
    let cc = &seed.confidential_client;
    add_api_permission(store, cc.client_id, &api, &[], &cc.granted_app_roles, now).await?;
    let admin_api = seed.admin.app_id.to_string();
    add_api_permission(store, seed.admin.client_id, &admin_api, &[], &[ADMIN_ROLE.to_string()], now).await?;
    Ok(())
}

/// The demo user (holds Demo.Admin, member of "Demo Readers"; the public client has tenant-wide
/// consent for Demo.Read) and an admin user holding Tokengate.Admin. Passwords are random and
/// written to seed.json/dev.json only.
async fn seed_users(store: &dyn Store, seed: &DevSeed, now: i64) -> Result<DevUsers, DevError> {
    let password = || tokengate_core::encoding::b64url(tokengate_core::encoding::random_bytes::<12>());
    let user_password = password();
    let upn = format!("demo@{}", seed.tenant_domain);
    let user = admin::create_user(store, seed.tenant_id, &upn, "Demo User", &user_password, now).await?;
    admin::assign_user_role(store, seed.tenant_id, user.object_id, seed.api.app_id, "Demo.Admin", now).await?;
    let group = admin::create_group(store, seed.tenant_id, "Demo Readers", now).await?;
    admin::add_group_member(store, group.object_id, user.object_id, now).await?;
    let read = ["Demo.Read".to_string()];
    admin::grant_consent(store, seed.tenant_id, seed.public_client.client_id, seed.api.app_id, None, &read, now)
        .await?;
    let admin_password = password();
    let admin_upn = format!("admin@{}", seed.tenant_domain);
    let admin_user = admin::create_user(store, seed.tenant_id, &admin_upn, "Demo Admin", &admin_password, now).await?;
    admin::assign_user_role(store, seed.tenant_id, admin_user.object_id, seed.admin.app_id, ADMIN_ROLE, now).await?;
    Ok(DevUsers {
        user: DevUser { username: user.user_principal_name, password: user_password, object_id: user.object_id },
        admin_user: DevUser {
            username: admin_user.user_principal_name,
            password: admin_password,
            object_id: admin_user.object_id,
        },
    })
}

/// An auditor client and user: the admin API's read-only role, for trying the control plane
/// without the power to change anything.
async fn seed_auditor(store: &dyn Store, seed: &DevSeed, now: i64) -> Result<DevAuditor, DevError> {
    let (client, _) = demo_app(store, seed.tenant_id, "tokengate auditor client", vec![], false, vec![], now).await?;
    let secret = admin::create_secret(store, client.app_id, "dev", 365, now).await?;
    admin::grant_app_role(store, seed.tenant_id, client.app_id, seed.admin.app_id, AUDITOR_ROLE, now).await?;
    let admin_api = seed.admin.app_id.to_string();
    add_api_permission(store, client.app_id, &admin_api, &[], &[AUDITOR_ROLE.to_string()], now).await?;
    let password = tokengate_core::encoding::b64url(tokengate_core::encoding::random_bytes::<12>());
    let upn = format!("auditor@{}", seed.tenant_domain);
    let user = admin::create_user(store, seed.tenant_id, &upn, "Demo Auditor", &password, now).await?;
    admin::assign_user_role(store, seed.tenant_id, user.object_id, seed.admin.app_id, AUDITOR_ROLE, now).await?;
    Ok(DevAuditor {
        client_id: client.app_id,
        client_secret: secret.value,
        user: DevUser { username: user.user_principal_name, password, object_id: user.object_id },
    })
}

/// A single-tenant app with v2 tokens in the demo tenant.
pub(crate) async fn demo_app(
    store: &dyn Store,
    tenant_id: Uuid,
    name: &str,
    identifier_uris: Vec<String>,
    is_public_client: bool,
    redirect_uris: Vec<RedirectUri>,
    now: i64,
) -> Result<(tokengate_core::directory::AppRegistration, tokengate_core::directory::ServicePrincipal), DevError> {
    let new = NewApp {
        display_name: name.into(),
        identifier_uris,
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        is_public_client,
        redirect_uris,
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
    };
    Ok(admin::create_app(store, tenant_id, new, now).await?)
}

/// The gateway policy `dev` generates (regenerated on each start until you edit it; edit it while
/// running to try policies — it is hot-reloaded — and your edits are kept across restarts).
fn gateway_policy(seed: &DevSeed, upstream: Option<&str>) -> String {
    let upstream = upstream.unwrap_or("echo");
    format!(
        r#"# tokengate gateway policy, written by `tokengate dev`.
# Edit it while tokengate runs: valid changes apply within a second (see README). Once edited,
# `dev` keeps it across restarts (`dev --reset-policy` regenerates it).

[[issuer]]
name = "tokengate"
kind = "builtin"
tenants = ["{tenant}"]

# The demo API: a token for it (aud = its client id or App ID URI) with the app role
# Demo.Read.All (app-only) or the delegated scope Demo.Read.
[[route]]
name = "demo"
path_prefix = "{route}"
upstream = "{upstream}"
[route.require]
issuers = ["tokengate"]
audiences = ["{api_id}", "{api_uri}"]
roles_any = ["Demo.Read.All"]
scopes_any = ["Demo.Read"]

# Writes need Demo.Write.All (or Demo.Write).
[[route]]
name = "demo-write"
path_prefix = "/demo-write/"
upstream = "{upstream}"
[route.require]
issuers = ["tokengate"]
audiences = ["{api_id}", "{api_uri}"]
roles_any = ["Demo.Write.All"]
scopes_any = ["Demo.Write"]

[[route]]
name = "public"
path_prefix = "/public/"
upstream = "{upstream}"
public = true
"#,
        tenant = seed.tenant_id,
        route = DEMO_ROUTE,
        api_id = seed.api.app_id,
        api_uri = seed.api.app_id_uri,
    )
}

/// An RSA key + self-signed certificate for the confidential client, written as one PEM (key
/// then certificate, the form azure-identity's `CertificateCredential` reads) and registered.
async fn client_certificate(
    store: &dyn Store,
    data_dir: &Path,
    app_id: Uuid,
    now: i64,
) -> Result<(PathBuf, String), DevError> {
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(DevError::ClientKey)?;
    let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&key).map_err(DevError::ClientKey)?.as_ref().to_vec();
    let der = self_signed_certificate(&pkcs8, "tokengate demo daemon", now)
        .map_err(|source| DevError::KeyGeneration { what: "the demo client's certificate", source })?;
    admin::add_certificate(store, app_id, "dev certificate", &der, now).await?;
    let path = data_dir.join("confidential-client.pem");
    write_private(&path, &format!("{}{}", pem("PRIVATE KEY", &pkcs8), pem("CERTIFICATE", &der)))?;
    let path = std::fs::canonicalize(&path).map_err(DevError::file(&path))?;
    Ok((path, hex_upper(&sha1(&der))))
}

fn load_or_create_seed_file(data_dir: &Path) -> Result<Option<DevSeed>, DevError> {
    let path = data_dir.join("seed.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(DevError::file(&path))?;
    serde_json::from_str(&text).map(Some).map_err(|source| DevError::SeedFile { path, source })
}

pub async fn run(opts: DevOptions) -> Result<(), DevError> {
    let dir = dev_data_dir::create_private_dir(&opts.data_dir)?;
    // Held until this function returns: a second `dev` on the same dir stops here, before it
    // touches anything.
    let _lock = dev_data_dir::lock(&dir)?;
    let now = crate::state::now();
    ensure_tls(&dir, now)?;
    let url = choose_store(&dir, opts.store.as_deref())?;
    let store = tokengate_store::open_store(&url, OpenMode::CreateIfMissing).await.map_err(DevError::Store)?;
    dev_data_dir::tighten_store_files(&dir)?;
    let kek = Arc::new(key_encryption_key(&dir, store.as_ref()).await?);

    let mut seed = match load_or_create_seed_file(&dir)? {
        Some(seed) => seed,
        None => seed(store.as_ref(), &dir, now).await?,
    };
    if seed.users.is_none() {
        seed.users = Some(seed_users(store.as_ref(), &seed, now).await?);
    }
    if seed.auditor.is_none() {
        seed.auditor = Some(seed_auditor(store.as_ref(), &seed, now).await?);
    }
    if seed.dashboard.is_none() {
        seed.dashboard = Some(crate::dev_dashboard_client::seed_dashboard(store.as_ref(), &seed, now).await?);
    }
    if !seed.api_permissions {
        seed_api_permissions(store.as_ref(), &seed, now).await?;
        seed.api_permissions = true;
    }
    let text = serde_json::to_string_pretty(&seed)?;
    write_atomic(&dir.join("seed.json"), &text)?;

    let tls = crate::server::tls_config(&dir.join("server.pem"), &dir.join("server-key.pem")).map_err(DevError::Tls)?;
    let listener_limits = opts.listener_limits.limits();
    let problems = listener_limits.problems();
    if !problems.is_empty() {
        return Err(DevError::ListenerLimits(problems));
    }
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let plan = dev_data_dir::plan_policy(
        &dir,
        opts.policy.as_deref(),
        opts.reset_policy,
        gateway_policy(&seed, opts.upstream.as_deref()),
        opts.upstream.is_some(),
    )?;
    if let Some(notice) = &plan.notice {
        tracing::warn!("{notice}");
    }
    let policy = crate::gateway::policy_file::parse(&plan.text, &plan.path).map_err(DevError::Policy)?;
    let policy_file =
        crate::gateway::policy_file::PolicyFile { path: plan.path.clone(), document: policy, text: plan.text.clone() };
    let policy_base_dir = plan.path.parent().map(Path::to_path_buf).unwrap_or_else(|| dir.clone());
    let running = runtime::start(RuntimeOptions {
        store,
        issuer: Some(IssuerOptions {
            kek,
            settings: TokenSettings {
                device_code_lifetime: opts.device_code_lifetime,
                refresh_reuse_grace: opts.refresh_reuse_grace,
                ..TokenSettings::default()
            },
            listen: SocketAddr::new(loopback, opts.issuer_port),
            public_url: None,
            tls,
            client_failures_per_minute: crate::config::DEFAULT_CLIENT_FAILURES_PER_MINUTE,
            ip_failures_per_minute: crate::config::DEFAULT_IP_FAILURES_PER_MINUTE,
            device_code_starts: match opts.device_code_starts_per_minute {
                Some(n) => crate::config::DeviceCodeStartBudget { per_client: n, per_ip: n },
                None => Default::default(),
            },
            key_reload: Duration::from_secs(crate::config::DEFAULT_KEY_SWEEP_SECONDS),
        }),
        admin_listen: Some(SocketAddr::new(loopback, opts.admin_port)),
        admin_api_uri: Some(seed.admin.app_id_uri.clone()),
        dashboard: seed
            .dashboard
            .as_ref()
            .map(|d| crate::dashboard::DashboardOptions { client_id: d.client_id, public_url: None }),
        audit_retention: Duration::from_secs(crate::config::DEFAULT_AUDIT_RETENTION_DAYS * 86_400),
        audit_durability: opts.audit_durability,
        listener_limits,
        gateway: Some(GatewayOptions {
            listen: SocketAddr::new(loopback, opts.gateway_port),
            policy_file: Some(policy_file),
            base_dir: policy_base_dir,
            tls: None,
            builtin_issuer_url: None,
            log_denials: true,
            decision_records: opts.gateway_decisions,
            threads: opts.gateway_threads.map_or_else(crate::per_core_listeners::default_threads, usize::from),
        }),
    })
    .await?;
    let base_url = running.base_url.clone().unwrap_or_default();
    // Only now that every listener is up: a failed start leaves the files of the last good one.
    dev_data_dir::write_generated_policy(&plan)?;

    let dev_json = dev_json(&seed, &dir, &plan.path, &base_url, running.admin_addr, running.gateway_addr);
    let text = serde_json::to_string_pretty(&dev_json)?;
    write_atomic(&dir.join("dev.json"), &text)?;
    println!("{}", quickstart(&seed, &dir, &base_url, running.gateway_addr));
    if let (Some(admin), Some(users)) = (running.admin_addr, seed.users.as_ref()) {
        println!("{}", dashboard_quickstart(admin, &users.admin_user, seed.auditor.as_ref().map(|a| &a.user)));
    }
    println!("Press Ctrl-C to stop.");

    runtime::shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

fn dev_json(
    seed: &DevSeed,
    dir: &Path,
    policy_path: &Path,
    base_url: &str,
    admin: Option<SocketAddr>,
    gateway: Option<SocketAddr>,
) -> serde_json::Value {
    let authority = format!("{base_url}/{}", seed.tenant_id);
    serde_json::json!({
        "authority": authority,
        "tenant_id": seed.tenant_id,
        "tenant_domain": seed.tenant_domain,
        "issuer": format!("{authority}/v2.0"),
        "token_endpoint": format!("{authority}/oauth2/v2.0/token"),
        "ca_cert": dir.join("ca.pem"),
        "gateway_url": gateway.map(|g| format!("http://{g}")),
        "gateway_policy": policy_path,
        "admin_url": admin.map(|a| format!("http://{a}")),
        "dashboard_url": admin.map(|a| format!("http://{a}/dashboard/")),
        "dashboard": seed.dashboard.as_ref().map(|d| serde_json::json!({"client_id": d.client_id})),
        "api": {
            "app_id": seed.api.app_id, "app_id_uri": seed.api.app_id_uri, "scopes": seed.api.scopes,
            "app_roles": seed.api.app_roles, "demo_route": DEMO_ROUTE,
        },
        "confidential_client": seed.confidential_client,
        "public_client": seed.public_client,
        "admin": { "client_id": seed.admin.client_id, "client_secret": seed.admin.client_secret,
                   "app_id_uri": seed.admin.app_id_uri },
        "user": seed.users.as_ref().map(|u| &u.user),
        "admin_user": seed.users.as_ref().map(|u| serde_json::json!({"username": u.admin_user.username, "password": u.admin_user.password})),
        "auditor": seed.auditor.as_ref().map(|a| serde_json::json!({"client_id": a.client_id, "client_secret": a.client_secret})),
        "auditor_user": seed.auditor.as_ref().map(|a| serde_json::json!({"username": a.user.username, "password": a.user.password})),
    })
}

fn quickstart(seed: &DevSeed, dir: &Path, base_url: &str, gateway: Option<SocketAddr>) -> String {
    let gateway = gateway.map(|g| format!("http://{g}")).unwrap_or_default();
    let authority = format!("{base_url}/{}", seed.tenant_id);
    let ca = dir.join("ca.pem");
    let cc = &seed.confidential_client;
    format!(
        r#"
tokengate dev is running — an Entra ID-compatible issuer on {base_url}
  data dir   {dir}
  authority  {authority}
  dev.json   {dir}/dev.json (everything below, machine-readable)

Get an app-only token with curl:

  curl --cacert {ca} {authority}/oauth2/v2.0/token \
    -d grant_type=client_credentials -d client_id={client_id} \
    --data-urlencode 'client_secret={secret}' \
    --data-urlencode 'scope={api}/.default'

With MSAL Python (pip install msal):

  REQUESTS_CA_BUNDLE={ca} python3 -c '
import msal
app = msal.ConfidentialClientApplication("{client_id}", client_credential="{secret}",
    authority="{authority}", instance_discovery=False)
print(app.acquire_token_for_client(scopes=["{api}/.default"]))'

Call the demo API through the gateway (policy: {dir}/gateway.toml, hot-reloaded):

  TOKEN=$(curl -s --cacert {ca} {authority}/oauth2/v2.0/token -d grant_type=client_credentials \
    -d client_id={client_id} --data-urlencode 'client_secret={secret}' \
    --data-urlencode 'scope={api}/.default' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -H "Authorization: Bearer $TOKEN" {gateway}{route}hello

Sign in as a person (device code; user and password are in dev.json under "user"):

  REQUESTS_CA_BUNDLE={ca} python3 -c '
import msal
app = msal.PublicClientApplication("{public_id}", authority="{authority}", instance_discovery=False)
flow = app.initiate_device_flow(scopes=["{api}/Demo.Read"]); print(flow["message"], flush=True)
print(app.acquire_token_by_device_flow(flow))'

Kill switch: revoke that token on every node, then see it denied (`tokengate` is
`cargo run --release --` from the repository; see also `tokengate nodes`, `tokengate revocations list`):

  tokengate revoke token "$TOKEN" --wait --dev-dir {dir}
  curl -i -H "Authorization: Bearer $TOKEN" {gateway}{route}hello

Keys: {authority}/discovery/v2.0/keys   Discovery: {authority}/v2.0/.well-known/openid-configuration"#,
        dir = dir.display(),
        ca = ca.display(),
        client_id = cc.client_id,
        secret = cc.client_secret,
        api = seed.api.app_id_uri,
        route = DEMO_ROUTE,
        public_id = seed.public_client.client_id,
    )
}

/// How to open the dashboard, with whom to sign in.
fn dashboard_quickstart(admin: SocketAddr, admin_user: &DevUser, auditor: Option<&DevUser>) -> String {
    let auditor =
        auditor.map(|a| format!("\n  read-only   {}  password {}", a.username, a.password)).unwrap_or_default();
    format!(
        "\nDashboard: http://{admin}/dashboard/  (sign-in goes through the issuer above: your browser warns \
         about its certificate unless you trust ca.pem)\n  admin       {}  password {}{auditor}",
        admin_user.username, admin_user.password
    )
}
