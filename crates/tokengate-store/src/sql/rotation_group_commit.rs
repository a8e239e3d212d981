//! Group commit of refresh token rotations, where writes pass the write gate one at a time
//! (SQLite). Alone, each rotation costs a transaction: BEGIN, its statements, and a COMMIT that
//! fsyncs the WAL with every page it dirtied. Rotations that arrive while the writer is busy
//! queue here instead; whoever next holds the gate takes the queue (up to `MAX_BATCH`) into one
//! transaction, each rotation in a savepoint of its own (one judged invalid undoes only its own
//! writes), and one commit makes them all durable.
//!
//! What stays true: nobody is answered before the commit holding their rotation, so an answer
//! still means the successor is on disk; rotations run one after another in queue order, each
//! seeing the ones before it (a token presented twice in one batch is reuse, as it would be in
//! two transactions). The batch runs in a task of its own that holds the gate, so a client that
//! hangs up mid-batch does not abandon the others' rotations; a rotation whose requester is gone
//! before its batch starts is not run at all, as before it queued.

use std::sync::{Arc, Mutex, PoisonError};

use sqlx::{Acquire, Pool, Transaction};
use tokengate_core::audit::AuditEvent;
use tokengate_core::grants::token_families::{MintedAccessToken, RefreshToken, ReusePolicy, RotationOutcome};
use tokengate_core::store::{StoreError, StoreResult};
use tokio::sync::{oneshot, OwnedMutexGuard};

use super::backend::Backend;
use super::refresh_token_rotation::rotate_in;
use super::statement::{commit, rollback};
use crate::error::backend_error;

/// Rotations per transaction at most: enough to cover every request in flight on a busy node
/// (one fsync for all of them), few enough that one transaction stays short.
const MAX_BATCH: usize = 64;

/// One rotation's inputs, owned: it may run in another request's batch.
pub(super) struct Rotation {
    pub(super) presented_hash: Vec<u8>,
    pub(super) successor: RefreshToken,
    pub(super) minted: MintedAccessToken,
    pub(super) policy: ReusePolicy,
    pub(super) now: i64,
    pub(super) audit: AuditEvent,
}

struct Queued {
    rotation: Rotation,
    answer: oneshot::Sender<StoreResult<RotationOutcome>>,
}

/// Rotations waiting for the write gate (`SqlStore::rotation_queue`).
#[derive(Default)]
pub(crate) struct RotationQueue {
    waiting: Mutex<Vec<Queued>>,
}

impl RotationQueue {
    fn push(&self, queued: Queued) {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).push(queued);
    }

    /// The oldest `MAX_BATCH` waiting rotations. Those nobody waits for any more (the request
    /// was dropped: the client hung up) are dropped unrun, as they were before they queued: a
    /// rotation nobody will hear of would only make the client's retry look like reuse.
    fn take_batch(&self) -> Vec<Queued> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.retain(|queued| !queued.answer.is_closed());
        let n = waiting.len().min(MAX_BATCH);
        waiting.drain(..n).collect()
    }
}

/// Queues `rotation` and answers once the transaction holding it has committed. Whoever gets the
/// gate first starts a batch with everything queued by then, which includes its own rotation
/// unless an earlier batch took it; so every queued rotation is in some batch.
pub(super) async fn rotate_in_group<DB: Backend>(
    write_pool: &Pool<DB>,
    gate: &Arc<tokio::sync::Mutex<()>>,
    queue: &RotationQueue,
    rotation: Rotation,
) -> StoreResult<RotationOutcome> {
    let (answer, mut answered) = oneshot::channel();
    queue.push(Queued { rotation, answer });
    loop {
        tokio::select! {
            biased;
            outcome = &mut answered => {
                return outcome.unwrap_or_else(|_| Err(StoreError::Backend(
                    "the node stopped (shutting down?) before this refresh token's rotation was \
                     answered; present the token again".into(),
                )));
            }
            turn = Arc::clone(gate).lock_owned() => {
                let batch = queue.take_batch();
                if !batch.is_empty() {
                    tokio::spawn(commit_batch(write_pool.clone(), turn, batch));
                }
            }
        }
    }
}

