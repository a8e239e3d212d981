//! The node's policy file, polled once a second: a changed file that validates is published as a
//! new policy version (the follower then installs it here and every other node installs it
//! too); one that does not is reported and ignored.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::metrics::ReloadLabels;
use super::policy_file;
use super::policy_follower::PolicyFollower;
use crate::policy_publishing::{import_policy_file, Published};

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

pub fn spawn(
    follower: Arc<PolicyFollower>,
    node: String,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let state = follower.gateway.clone();
        let Some(path) = state.policy_path.clone() else { return };
        let mut last = stamp(&path);
        loop {
            if !crate::periodic::sleep_or_stop(Duration::from_secs(1), &mut shutdown).await {
                return;
            }
            let now = stamp(&path);
            if now == last {
                continue;
            }
            last = now;
            let file = match policy_file::read(&path) {
                Ok(file) => file,
                Err(problems) => {
                    state.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "refused" }).inc();
                    for p in problems {
                        tracing::error!(file = %path.display(), problem = %p, "gateway policy not published; keeping the running one");
                    }
                    continue;
                }
            };
            match import_policy_file(follower.store.as_ref(), &file, &node, crate::state::now()).await {
                Ok(Some(Published::New(v))) => {
                    tracing::info!(file = %path.display(), version = v.version, "gateway policy file published");
                }
                Ok(_) => {}
                Err(e) => {
                    state.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "refused" }).inc();
                    tracing::error!(file = %path.display(), error = %e, "gateway policy not published; keeping the running one");
                    continue;
                }
            }
            // Install here at once rather than on the next feed announcement.
            if let Err(e) = follower.follow().await {
                tracing::warn!(error = %e, "reading the published gateway policy failed; the follower retries");
            }
        }
    })
}
