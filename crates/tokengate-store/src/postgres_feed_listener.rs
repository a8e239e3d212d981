//! Postgres notifications of revocation feed advances (`RevocationStore::subscribe_to_feed`): a
//! `LISTEN` on the channel every feed-advancing transaction notifies on commit (`sql/feed.rs`).
//!
//! The listener holds its own connection, from a pool of one made for it: it never takes one of
//! the store's connections for good, and it shows in `pg_stat_activity` under its own
//! `application_name` (the store's, or `tokengate`, followed by ` feed listener`).
//!
//! sqlx's `PgListener::try_recv` (sqlx-postgres 0.8 `listener.rs`) answers `Ok(Some(n))` for a
//! notification; `Ok(None)` when the connection was lost (an I/O error: reset, end of stream,
//! as when the server terminates the backend) — by default it has reconnected and re-issued
//! `LISTEN` before returning, and whatever was notified in between is gone; `Err` for anything
//! else, including a failed reconnection. So `Ok(None)` is `Reconnected` (the caller resyncs in
//! full) and `Err` ends the subscription.
//!
//! `try_recv` runs in a task of its own and hands signals over a channel, because callers wait
//! for the next signal under a timeout: a `next()` dropped halfway through `try_recv`'s
//! reconnection would leave the listener reconnecting silently on the next call, and the caller
//! would never hear that notifications were lost. A channel receive can be dropped at any point.

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokengate_core::store::{FeedSignal, FeedSubscription, StoreError, StoreResult};
use tokio::sync::mpsc;

use crate::error::backend_error;
use crate::postgres::CONNECT_TIMEOUT;
use crate::sql::FEED_CHANNEL;

/// Signals waiting for the caller. A caller that falls this far behind makes the listener wait
/// (notifications queue in the connection meanwhile); it never loses one.
const SIGNAL_BUFFER: usize = 64;

pub(crate) async fn subscribe(store_pool: &PgPool) -> StoreResult<Box<dyn FeedSubscription>> {
    let options = store_pool.connect_options();
    let name = format!("{} feed listener", options.get_application_name().unwrap_or("tokengate"));
    // One connection, kept as long as the listener lives (sqlx's own `PgListener::connect` makes
    // the same pool); a lost one is replaced by `try_recv`.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with((*options).clone().application_name(&name))
        .await
        .map_err(backend_error)?;
    let mut listener = PgListener::connect_with(&pool).await.map_err(backend_error)?;
    listener.listen(FEED_CHANNEL).await.map_err(backend_error)?;
    let (sender, signals) = mpsc::channel(SIGNAL_BUFFER);
    tokio::spawn(forward_signals(listener, sender));
    Ok(Box::new(PgFeedSubscription { signals }))
}

/// Receives notifications until the subscription is dropped or the listener fails; a failure is
/// the last signal sent.
async fn forward_signals(mut listener: PgListener, sender: mpsc::Sender<StoreResult<FeedSignal>>) {
    loop {
        let received = tokio::select! {
            received = listener.try_recv() => received,
            () = sender.closed() => return,
        };
        let signal = match received {
            // The payload is the version; one that does not parse still says the feed moved (the
            // caller reads the feed either way).
            Ok(Some(notification)) => Ok(FeedSignal::Advanced(notification.payload().parse().unwrap_or(0))),
            Ok(None) => Ok(FeedSignal::Reconnected),
            Err(e) => Err(backend_error(e)),
        };
        let failed = signal.is_err();
        if sender.send(signal).await.is_err() || failed {
            return;
        }
    }
}

struct PgFeedSubscription {
    signals: mpsc::Receiver<StoreResult<FeedSignal>>,
}

#[async_trait]
impl FeedSubscription for PgFeedSubscription {
    async fn next(&mut self) -> StoreResult<FeedSignal> {
        match self.signals.recv().await {
            Some(signal) => signal,
            None => Err(StoreError::Backend("the feed subscription has ended: subscribe again".into())),
        }
    }
}
