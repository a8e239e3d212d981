//! Opening a store never creates one by accident, and the files it creates are owner-only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use tokengate_store::{open_store, OpenMode};
use uuid::Uuid;

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tokengate-open-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_missing_sqlite_file_is_an_error_naming_it_unless_creation_is_asked() {
    let dir = temp_dir();
    let path = dir.join("typo.db");
    let url = format!("sqlite://{}", path.display());
    let err = open_store(&url, OpenMode::Existing).await.err().expect("refused");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert!(!path.exists(), "nothing created");

    open_store(&url, OpenMode::CreateIfMissing).await.unwrap();
    assert!(path.exists());
    // Once created, it opens as an existing store.
    open_store(&url, OpenMode::Existing).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn a_created_sqlite_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let path = dir.join("store.db");
    let store = open_store(&format!("sqlite://{}", path.display()), OpenMode::CreateIfMissing).await.unwrap();
    store.tenants().await.unwrap();
    for name in ["store.db", "store.db-wal", "store.db-shm"] {
        let file = dir.join(name);
        if file.exists() {
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "{name}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_postgres_database_without_a_store_is_refused_unless_creation_is_asked() {
    let Ok(url) = std::env::var("TOKENGATE_TEST_PG_URL") else {
        eprintln!("TOKENGATE_TEST_PG_URL not set: skipped");
        return;
    };
    let name = format!("tg_empty_{}", Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    let empty = format!("{base}/{name}");

    let err = open_store(&empty, OpenMode::Existing).await.err().expect("refused");
    let text = err.to_string();
    assert!(text.contains(&name) && text.contains("holds no tokengate store"), "{text}");
    open_store(&empty, OpenMode::CreateIfMissing).await.unwrap().tenants().await.unwrap();
    open_store(&empty, OpenMode::Existing).await.unwrap();

    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&admin).await.unwrap();
}
