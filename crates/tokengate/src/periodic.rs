//! The one way background loops wait: sleep for the period, or stop at once when shutdown (or
//! a task's own stop signal) is announced.

use std::time::Duration;

use tokio::sync::watch;

/// Sleeps `period`; `false` when `stop` changed (or its sender is gone) first: the loop ends.
pub async fn sleep_or_stop(period: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(period) => true,
        _ = stop.changed() => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sleeps_until_stopped() {
        let (tx, mut rx) = watch::channel(false);
        assert!(sleep_or_stop(Duration::from_secs(30), &mut rx).await, "the period passes");
        tx.send(true).unwrap();
        assert!(!sleep_or_stop(Duration::from_secs(3600), &mut rx).await, "stop wins over the sleep");
        drop(tx);
        assert!(!sleep_or_stop(Duration::from_secs(3600), &mut rx).await, "a dropped sender stops too");
    }
}
