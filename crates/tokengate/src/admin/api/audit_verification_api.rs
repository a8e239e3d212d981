//! `/admin/v1/audit/verification`: the audit chain verified as `tokengate audit verify` does it
//! (every record recomputed in seq order, every signed checkpoint checked), for people who read
//! the log through the API or the dashboard. Checkpoints are signed under a key derived from the
//! key-encryption key, so only a node holding it (an issuer node) can verify; elsewhere the answer
//! says so and still names the newest checkpoint.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_core::audit_checkpoint::CheckpointKey;
use tokengate_core::audit_records::AuditRecordFilter;
use tokengate_core::audit_verify::{ChainVerifier, VerifyFailure, VerifyReport};
use tokengate_proto::admin::AuditVerificationView;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::iso8601;
use crate::state::now;

/// Records read per store round trip (memory holds one page at a time).
const PAGE: u32 = 1_000;

/// Verifies the whole audit chain and its signed checkpoints (a full read of the log: its time
/// grows with the log's size).
#[utoipa::path(
    get,
    path = "/admin/v1/audit/verification",
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether the chain verified, and what it covered or where it broke", body = AuditVerificationView),
        ReadRefusals,
    )
)]
pub async fn verification(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
) -> Result<Json<AuditVerificationView>, ApiProblem> {
    let checkpoints = s.store.audit_checkpoints().await?;
    let latest = checkpoints.iter().max_by_key(|c| c.seq).map(|c| (c.seq, iso8601(c.at_ms.div_euclid(1000))));
    let mut view = AuditVerificationView {
        status: "unavailable".into(),
        reason: None,
        records: 0,
        first_seq: None,
        last_seq: None,
        unchained: 0,
        checkpoints: 0,
        checkpoints_matched: 0,
        latest_checkpoint_seq: latest.as_ref().map(|l| l.0),
        latest_checkpoint_at: latest.map(|l| l.1),
        checked_at: iso8601(now()),
    };
    let Some(kek) = &s.kek else {
        view.reason = Some(
            "this node holds no key-encryption key, so it cannot check the signed checkpoints: ask an issuer node, \
             or run `tokengate audit verify` where the key is"
                .into(),
        );
        return Ok(Json(view));
    };
    match verify(&s, checkpoints, &CheckpointKey::from_kek(kek)).await? {
        Ok(report) => {
            view.status = "verified".into();
            view.records = report.records;
            view.first_seq = report.first_seq;
            view.last_seq = report.last_seq;
            view.unchained = report.unchained;
            view.checkpoints = report.checkpoints;
            view.checkpoints_matched = report.checkpoints_matched;
        }
        Err(failure) => {
            view.status = "failed".into();
            view.reason = Some(failure.to_string());
        }
    }
    Ok(Json(view))
}

/// The store's failure is the outer error (500); the chain's is the inner one (an answer).
async fn verify(
    s: &AdminApiState,
    checkpoints: Vec<tokengate_core::audit_checkpoint::Checkpoint>,
    key: &CheckpointKey,
) -> Result<Result<VerifyReport, VerifyFailure>, ApiProblem> {
    let mut verifier = match ChainVerifier::new(checkpoints, key) {
        Ok(v) => v,
        Err(failure) => return Ok(Err(failure)),
    };
    let mut after_seq = None;
    loop {
        let page = s.store.audit_records(&AuditRecordFilter { after_seq, limit: PAGE, ..Default::default() }).await?;
        let Some(last) = page.last() else {
            return Ok(verifier.finish());
        };
        after_seq = Some(last.seq);
        for record in &page {
            if let Err(failure) = verifier.push(record) {
                return Ok(Err(failure));
            }
        }
    }
}
