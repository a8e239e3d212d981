//! Feed subscriptions: Postgres tells a node of every advance another node commits, and says so
//! when its connection was lost and re-established; SQLite has none (one node polls).

use std::time::Duration;

use tokengate_core::revocations::RevocationTarget;
use tokengate_core::store::{FeedSignal, FeedSubscription, RevocationStore};
use tokengate_store::SqliteStore;
use uuid::Uuid;

use crate::backends::{postgres_nodes, PgNodes};
use crate::fixtures::audit;
use crate::revocation_feed::revocation;

/// Long enough for a notification or a reconnection on a loaded machine, short enough to fail.
const WAIT: Duration = Duration::from_secs(20);

/// Waits for `wanted`, skipping `Advanced` signals of other versions: notification channels are
/// per database, so other tests' schemas on the same server notify this listener too.
async fn wait_for(subscription: &mut Box<dyn FeedSubscription>, wanted: FeedSignal) {
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let signal = subscription.next().await.unwrap();
            if signal == wanted {
                return;
            }
            assert!(matches!(signal, FeedSignal::Advanced(_)), "waiting for {wanted:?}, got {signal:?}");
        }
    });
    waited.await.unwrap_or_else(|_| panic!("no {wanted:?} within {WAIT:?}"));
}

async fn revoke_token(store: &impl RevocationStore) -> i64 {
    let target = RevocationTarget::Token { token_id: format!("uti-{}", Uuid::new_v4()) };
    store.revoke(&revocation(target), &audit("revocation.created")).await.unwrap().0.version
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_subscription_hears_advances_and_reconnections() {
    postgres_nodes(|nodes: PgNodes| async move {
        let mut subscription = nodes.listening.subscribe_to_feed().await.unwrap().expect("Postgres notifies");
        let version = revoke_token(&*nodes.writing).await;
        wait_for(&mut subscription, FeedSignal::Advanced(version)).await;

        // The listener's connection dies (a failover, a proxy timing out): the subscription
        // reconnects and says so, since whatever was notified meanwhile is lost.
        let listener = format!("{} feed listener", nodes.application_name);
        let killed: Vec<bool> =
            sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1")
                .bind(&listener)
                .fetch_all(&nodes.admin)
                .await
                .unwrap();
        assert_eq!(killed, vec![true], "exactly this test's listener connection");
        wait_for(&mut subscription, FeedSignal::Reconnected).await;

        // Listening again on the new connection.
        let version = revoke_token(&*nodes.writing).await;
        wait_for(&mut subscription, FeedSignal::Advanced(version)).await;
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn sqlite_has_no_subscription() {
    let store = SqliteStore::in_memory().await.unwrap();
    assert!(store.subscribe_to_feed().await.unwrap().is_none(), "one node: the poll suffices");
}
