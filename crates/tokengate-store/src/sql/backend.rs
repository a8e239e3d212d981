//! What the SQL needs from a sqlx database, said once. `Backend` carries every sqlx bound (which
//! parameter and column types the statements use, how to run on a pool or a connection), so the
//! store functions only ask for `S: SqlStore`. Implemented for SQLite and Postgres; this is the
//! only place where the two may differ.

use std::future::Future;
use std::pin::Pin;

use sqlx::postgres::{PgQueryResult, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteQueryResult, SqliteRow};
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Postgres, Sqlite, Type};

use super::row::SqlRow;

/// A sqlx query before it runs, with its parameters so far.
pub(crate) type SqlxQuery<'q, DB> = Query<'q, DB, <DB as Database>::Arguments<'q>>;

/// What sqlx's executors answer (the same type as `futures_core::future::BoxFuture`).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type Answer<'e, T> = BoxFuture<'e, Result<T, sqlx::Error>>;

/// Where a statement runs.
pub(crate) enum On<'e, DB: Database> {
    Pool(&'e Pool<DB>),
    Connection(&'e mut DB::Connection),
}

/// A sqlx database the store's SQL runs on. The supertraits list every parameter type bound
/// anywhere in `sql/`; a new one is added here once.
///
/// The methods hand a query to sqlx's executor, as `Query::execute` and its siblings do. They are
/// implemented per backend rather than generically because a generic version needs executor
/// bounds no supertrait can carry, and returning `impl Executor` instead trips rustc's
/// higher-ranked `Send` check on every `async_trait` future (rust-lang/rust#100013).
pub(crate) trait Backend:
    for<'q> Database<Arguments<'q>: IntoArguments<'q, Self>, Row: SqlRow>
    + for<'q> Binds<'q, &'q str>
    + for<'q> Binds<'q, &'q String>
    + for<'q> Binds<'q, String>
    + for<'q> Binds<'q, Option<&'q str>>
    + for<'q> Binds<'q, &'q Option<String>>
    + for<'q> Binds<'q, Option<String>>
    + for<'q> Binds<'q, i64>
    + for<'q> Binds<'q, bool>
    + for<'q> Binds<'q, Option<i64>>
    + for<'q> Binds<'q, &'q [u8]>
    + for<'q> Binds<'q, &'q Vec<u8>>
    + for<'q> Binds<'q, Vec<u8>>
    + for<'q> Binds<'q, &'q Option<Vec<u8>>>
{
    /// Use `?` rather than `$n` in large generated statements (see `audit::multi_row_audit_insert`).
    const POSITIONAL_PARAMETERS: bool;

    /// Run in every transaction that advances the revocation feed, with the channel (`$1`) and
    /// the new version as text (`$2`): wakes the nodes listening, at commit. `None` where the
    /// backend has no notifications (nodes then learn of it by polling).
    const NOTIFY_FEED: Option<&'static str>;

    /// Run before a transaction reads or changes which access tokens a refresh-token family has
    /// (`$1`: the family id) and whether it is revoked, so that a family's revocation and an access
    /// token recorded for it concurrently see each other: one waits for the other's commit.
    /// `None` where transactions already run one at a time (SQLite's write lock).
    const LOCK_FAMILY: Option<&'static str>;

    /// Reads `seq` and `chain_hash` of the audit chain head while locking it until commit: every
    /// audit write runs it as its transaction's last lock (see `audit_chain.rs`).
    const LOCK_AUDIT_HEAD: &'static str;

    /// The text of the top-level field `key` of the JSON `detail` column, NULL when absent (or
    /// when `detail` is no object). `key` is a literal of ours, never input: it is inlined.
    fn detail_field(key: &'static str) -> String;

    fn execute<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Self::QueryResult>;

    fn fetch_optional<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Option<Self::Row>>;

    fn fetch_one<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Self::Row>;

    fn fetch_all<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Vec<Self::Row>>;

    fn rows_affected(done: &Self::QueryResult) -> u64;
}

/// `T` can be bound as a parameter. sqlx states this as `T: Encode<DB>`, a bound on `T` that a
/// supertrait of `Backend` cannot carry; this restates it as a bound on the database.
pub(crate) trait Binds<'q, T>: Database {
    fn bind(query: SqlxQuery<'q, Self>, value: T) -> SqlxQuery<'q, Self>;
}

impl<'q, DB: Database, T: 'q + Encode<'q, DB> + Type<DB>> Binds<'q, T> for DB {
    fn bind(query: SqlxQuery<'q, Self>, value: T) -> SqlxQuery<'q, Self> {
        query.bind(value)
    }
}

impl Backend for Sqlite {
    // SQLite resolves each `$n` by a linear scan of the statement's parameter names, which makes
    // binding a large statement quadratic (measured: a third of the gateway's CPU before this).
    const POSITIONAL_PARAMETERS: bool = true;

    const NOTIFY_FEED: Option<&'static str> = None;

    const LOCK_FAMILY: Option<&'static str> = None;

    // A write, so a transaction that starts here takes SQLite's write lock at once rather than
    // upgrading a read lock later (which can fail with SQLITE_BUSY between processes).
    const LOCK_AUDIT_HEAD: &'static str =
        "UPDATE audit_chain_head SET seq = seq WHERE id = 1 RETURNING seq, chain_hash";

    fn detail_field(key: &'static str) -> String {
        format!("json_extract(detail, '$.{key}')")
    }

    fn execute<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, SqliteQueryResult> {
        match on {
            On::Pool(pool) => pool.execute(query),
            On::Connection(connection) => connection.execute(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Option<SqliteRow>> {
        match on {
            On::Pool(pool) => pool.fetch_optional(query),
            On::Connection(connection) => connection.fetch_optional(query),
        }
    }

    fn fetch_one<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, SqliteRow> {
        match on {
            On::Pool(pool) => pool.fetch_one(query),
            On::Connection(connection) => connection.fetch_one(query),
        }
    }

    fn fetch_all<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Vec<SqliteRow>> {
        match on {
            On::Pool(pool) => pool.fetch_all(query),
            On::Connection(connection) => connection.fetch_all(query),
        }
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }
}

impl Backend for Postgres {
    const POSITIONAL_PARAMETERS: bool = false;

    // Delivered when (and only if) the transaction commits.
    const NOTIFY_FEED: Option<&'static str> = Some("SELECT pg_notify($1, $2)");

    // A transaction-scoped advisory lock on a hash of the family id: released at commit or
    // rollback; two families sharing a hash only wait for each other, never miss each other.
    const LOCK_FAMILY: Option<&'static str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");

    const LOCK_AUDIT_HEAD: &'static str = "SELECT seq, chain_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE";

    fn detail_field(key: &'static str) -> String {
        // `->>` on a JSON value that is no object (detail `null`, a string) is NULL, not an error.
        format!("(detail::jsonb ->> '{key}')")
    }

    fn execute<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, PgQueryResult> {
        match on {
            On::Pool(pool) => pool.execute(query),
            On::Connection(connection) => connection.execute(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Option<PgRow>> {
        match on {
            On::Pool(pool) => pool.fetch_optional(query),
            On::Connection(connection) => connection.fetch_optional(query),
        }
    }

    fn fetch_one<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, PgRow> {
        match on {
            On::Pool(pool) => pool.fetch_one(query),
            On::Connection(connection) => connection.fetch_one(query),
        }
    }

    fn fetch_all<'e, 'q: 'e>(query: SqlxQuery<'q, Self>, on: On<'e, Self>) -> Answer<'e, Vec<PgRow>> {
        match on {
            On::Pool(pool) => pool.fetch_all(query),
            On::Connection(connection) => connection.fetch_all(query),
        }
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }
}
