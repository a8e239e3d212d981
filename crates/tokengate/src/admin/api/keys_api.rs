//! `/admin/v1/keys`: the built-in issuer's signing keys (public parts and states only).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_proto::admin::SigningKeyView;

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_problem::{ApiProblem, ReadRefusals};
use super::iso8601;

/// Next, active and retired keys.
#[utoipa::path(
    get,
    path = "/admin/v1/keys",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signing keys", body = Vec<SigningKeyView>),
        ReadRefusals,
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
) -> Result<Json<Vec<SigningKeyView>>, ApiProblem> {
    let keys = s.store.signing_keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| SigningKeyView {
                kid: k.kid,
                state: k.state.as_str().into(),
                created_at: iso8601(k.created_at),
                published_until: k.retire_after.map(iso8601),
            })
            .collect(),
    ))
}
