//! `/admin/v1/keys`: the built-in issuer's signing keys (public parts and states only), and
//! `/admin/v1/keys/rotate`. Emergency removal of a key is a revocation (`POST
//! /admin/v1/revocations` with `kind: key`): it also denies what the key signed.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_core::tokens::TokenSettings;
use tokengate_proto::admin::{KeyRotationView, Problem, SigningKeyView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::iso8601;
use crate::state::now;

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
    Ok(Json(views(&s).await?))
}

async fn views(s: &AdminApiState) -> Result<Vec<SigningKeyView>, ApiProblem> {
    let keys = s.store.signing_keys().await?;
    Ok(keys
        .into_iter()
        .map(|k| SigningKeyView {
            kid: k.kid,
            state: k.state.as_str().into(),
            created_at: iso8601(k.created_at),
            published_until: k.retire_after.map(iso8601),
        })
        .collect())
}

/// Rotate: the published next key signs from now on, the active one is retired (kept in the JWKS
/// until its tokens expire), and a new next key is published. Needs a node holding the
/// key-encryption key (one running the issuer).
#[utoipa::path(
    post,
    path = "/admin/v1/keys/rotate",
    tag = "keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rotated: the new active kid and every key", body = KeyRotationView),
        WriteRefusals,
        (status = 409, description = "This node holds no key-encryption key, or it does not open the stored keys", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
) -> Result<Json<KeyRotationView>, ApiProblem> {
    let Some(kek) = &s.kek else {
        return Err(ApiProblem::conflict(
            "this node does not hold the key-encryption key: rotate on a node running the issuer",
        ));
    };
    let max_age = TokenSettings::default().max_token_age();
    let active_kid = crate::signing_keys::rotate_by(s.store.as_ref(), kek, &caller.actor, max_age, now())
        .await
        .map_err(|e| match e {
            crate::signing_keys::KeyServiceError::Store(store) => ApiProblem::from(store),
            other => ApiProblem::conflict(other.to_string()),
        })?;
    Ok(Json(KeyRotationView { active_kid, keys: views(&s).await? }))
}
