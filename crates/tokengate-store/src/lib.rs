//! Storage backends for tokengate: SQLite (embedded, the default) and Postgres (for several
//! nodes sharing one store). Both implement the `tokengate-core` store traits with the same SQL
//! where the dialects agree (`$n` placeholders work in both; see `sql/`, one file per aggregate),
//! and keep per-dialect migrations.
//! No other crate knows which backend it talks to.

mod error;
mod sql;

pub mod postgres;
mod postgres_feed_listener;
pub mod read_cache;
pub mod sqlite;

use std::sync::Arc;

use tokengate_core::store::{Store, StoreError};

pub use postgres::PgStore;
pub use read_cache::ReadCachedStore;
pub use sqlite::SqliteStore;

/// Whether opening a store may create it. A store is never created by accident: a mistyped
/// path or URL must be an error that names it, not a fresh empty store (`dev` and `serve --init`
/// ask for creation; everything else opens what exists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Existing,
    CreateIfMissing,
}

/// Opens the store a URL names: `sqlite://PATH` or `postgres://...`.
pub async fn open_store(url: &str, mode: OpenMode) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_mode(url, mode).await?))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(SqliteStore::open_mode(std::path::Path::new(path), mode).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported store URL scheme in '{}': use sqlite://PATH or postgres://...",
            url.split(':').next().unwrap_or("")
        )))
    }
}
