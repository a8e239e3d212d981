//! Why a command failed, as one line a person can act on: `main` prints the `Display` text (which
//! includes the underlying error; `source` keeps it typed) and exits non-zero. Each variant names
//! what it concerns — the config file, the store, the object id, the argument.

use std::path::PathBuf;

use tokengate_core::directory_admin::AdminError;
use tokengate_core::keys::key_encryption::SealError;
use tokengate_core::store::StoreError;
use uuid::Uuid;

use crate::dev_error::DevError;
use crate::runtime::StartError;
use crate::signing_keys::KeyServiceError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Every problem of a config file, listed at once.
    #[error("{} has {} problem(s):\n  - {}", path.display(), problems.len(), problems.join("\n  - "))]
    Config { path: PathBuf, problems: Vec<String> },
    /// Opening the store a flag or config names (the error names the file or host).
    #[error("store: {0}")]
    OpenStore(#[source] StoreError),
    #[error(
        "no store: {} holds no tokengate dev data; pass --dev-dir DIR, --config FILE or --store URL",
        dir.display()
    )]
    NoStore { dir: PathBuf },
    #[error("key-encryption key: {0}")]
    KeyEncryptionKey(#[source] SealError),
    #[error("this command needs the key-encryption key (TOKENGATE_KEY_ENCRYPTION_KEY, --config or --dev-dir)")]
    NeedsKeyEncryptionKey,
    /// The server certificate or key of a config (the text names the file).
    #[error("{0}")]
    Tls(String),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Keys(#[from] KeyServiceError),
    #[error(transparent)]
    Dev(#[from] DevError),
    /// A directory change the directory refused (the text names the object or rule).
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A store call about one object: `kind` and `id` say which.
    #[error("{kind} {id}: {source}")]
    Object {
        kind: &'static str,
        id: Uuid,
        #[source]
        source: StoreError,
    },
    #[error("app {0} not found")]
    AppNotFound(Uuid),
    #[error("app {app_id} has no service principal in {tenant}")]
    NoServicePrincipal { app_id: Uuid, tenant: Uuid },
    /// A flag value outside its list (`allowed`).
    #[error("unknown {what} '{value}' ({allowed})")]
    UnknownValue { what: &'static str, value: String, allowed: &'static str },
    #[error("redirect URI '{0}' must be PLATFORM=URI")]
    RedirectUriFormat(String),
    #[error("set TOKENGATE_USER_PASSWORD to the new user's password (8 to 256 characters)")]
    NoUserPassword,
    #[error(
        "keys reset drops every signing key: every token issued so far stops validating. Run again with \
         --confirm if that is what you want"
    )]
    ResetNotConfirmed,
    /// A file a command reads (e.g. a certificate PEM).
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no CERTIFICATE", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// `tokengate audit verify`: the first record or checkpoint that does not verify.
    #[error(transparent)]
    AuditVerify(#[from] tokengate_core::audit_verify::VerifyFailure),
    /// A command argument that cannot be used as given (the text says why and what to pass).
    #[error("{0}")]
    Argument(String),
    /// `revoke --wait` timed out: the revocation is written and will apply; these nodes had not
    /// applied it yet.
    #[error(
        "revocation written (feed version {version}) but not yet applied by: {}. Check them with `tokengate nodes`",
        lagging.join(", ")
    )]
    NotPropagated { version: i64, lagging: Vec<String> },
    /// The admin API refused or failed: its status and its problem's `detail`.
    #[error("{status}: {detail}")]
    Api { status: u16, detail: String },
    #[error("tokengate dev is not running in {}: start it with `cargo run --release -- dev`", dir.display())]
    DevNotRunning { dir: PathBuf },
    #[error("{} does not exist: start `tokengate dev --data-dir {}` or pass --dev-dir DIR or --admin-url URL", dir.display(), dir.display())]
    NoDevDir { dir: PathBuf },
    #[error(
        "no tokengate to talk to: run `tokengate dev` here (./tokengate-dev), or pass --dev-dir DIR, --admin-url URL, \
         or --config FILE / --store URL to work on a store directly"
    )]
    NoTarget,
    #[error(
        "--admin-url needs credentials: TOKENGATE_ADMIN_TOKEN (a bearer token), or --client-id with \
         TOKENGATE_CLIENT_SECRET and --authority"
    )]
    NoAdminCredentials,
    #[error("cannot reach {url}: {reason}")]
    AdminUnreachable { url: String, reason: String },
    /// The authority refused the CLI's client credentials (its `error_description`, first line).
    #[error("no admin API token from {authority}: {detail}")]
    AdminToken { authority: String, detail: String },
    /// An update's `If-Match` named an older version: someone changed the object meanwhile.
    #[error(
        "412: {kind} {name} changed since version {etag} was read, so nothing was updated: run \
         `tokengate {kind} show {name}` to see it now, then update again"
    )]
    Changed { kind: &'static str, name: String, etag: String },
    /// An authority gave no token: the AADSTS code and first line of its `error_description`.
    #[error("{authority} gave no token: {detail}")]
    TokenRefused { authority: String, detail: String },
}

impl CliError {
    /// `Object` for a store call about `kind` `id`, for `map_err`.
    pub fn object(kind: &'static str, id: Uuid) -> impl FnOnce(StoreError) -> CliError {
        move |source| CliError::Object { kind, id, source }
    }
}
