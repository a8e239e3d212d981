//! SQLite backend: one file, WAL journal, `synchronous=FULL` so a committed token grant or key
//! rotation survives power loss.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokengate_core::store::{FeedSubscription, StoreError, StoreResult};

use crate::error::backend_error;
use crate::sql::{RotationQueue, SqlStore};
use crate::OpenMode;

pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One connection for write transactions (see `SqlStore::write_pool`); the same pool as
    /// `pool` for an in-memory store, whose one connection is the database.
    pub(crate) write_pool: SqlitePool,
    /// One writer at a time in this process (see `SqlStore::write_gate`).
    pub(crate) write_gate: Arc<tokio::sync::Mutex<()>>,
    /// Refresh token rotations waiting for the write gate (see `SqlStore::rotation_queue`).
    pub(crate) rotations: RotationQueue,
}

impl SqliteStore {
    /// Opens `path`, creating the store if it does not exist (tests and first starts).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_mode(path, OpenMode::CreateIfMissing).await
    }

    pub async fn open_mode(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        match (path.exists(), mode) {
            (true, _) => {}
            (false, OpenMode::Existing) => {
                return Err(StoreError::Invalid(format!(
                    "no store at sqlite://{}: the file does not exist. Check the path (a mistyped path is \
                     never turned into a new, empty store), or create a store there with `tokengate serve --init`",
                    path.display()
                )))
            }
            (false, OpenMode::CreateIfMissing) => create_private_file(path)?,
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend_error)?
            .filename(path)
            .create_if_missing(false)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let open_error = |e: sqlx::Error| StoreError::Backend(format!("sqlite://{}: {e}", path.display()));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        // Kept open for good: its page cache is what it is for.
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(SqliteStore { pool, write_pool, write_gate: Arc::default(), rotations: RotationQueue::default() })
    }
}

impl SqliteStore {
    /// A private in-memory store (fast tests): one connection, so every query sees the same
    /// database; gone when the store is dropped.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(backend_error)?.foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // The one connection holds the database: never let the pool retire it.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(backend_error)?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(SqliteStore {
            write_pool: pool.clone(),
            pool,
            write_gate: Arc::default(),
            rotations: RotationQueue::default(),
        })
    }
}

/// The database file is created empty and owner-only (0600) before SQLite opens it: SQLite gives
/// its `-wal` and `-shm` files the permissions of the database file, so the whole store stays
/// private (it holds password hashes and sealed keys).
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| StoreError::Invalid(format!("cannot create the store file {}: {e}", path.display())))
}

impl SqlStore for SqliteStore {
    type Db = sqlx::Sqlite;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn write_pool(&self) -> &SqlitePool {
        &self.write_pool
    }

    fn write_gate(&self) -> Option<&Arc<tokio::sync::Mutex<()>>> {
        Some(&self.write_gate)
    }

    fn rotation_queue(&self) -> Option<&RotationQueue> {
        Some(&self.rotations)
    }

    /// None: SQLite serves one node, whose poll of the feed suffices.
    async fn feed_notifications(&self) -> StoreResult<Option<Box<dyn FeedSubscription>>> {
        Ok(None)
    }
}
