//! Who calls the admin API: an extractor that admits a bearer token with one of the admin API's
//! app roles (401 without one, 403 with neither role), and one that also requires
//! `Tokengate.Admin` (an auditor reads everything and changes nothing).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tokengate_core::access::bearer::{bearer_token, DEFAULT_MAX_TOKEN_LEN};

use super::admin_api_state::{AdminApiState, ADMIN_ROLE};
use super::api_problem::ApiProblem;
use crate::state::now;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminRole {
    Admin,
    Auditor,
}

/// An authenticated caller of any role.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub role: AdminRole,
    /// For the audit trail and revocations: the user's `oid`, else the client app's id.
    pub actor: String,
}

/// An authenticated caller holding `Tokengate.Admin`.
#[derive(Debug, Clone)]
pub struct AdminWriter(pub AdminCaller);

impl FromRequestParts<Arc<AdminApiState>> for AdminCaller {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AdminApiState>) -> Result<Self, ApiProblem> {
        let values: Vec<&[u8]> = parts.headers.get_all(header::AUTHORIZATION).iter().map(|v| v.as_bytes()).collect();
        let token = bearer_token(&values, false, DEFAULT_MAX_TOKEN_LEN)
            .map(str::to_owned)
            .map_err(|r| ApiProblem::unauthenticated(&r))?;
        // The built-in issuer's keys follow rotations and removals lazily here: a cheap check.
        if let Some(builtin) = &state.trust.builtin {
            builtin.sync();
        }
        let verified = state
            .auth
            .verify(&state.trust, &token, &state.requirements.issuers, now())
            .await
            .map_err(|r| ApiProblem::unauthenticated(&r))?;
        state.auth.authorize(&verified, &state.requirements).map_err(|r| ApiProblem::unauthenticated(&r))?;
        let role =
            if verified.roles.iter().any(|r| &**r == ADMIN_ROLE) { AdminRole::Admin } else { AdminRole::Auditor };
        let actor = verified.oid.as_deref().or(verified.client_id.as_deref()).unwrap_or("unknown").to_owned();
        Ok(AdminCaller { role, actor })
    }
}

impl FromRequestParts<Arc<AdminApiState>> for AdminWriter {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AdminApiState>) -> Result<Self, ApiProblem> {
        let caller = AdminCaller::from_request_parts(parts, state).await?;
        match caller.role {
            AdminRole::Admin => Ok(AdminWriter(caller)),
            AdminRole::Auditor => Err(ApiProblem::forbidden(
                "this operation changes state: it needs the app role Tokengate.Admin (Tokengate.Auditor reads only)",
            )),
        }
    }
}
