//! Postgres backend, for deployments where several tokengate nodes share one store.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokengate_core::store::StoreError;

use crate::backend_error;
use crate::sql_impl::StoreDb;

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url).map_err(backend_error)?).await
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
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await.map_err(backend_error)?;
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

crate::sql_impl::impl_sql_store!(PgStore);
crate::sql_sessions::impl_sql_session_store!(PgStore);
