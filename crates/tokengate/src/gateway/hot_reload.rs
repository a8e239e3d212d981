//! Hot reload of the policy file: polled once a second; a changed file that validates replaces
//! the running policy atomically (requests in flight finish on the version they started with);
//! one that does not is reported and ignored.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::metrics::ReloadLabels;
use super::{policy_file, ActivePolicy, GatewayState};

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

pub fn spawn(state: Arc<GatewayState>, mut shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
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
            let base = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
            let built = policy_file::load(&path).and_then(|file| {
                super::policy_warnings::spawn_log(&file, state.store.clone());
                let current = state.policy.load_full();
                ActivePolicy::build(&file, &base, state.builtin_keys.as_ref(), Some(&current))
            });
            match built {
                Ok(next) => {
                    state.install(next);
                    state.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "applied" }).inc();
                    tracing::info!(file = %path.display(), "gateway policy reloaded");
                }
                Err(problems) => {
                    state.metrics.policy_reloads.get_or_create(&ReloadLabels { result: "refused" }).inc();
                    for p in problems {
                        tracing::error!(file = %path.display(), problem = %p, "gateway policy not reloaded; keeping the running one");
                    }
                }
            }
        }
    })
}
