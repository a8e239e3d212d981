//! Why `tokengate dev` (and the CLI's use of a dev data dir) could not go on: each variant names
//! what it was doing and where (the file, the data dir, the store), so the one line `main` prints
//! tells a person what to fix. The text includes the underlying error; `source` keeps it typed.

use std::path::{Path, PathBuf};

use tokengate_core::directory_admin::AdminError;
use tokengate_core::keys::key_encryption::SealError;
use tokengate_core::keys::KeyError;
use tokengate_core::store::StoreError;

use crate::runtime::StartError;

#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// Reading, writing or creating a file or directory of the data dir.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot lock: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another `dev` holds the data dir's lock (`holder`: its pid, when it wrote one).
    #[error(
        "{} is in use by another `tokengate dev`{}. Stop that one first, or pass --data-dir with another directory",
        dir.display(),
        holder.as_ref().map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    InUse { dir: PathBuf, holder: Option<String> },
    /// `--store` names another store than the one this data dir was seeded in: its seed (ids,
    /// secrets) belongs to that store.
    #[error(
        "{} was set up with the store {seeded}; it cannot switch to {asked}. Pass --data-dir with a new directory for that store",
        dir.display()
    )]
    StoreMismatch { dir: PathBuf, seeded: String, asked: String },
    /// The gateway policy file given with `--policy`.
    #[error("--policy {}: {source}", path.display())]
    PolicyFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `master.key` is gone but the store holds `sealed` signing keys sealed with it: a new key
    /// would only make the store unusable later.
    #[error("{}", missing_key_message(path, *sealed))]
    MissingKeyEncryptionKey { path: PathBuf, sealed: usize },
    /// `master.key` is there but is not a key (`reason` says why).
    #[error("{}: {reason}", path.display())]
    UnreadableKeyEncryptionKey { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    InvalidKeyEncryptionKey {
        path: PathBuf,
        #[source]
        source: SealError,
    },
    /// Opening or reading the data dir's SQLite store (the error names the file).
    #[error("store: {0}")]
    Store(#[source] StoreError),
    /// Creating the demo tenant, apps, users and grants.
    #[error("{0}")]
    Seed(#[from] AdminError),
    #[error("{}: {source} (delete the data dir to start afresh)", path.display())]
    SeedFile {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Generating the local CA or the demo client's certificate.
    #[error("generating {what}: {source}")]
    KeyGeneration {
        what: &'static str,
        #[source]
        source: KeyError,
    },
    #[error("generating the demo client's key: {0}")]
    ClientKey(#[source] aws_lc_rs::error::Unspecified),
    /// The data dir's server certificate or key (the text names the file).
    #[error("{0}")]
    Tls(String),
    #[error("{}", .0.join("; "))]
    ListenerLimits(Vec<String>),
    #[error("{}", .0.join("; "))]
    Policy(Vec<String>),
    #[error(transparent)]
    Start(#[from] StartError),
}

impl DevError {
    /// `File` for `path`, for `map_err`.
    pub fn file(path: &Path) -> impl FnOnce(std::io::Error) -> DevError + '_ {
        move |source| DevError::File { path: path.to_owned(), source }
    }
}

fn missing_key_message(path: &Path, sealed: usize) -> String {
    let dir = path.parent().unwrap_or(Path::new(".")).display();
    format!(
        "{} is missing, but the store in {dir} holds {sealed} signing key(s) sealed with it. Restore master.key \
         from a backup. If it is lost: delete {dir} to start afresh, or keep the directory's objects by writing a \
         new key (`openssl rand -base64 32 > {dir}/master.key`) and replacing the signing keys with \
         `tokengate keys reset --confirm --dev-dir {dir}` (every issued token stops validating)",
        path.display()
    )
}