/// Runs `batch` in one transaction and answers each rotation, holding the gate throughout.
async fn commit_batch<DB: Backend>(write_pool: Pool<DB>, _turn: OwnedMutexGuard<()>, mut batch: Vec<Queued>) {
    while !batch.is_empty() {
        match run_batch(&write_pool, &batch).await {
            Ok(outcomes) => {
                for (queued, outcome) in batch.into_iter().zip(outcomes) {
                    // A requester that hung up no longer waits: its rotation stands regardless.
                    let _ = queued.answer.send(Ok(outcome));
                }
                return;
            }
            // One rotation failed (its error is its own, e.g. a row that cannot be read): the
            // transaction is rolled back, that rotation answered, the rest run again without it.
            Err(BatchFailure { at: Some(i), error }) => {
                let _ = batch.remove(i).answer.send(Err(error));
            }
            // The transaction itself failed (begin or commit): nothing in it is durable.
            Err(BatchFailure { at: None, error }) => {
                for queued in batch {
                    let _ = queued.answer.send(Err(error.clone()));
                }
                return;
            }
        }
    }
}

struct BatchFailure {
    /// The rotation that failed, or None when the transaction did.
    at: Option<usize>,
    error: StoreError,
}

async fn run_batch<DB: Backend>(write_pool: &Pool<DB>, batch: &[Queued]) -> Result<Vec<RotationOutcome>, BatchFailure> {
    let whole = |error| BatchFailure { at: None, error };
    let mut tx = write_pool.begin().await.map_err(|e| whole(backend_error(e)))?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (i, queued) in batch.iter().enumerate() {
        match rotate_in_savepoint(&mut tx, &queued.rotation).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                // An error may have ended SQLite's transaction under us, so nothing after it may
                // run in this one: roll it all back (best effort; dropping it does the same).
                let _ = rollback(tx).await;
                return Err(BatchFailure { at: Some(i), error });
            }
        }
    }
    commit(tx).await.map_err(whole)?;
    Ok(outcomes)
}

