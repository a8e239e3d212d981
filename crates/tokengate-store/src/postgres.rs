//! Postgres backend, for deployments where several tokengate nodes share one store.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokengate_core::store::{FeedSubscription, StoreError, StoreResult};

use crate::error::backend_error;
use crate::sql::SqlStore;
use crate::OpenMode;

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects and creates the schema if the database holds none (tests and `serve --init`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_mode(url, OpenMode::CreateIfMissing).await
    }

    /// Connects within `CONNECT_TIMEOUT`, naming the target when it cannot; with
    /// `OpenMode::Existing` a database that holds no tokengate store is an error, not a new store.
    pub async fn connect_mode(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Invalid(format!("store URL is not a valid postgres:// URL: {e}")))?;
        let target = describe(&options);
        let pool = pool(options).await?;
        if mode == OpenMode::Existing {
            let initialised: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&pool)
                .await
                .map_err(|e| StoreError::Backend(format!("{target}: {e}")))?;
            if initialised.is_none() {
                pool.close().await;
                return Err(StoreError::Invalid(format!(
                    "{target} holds no tokengate store. Check the URL (a mistyped database or schema is never \
                     turned into a new, empty store), or create one there with `tokengate serve --init`"
                )));
            }
        }
        Self::migrate(pool).await
    }

    /// Connects with `search_path` set to `schema` (created if missing): lets tests run on a
    /// shared server without seeing each other.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid("schema name must be [A-Za-z0-9_]".into()));
        }
        let options = PgConnectOptions::from_str(url).map_err(backend_error)?;
        let admin =
            PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(backend_error)?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&admin).await.map_err(backend_error)?;
        admin.close().await;
        Self::connect_with(options.options([("search_path", schema)])).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        Self::migrate(pool(options).await?).await
    }

    async fn migrate(pool: PgPool) -> Result<Self, StoreError> {
        sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(PgStore { pool })
    }

    /// Drops a schema made by `connect_in_schema` (tests clean up after themselves).
    pub async fn drop_schema(&self, schema: &str) -> Result<(), StoreError> {
        if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Invalid("schema name must be [A-Za-z0-9_]".into()));
        }
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

/// An unreachable server must fail fast with its address, not hang for sqlx's default 30 s.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

async fn pool(options: PgConnectOptions) -> Result<PgPool, StoreError> {
    let target = describe(&options);
    PgPoolOptions::new().max_connections(16).acquire_timeout(CONNECT_TIMEOUT).connect_with(options).await.map_err(|e| {
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Backend(format!(
                "cannot reach {target} within {} s: is the server running and the host/port right?",
                CONNECT_TIMEOUT.as_secs()
            )),
            other => StoreError::Backend(format!("{target}: {other}")),
        }
    })
}

/// `postgres://HOST:PORT/DATABASE` without user or password, for error messages.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    )
}

impl SqlStore for PgStore {
    type Db = sqlx::Postgres;

    fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_gate(&self) -> Option<&std::sync::Arc<tokio::sync::Mutex<()>>> {
        None
    }

    async fn feed_notifications(&self) -> StoreResult<Option<Box<dyn FeedSubscription>>> {
        Ok(Some(crate::postgres_feed_listener::subscribe(&self.pool).await?))
    }
}
