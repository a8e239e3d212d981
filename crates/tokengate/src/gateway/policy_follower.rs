//! Every gateway node runs the policy version published in the store. A publish advances the
//! revocation feed, so the feed's announcement of a new version wakes this follower at once; a
//! poll every `POLICY_POLL_INTERVAL` is the backstop. A published version this node cannot run
//! (a `ca_file` missing here) is reported once and the running one kept.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::store::Store;
use tokio::sync::watch;

use super::metrics::ReloadLabels;
use super::{policy_file, ActivePolicy, GatewayState};

pub const POLICY_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// What following did this time.
#[derive(Debug, PartialEq, Eq)]
pub enum Followed {
    /// The running policy is the published one (or nothing is published).
    Current,
    /// Version N is now running.
    Installed(i64),
    /// Version N cannot run on this node; the running policy stays.
    Refused(i64),
}

pub struct PolicyFollower {
    pub store: Arc<dyn Store>,
    pub gateway: Arc<GatewayState>,
    /// The last version refused, so a bad version is reported once, not every poll.
    refused: std::sync::Mutex<Option<i64>>,
}

impl PolicyFollower {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<GatewayState>) -> Arc<PolicyFollower> {
        Arc::new(PolicyFollower { store, gateway, refused: std::sync::Mutex::new(None) })
    }

    /// Installs the published version if it is not the one running.
    pub async fn follow(&self) -> Result<Followed, tokengate_core::store::StoreError> {
        let Some(published) = self.store.published_policy_version().await? else { return Ok(Followed::Current) };
        let running = self.gateway.policy.load();
        if running.published == Some(published) || self.already_refused(published) {
            return Ok(Followed::Current);
        }
        let Some(version) = self.store.policy_version(published).await? else { return Ok(Followed::Current) };
        let base = &self.gateway.policy_base_dir;
        let mut problems = policy_file::validate(&version.document, base);
        let built = if problems.is_empty() {
            ActivePolicy::build(&version.document, base, self.gateway.builtin_keys.as_ref(), Some(&running))
        } else {
            Err(std::mem::take(&mut problems))
        };
        match built {
            Ok(next) => {
                self.gateway.install(next.published_as(published));
                super::policy_warnings::spawn_log(&version.document, Some(self.store.clone()));
                self.gateway.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "applied" }).inc();
                tracing::info!(version = published, by = %version.summary.author, message = %version.summary.message, "gateway policy version installed");
                Ok(Followed::Installed(published))
            }
            Err(problems) => {
                self.gateway.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "refused" }).inc();
                for p in problems {
                    tracing::error!(version = published, problem = %p, "published gateway policy cannot run on this node; keeping the running one");
                }
                if let Ok(mut refused) = self.refused.lock() {
                    *refused = Some(published);
                }
                Ok(Followed::Refused(published))
            }
        }
    }

    fn already_refused(&self, version: i64) -> bool {
        self.refused.lock().map(|r| *r == Some(version)).unwrap_or(false)
    }

    /// Follows after every feed advance and every `POLICY_POLL_INTERVAL`, until shutdown.
    pub fn spawn(
        self: Arc<Self>,
        mut feed: watch::Receiver<i64>,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::select! {
                    changed = feed.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(POLICY_POLL_INTERVAL) => {}
                    _ = shutdown.changed() => return,
                }
                match self.follow().await {
                    Ok(_) => failing = false,
                    Err(e) => {
                        if !failing {
                            tracing::warn!(error = %e, "reading the published gateway policy failed; keeping the running one");
                        }
                        failing = true;
                    }
                }
            }
        })
    }
}