async fn rotate_in_savepoint<DB: Backend>(tx: &mut Transaction<'_, DB>, r: &Rotation) -> StoreResult<RotationOutcome> {
    let savepoint = tx.begin().await.map_err(backend_error)?;
    rotate_in(savepoint, &r.presented_hash, &r.successor, &r.minted, r.policy, r.now, &r.audit).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokengate_core::audit::AuditEvent;
    use tokengate_core::grants::client_binding::ClientBinding;
    use tokengate_core::grants::token_families::{
        MintedAccessToken, RefreshState, RefreshToken, ReusePolicy, RotationOutcome,
    };
    use tokengate_core::store::{DelegatedTokenStore, StoreError};
    use uuid::Uuid;

    use crate::SqliteStore;

    fn token(hash: &[u8]) -> RefreshToken {
        RefreshToken {
            token_hash: hash.to_vec(),
            family_id: Uuid::new_v4(),
            tenant_id: Uuid::nil(),
            client_id: Uuid::nil(),
            user_id: Uuid::nil(),
            scopes: vec!["openid".into()],
            state: RefreshState::Active,
            issued_at: 100,
            expires_at: 10_000,
            rotated_at: None,
            parent_hash: None,
            session_id: None,
            client_binding: Some(ClientBinding::Public),
        }
    }

    /// Waits (boundedly) until `n` rotations wait behind the gate the test holds.
    async fn wait_until_queued(store: &SqliteStore, n: usize) {
        let queued = || store.rotations.waiting.lock().unwrap().len();
        for _ in 0..500 {
            if queued() == n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(queued(), n, "rotations queued behind the gate");
    }

    fn audit() -> AuditEvent {
        AuditEvent::admin("refresh_token.rotated", None, serde_json::json!({}), 1_000)
    }

    /// Three rotations in one batch, the middle one's row unreadable after its claim: that one
    /// fails on its own (its claim undone), the other two commit — the batch is run again
    /// without it, since the error may have ended the transaction.
    #[tokio::test]
    async fn a_failing_rotation_fails_alone_and_the_rest_of_its_batch_commits() {
        let store = Arc::new(SqliteStore::in_memory().await.unwrap());
        let presented: Vec<Vec<u8>> = (0..3u8).map(|i| vec![b'p', i]).collect();
        for hash in &presented {
            store.insert_refresh_token(&token(hash), &audit()).await.unwrap();
        }
        sqlx::query("UPDATE refresh_tokens SET client_binding = 'not-a-binding' WHERE token_hash = ?")
            .bind(&presented[1])
            .execute(&store.pool)
            .await
            .unwrap();

        // Hold the gate until all three wait in the queue, so that one batch takes them.
        let held = store.write_gate.lock().await;
        let mut rotations = Vec::new();
        for (i, hash) in presented.iter().enumerate() {
            let (store, hash) = (Arc::clone(&store), hash.clone());
            rotations.push(tokio::spawn(async move {
                let minted = MintedAccessToken { uti: format!("uti-{i}"), expires_at: 5_000 };
                let successor = token(&[b's', i as u8]);
                let policy = ReusePolicy::RotateAndDetect { grace_seconds: 0 };
                store.rotate_refresh_token(&hash, &successor, &minted, policy, 200, &audit()).await
            }));
        }
        wait_until_queued(&store, 3).await;
        drop(held);

        let mut outcomes = Vec::new();
        for rotation in rotations {
            outcomes.push(rotation.await.unwrap());
        }
        assert!(matches!(outcomes[0], Ok(RotationOutcome::Rotated { .. })), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], Err(StoreError::Backend(m)) if m.contains("client binding")),
            "{:?}",
            outcomes[1]
        );
        assert!(matches!(outcomes[2], Ok(RotationOutcome::Rotated { .. })), "{:?}", outcomes[2]);
        for i in [0u8, 2] {
            assert!(store.refresh_token(&[b's', i]).await.unwrap().is_some(), "successor {i} committed");
        }
        assert_eq!(store.refresh_token(&[b's', 1]).await.unwrap(), None, "no successor for the failed one");
        let (state,): (String,) = sqlx::query_as("SELECT state FROM refresh_tokens WHERE token_hash = ?")
            .bind(&presented[1])
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(state, "active", "the failed rotation's claim was undone");
        assert!(store.rotations.waiting.lock().unwrap().is_empty());
    }

    /// A request dropped while its rotation waited (the client hung up) rotates nothing: its
    /// retry finds the token as it was, not "reused".
    #[tokio::test]
    async fn a_rotation_nobody_waits_for_any_more_is_not_run() {
        let store = Arc::new(SqliteStore::in_memory().await.unwrap());
        store.insert_refresh_token(&token(b"abandoned"), &audit()).await.unwrap();
        let policy = ReusePolicy::RotateAndDetect { grace_seconds: 0 };
        let minted = MintedAccessToken { uti: "uti".into(), expires_at: 5_000 };

        let held = store.write_gate.lock().await;
        let abandoned = {
            let (store, minted) = (Arc::clone(&store), minted.clone());
            tokio::spawn(async move {
                store.rotate_refresh_token(b"abandoned", &token(b"s1"), &minted, policy, 200, &audit()).await
            })
        };
        wait_until_queued(&store, 1).await;
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        drop(held);

        // The client's retry: the token is still the live one, so it rotates.
        let retry = store.rotate_refresh_token(b"abandoned", &token(b"s2"), &minted, policy, 201, &audit()).await;
        assert!(matches!(retry, Ok(RotationOutcome::Rotated { .. })), "{retry:?}");
        assert_eq!(store.refresh_token(b"s1").await.unwrap(), None, "the abandoned rotation never ran");
    }
}
