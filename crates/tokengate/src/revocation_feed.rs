//! Placeholder while the feed is rebuilt on the revocation rows (issue #10).

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::store::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub fn spawn(
    store: Arc<dyn Store>,
    revocations: Arc<RevocationSet>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = crate::state::now();
            match store.revocations_after(0, now).await {
                Ok(read) => revocations.resync(&read.rows, read.head, now * 1000),
                Err(e) => tracing::warn!(error = %e, "reading the revocation feed failed"),
            }
            if !crate::periodic::sleep_or_stop(POLL_INTERVAL, &mut shutdown).await {
                return;
            }
        }
    })
}
