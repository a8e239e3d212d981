//! Keeps the in-memory revocation set in step with the store: every 500 ms it reads the `uti`s of
//! unexpired access tokens of revoked refresh-token families (theft detected, code reused), so
//! the gateway denies them within a second of the revocation on any node sharing the store.

use std::collections::HashSet;
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
        let mut failing = false;
        loop {
            match store.revoked_access_tokens(0, crate::state::now()).await {
                Ok(utis) => {
                    failing = false;
                    let fresh: HashSet<String> = utis.into_iter().collect();
                    if revocations.snapshot().family_token_ids != fresh {
                        revocations.update(|r| r.family_token_ids = fresh.clone());
                    }
                }
                // Keep the last known set: a store hiccup must not un-revoke anything.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "reading revoked token families failed; keeping the last set");
                }
                Err(_) => {}
            }
            if !crate::periodic::sleep_or_stop(POLL_INTERVAL, &mut shutdown).await {
                return;
            }
        }
    })
}
