//! ONE conformance suite for every store backend, after dex's `storage/conformance`: each check is
//! its own test on a fresh store, run on SQLite, on in-memory SQLite (what in-process tests use), on SQLite behind `ReadCachedStore`, and on
//! Postgres (when `TOKENGATE_TEST_PG_URL` is set; CI sets it — otherwise those tests print a skip
//! line and pass), so one failing check never hides another. Test names say where:
//! `refresh_token_rotation::refresh_grace_race::postgres`. What only one backend has (Postgres
//! feed notifications, between two nodes) is checked by plain tests (`feed_listener`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

/// For each check (an `async fn(&Arc<dyn Store>)` in the invoking module), a module of the same
/// name with one test per backend.
macro_rules! on_every_backend {
    ($($check:ident),+ $(,)?) => {$(
        mod $check {
            #[tokio::test(flavor = "current_thread")]
            async fn sqlite() {
                crate::backends::sqlite(|store| async move { super::$check(&store).await }).await;
            }

            #[tokio::test(flavor = "current_thread")]
            async fn sqlite_in_memory() {
                crate::backends::sqlite_in_memory(|store| async move { super::$check(&store).await }).await;
            }

            #[tokio::test(flavor = "current_thread")]
            async fn sqlite_behind_read_cache() {
                crate::backends::sqlite_behind_read_cache(|store| async move { super::$check(&store).await }).await;
            }

            #[tokio::test(flavor = "current_thread")]
            async fn postgres() {
                crate::backends::postgres(|store| async move { super::$check(&store).await }).await;
            }
        }
    )+};
}

mod backends;
mod fixtures;

mod apps;
mod audit;
mod audit_chain;
mod audit_filters;
mod authorization_codes;
mod credentials;
mod device_codes;
mod directory_changes;
mod feed_listener;
mod nodes;
mod policy_versions;
mod refresh_token_rotation;
mod replay;
mod revocation_effects;
mod revocation_feed;
mod sessions;
mod signing_keys;
mod tenants;
mod users;
