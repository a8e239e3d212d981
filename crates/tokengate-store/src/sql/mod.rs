//! The store traits in SQL both dialects accept, written once as ordinary generic functions over
//! `SqlStore`, one file per aggregate; `forward_to_sql!` implements each trait for `SqliteStore`
//! and `PgStore` by calling them. Writes that carry an audit event commit it in the same
//! transaction. Every transaction starts with a write so SQLite takes its write lock up front
//! (no deadlocking lock upgrades). Nothing here may ask which dialect it runs on: what differs
//! lives in `backend.rs`.

use std::future::Future;
use std::sync::Arc;

use sqlx::Pool;
use tokengate_core::store::{FeedSubscription, StoreResult};
use tokio::sync::{Mutex, MutexGuard};

mod apps;
mod audit;
mod audit_chain;
mod audit_records;
mod authorization_codes;
mod backend;
mod consent;
mod credentials;
mod device_codes;
mod family_revocation;
mod feed;
mod grants;
mod nodes;
mod policy_versions;
mod refresh_token_rotation;
mod refresh_tokens;
mod replay;
mod revocation_effects;
mod revocations;
mod rotation_group_commit;
mod row;
mod sessions;
mod signing_keys;
mod statement;
mod tenants;
mod users;

use backend::Backend;
pub(crate) use feed::FEED_CHANNEL;
pub(crate) use rotation_group_commit::RotationQueue;

/// A store backed by a sqlx pool: what every SQL function is generic over.
pub(crate) trait SqlStore: Send + Sync {
    type Db: Backend;

    fn pool(&self) -> &Pool<Self::Db>;

    /// Where write transactions run (`statement::begin`). SQLite: one connection of its own, so
    /// its page cache stays valid across its own commits (any pooled connection starts with a
    /// stale cache after another connection's commit, and re-reads every page it touches).
    /// Postgres: the pool.
    fn write_pool(&self) -> &Pool<Self::Db> {
        self.pool()
    }

    /// Held around every write. SQLite has one writer at a time; without this, concurrent
    /// writers collide on the database lock and sleep in SQLite's busy handler (1, 2, 5, 10 ms…),
    /// which under load costs far more than waiting in line. Postgres has row locks: no gate.
    fn write_gate(&self) -> Option<&Arc<Mutex<()>>>;

    /// Where writes pass the write gate one at a time anyway, refresh token rotations waiting
    /// for it queue here and commit together (`rotation_group_commit.rs`). None: each rotation
    /// commits on its own (Postgres: writers run side by side under row locks, and one
    /// transaction holding several clients' rows could deadlock with another node's).
    fn rotation_queue(&self) -> Option<&RotationQueue> {
        None
    }

    /// Notifications of revocation feed advances (`RevocationStore::subscribe_to_feed`), where
    /// the backend has them.
    fn feed_notifications(&self) -> impl Future<Output = StoreResult<Option<Box<dyn FeedSubscription>>>> + Send;

    /// Waits for this process's turn to write (see `write_gate`).
    fn writer(&self) -> impl Future<Output = Option<MutexGuard<'_, ()>>> + Send {
        async move {
            match self.write_gate() {
                Some(gate) => Some(gate.lock().await),
                None => None,
            }
        }
    }
}

/// Implements a store trait for `SqliteStore` and `PgStore`: each method calls the function of
/// the same name in the invoking module, where the SQL lives. Only forwarding, so the macro never
/// hides logic from rustfmt or from the reader; the signatures are the trait's own.
macro_rules! forward_to_sql {
    ($store_trait:ident { $(async fn $method:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;)* }) => {
        #[async_trait::async_trait]
        impl $store_trait for crate::SqliteStore {
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret {
                $method(self $(, $arg)*).await
            })*
        }

        #[async_trait::async_trait]
        impl $store_trait for crate::PgStore {
            $(async fn $method(&self $(, $arg: $ty)*) -> $ret {
                $method(self $(, $arg)*).await
            })*
        }
    };
}

use forward_to_sql;
