//! Running SQL: a statement is built with `query(sql).bind(..)`, runs on the pool or inside a
//! transaction, and reports every failure as a `StoreError` (through `backend_error`, so no
//! store function maps driver errors itself). Transactions are begun and ended here too.

use sqlx::{Database, Pool, Transaction};
use tokengate_core::store::StoreResult;

use super::backend::{Backend, Binds, On, SqlxQuery};
use super::SqlStore;
use crate::error::backend_error;

/// A statement and the parameters bound so far.
pub(crate) struct Statement<'q, DB: Database> {
    query: SqlxQuery<'q, DB>,
}

/// Starts a statement; `$n` placeholders work in both dialects.
pub(crate) fn query<DB: Database>(sql: &str) -> Statement<'_, DB> {
    Statement { query: sqlx::query(sql) }
}

impl<'q, DB: Backend> Statement<'q, DB> {
    /// Binds the next parameter.
    pub(crate) fn bind<T>(self, value: T) -> Self
    where
        DB: Binds<'q, T>,
    {
        Statement { query: <DB as Binds<'q, T>>::bind(self.query, value) }
    }

    /// Runs the statement; answers how many rows it changed.
    pub(crate) async fn execute<'e, T: Target<'e, Db = DB>>(self, target: T) -> StoreResult<u64>
    where
        'q: 'e,
    {
        let done = DB::execute(self.query, target.on()).await.map_err(backend_error)?;
        Ok(DB::rows_affected(&done))
    }

    pub(crate) async fn fetch_optional<'e, T: Target<'e, Db = DB>>(self, target: T) -> StoreResult<Option<DB::Row>>
    where
        'q: 'e,
    {
        DB::fetch_optional(self.query, target.on()).await.map_err(backend_error)
    }

    pub(crate) async fn fetch_one<'e, T: Target<'e, Db = DB>>(self, target: T) -> StoreResult<DB::Row>
    where
        'q: 'e,
    {
        DB::fetch_one(self.query, target.on()).await.map_err(backend_error)
    }

    pub(crate) async fn fetch_all<'e, T: Target<'e, Db = DB>>(self, target: T) -> StoreResult<Vec<DB::Row>>
    where
        'q: 'e,
    {
        DB::fetch_all(self.query, target.on()).await.map_err(backend_error)
    }
}

/// Where a statement runs: the pool (`store.pool()`) or an open transaction (`&mut tx`).
pub(crate) trait Target<'e> {
    type Db: Backend;

    fn on(self) -> On<'e, Self::Db>;
}

impl<'e, DB: Backend> Target<'e> for &'e Pool<DB> {
    type Db = DB;

    fn on(self) -> On<'e, DB> {
        On::Pool(self)
    }
}

impl<'e, DB: Backend> Target<'e> for &'e mut Transaction<'_, DB> {
    type Db = DB;

    fn on(self) -> On<'e, DB> {
        On::Connection(&mut **self)
    }
}

pub(crate) async fn begin<S: SqlStore>(store: &S) -> StoreResult<Transaction<'static, S::Db>> {
    store.write_pool().begin().await.map_err(backend_error)
}

pub(crate) async fn commit<DB: Backend>(tx: Transaction<'_, DB>) -> StoreResult<()> {
    tx.commit().await.map_err(backend_error)
}

pub(crate) async fn rollback<DB: Backend>(tx: Transaction<'_, DB>) -> StoreResult<()> {
    tx.rollback().await.map_err(backend_error)
}
