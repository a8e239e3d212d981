//! SQLite backend: one file, WAL journal, `synchronous=FULL` so a committed token grant or key
//! rotation survives power loss.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tokengate_core::store::StoreError;

use crate::backend_error;
use crate::sql_impl::StoreDb;

pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One writer at a time in this process (see `StoreDb::write_gate`).
    pub(crate) write_gate: tokio::sync::Mutex<()>,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(backend_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(backend_error)?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(SqliteStore { pool, write_gate: tokio::sync::Mutex::new(()) })
    }
}

crate::sql_impl::impl_sql_store!(SqliteStore);
crate::sql_sessions::impl_sql_session_store!(SqliteStore);
