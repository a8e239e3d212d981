//! A fresh store per test, and its clean-up. The check runs as its own task, so a failing one
//! (a panic) still gets its temporary directory or Postgres schema removed before the test fails
//! with the check's own message.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokengate_core::store::Store;
use tokengate_store::{PgStore, ReadCachedStore, SqliteStore};
use uuid::Uuid;

pub(crate) async fn sqlite<C, F>(check: C)
where
    C: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let dir = temp_dir();
    let store = SqliteStore::open(&dir.join("store.db")).await.unwrap();
    let outcome = tokio::spawn(check(Arc::new(store))).await;
    std::fs::remove_dir_all(&dir).unwrap();
    fail_as_the_check_did(outcome);
}

/// The in-memory store the binary's in-process tests run on: it must behave as the file does.
pub(crate) async fn sqlite_in_memory<C, F>(check: C)
where
    C: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let store = SqliteStore::in_memory().await.unwrap();
    fail_as_the_check_did(tokio::spawn(check(Arc::new(store))).await);
}

pub(crate) async fn sqlite_behind_read_cache<C, F>(check: C)
where
    C: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let dir = temp_dir();
    let store = SqliteStore::open(&dir.join("store.db")).await.unwrap();
    let cached = ReadCachedStore::new(Arc::new(store), Duration::from_secs(60));
    let outcome = tokio::spawn(check(Arc::new(cached))).await;
    std::fs::remove_dir_all(&dir).unwrap();
    fail_as_the_check_did(outcome);
}

/// In a schema of its own on the server `TOKENGATE_TEST_PG_URL` names, dropped afterwards.
pub(crate) async fn postgres<C, F>(check: C)
where
    C: FnOnce(Arc<dyn Store>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var("TOKENGATE_TEST_PG_URL") else {
        eprintln!("TOKENGATE_TEST_PG_URL not set: Postgres conformance skipped");
        return;
    };
    let schema = format!("tg_conformance_{}", Uuid::new_v4().simple());
    let store = Arc::new(PgStore::connect_in_schema(&url, &schema).await.unwrap());
    let outcome = tokio::spawn(check(store.clone())).await;
    store.drop_schema(&schema).await.unwrap();
    drop(store); // its pool's connections close here, not when the test binary exits
    fail_as_the_check_did(outcome);
}

/// Two nodes on one fresh Postgres schema, each with its own pool: `listening` connects with an
/// `application_name` of its own (`application_name`), so the check can find its connections in
/// `pg_stat_activity` and never touches another test's; `admin` runs such queries.
pub(crate) struct PgNodes {
    pub listening: Arc<PgStore>,
    pub writing: Arc<PgStore>,
    pub admin: sqlx::PgPool,
    pub application_name: String,
}

pub(crate) async fn postgres_nodes<C, F>(check: C)
where
    C: FnOnce(PgNodes) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var("TOKENGATE_TEST_PG_URL") else {
        eprintln!("TOKENGATE_TEST_PG_URL not set: Postgres conformance skipped");
        return;
    };
    let schema = format!("tg_conformance_{}", Uuid::new_v4().simple());
    let application_name = format!("tg_test_{}", Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let tagged_url = format!("{url}{separator}application_name={application_name}");
    let listening = Arc::new(PgStore::connect_in_schema(&tagged_url, &schema).await.unwrap());
    let writing = Arc::new(PgStore::connect_in_schema(&url, &schema).await.unwrap());
    let admin = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    let nodes = PgNodes { listening, writing: writing.clone(), admin: admin.clone(), application_name };
    let outcome = tokio::spawn(check(nodes)).await;
    writing.drop_schema(&schema).await.unwrap();
    admin.close().await;
    fail_as_the_check_did(outcome);
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tokengate-conformance-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fail_as_the_check_did(outcome: Result<(), tokio::task::JoinError>) {
    match outcome {
        Ok(()) => {}
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the check did not finish: {e}"),
    }
}
