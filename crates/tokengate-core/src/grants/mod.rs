//! OAuth 2.0 grants, one file per grant.

pub mod authorization_code;
pub mod client_binding;
pub mod client_credentials;
pub mod configured_permissions;
pub mod delegated_issuance;
pub mod delegated_scopes;
pub mod device_code;
pub mod device_poll_pace;
pub mod grant_context;
pub mod on_behalf_of;
pub mod refresh_token;
pub mod token_families;

use crate::keys::KeyRing;
use crate::store::Store;
use crate::tokens::TokenSettings;

/// What every grant needs to mint tokens.
pub struct Issuer<'a> {
    pub store: &'a dyn Store,
    pub keys: &'a KeyRing,
    pub settings: &'a TokenSettings,
    /// `https://host:port` as clients reach the issuer.
    pub base_url: &'a str,
    /// The applied kill-switch feed: tokens minted for a revoked user or client are stamped no
    /// earlier than the revocation's cutoff.
    pub revocations: &'a RevocationSet,
    /// This node's device-code polling clocks (`slow_down`).
    pub device_polls: &'a DevicePollPace,
}

use serde_json::json;

use crate::access::revocation::RevocationSet;
use device_poll_pace::DevicePollPace;
use uuid::Uuid;

use crate::audit::{AuditEvent, AuditSource, Outcome};
use crate::client_auth::backend;
use crate::directory::{AppRegistration, Tenant, User};
use crate::errors::{codes, OAuthError};
use crate::UnixTime;

/// The user a grant acts for, if they still exist and may sign in.
pub async fn active_user(store: &dyn Store, user_id: Uuid) -> Result<User, OAuthError> {
    match store.user(user_id).await.map_err(backend)? {
        Some(u) if u.enabled => Ok(u),
        Some(_) => Err(OAuthError::invalid_grant(codes::USER_DISABLED, "The user account is disabled.")),
        None => Err(OAuthError::invalid_grant(codes::INVALID_GRANT, "The user account no longer exists.")),
    }
}

pub fn consent_required(missing: &[String]) -> OAuthError {
    OAuthError::invalid_grant(
        codes::CONSENT_REQUIRED,
        format!(
            "The user or administrator has not consented to use the application for: {}. Send an interactive authorization request for this user and resource.",
            missing.join(" ")
        ),
    )
}

/// Stores the family's new refresh token (if any) and remembers the access token's `uti`, so
/// revoking the family reaches it at the gateway — before the tokens leave the issuer.
pub async fn remember_family_tokens(
    issuer: &Issuer<'_>,
    tokens: &delegated_issuance::DelegatedTokens,
    family_id: Uuid,
    grant: &str,
    now: UnixTime,
) -> Result<(), OAuthError> {
    issuer.store.record_family_access_token(family_id, &tokens.claims.uti, tokens.claims.exp).await.map_err(backend)?;
    if let Some((_, record)) = &tokens.refresh {
        let mut audit = AuditEvent::new(AuditSource::Issuer, "refresh_token.issued", Outcome::Allowed, now * 1000);
        audit.tenant_id = Some(record.tenant_id.to_string());
        audit.client_id = Some(record.client_id.to_string());
        audit.subject = Some(record.user_id.to_string());
        audit.detail = json!({"family_id": family_id, "grant": grant});
        issuer.store.insert_refresh_token(record, &audit).await.map_err(backend)?;
    }
    Ok(())
}

/// The resource an identifier (App ID URI or client id) names, if it is visible in `tenant`.
pub async fn find_resource(
    store: &dyn Store,
    tenant: &Tenant,
    identifier: &str,
) -> Result<Option<AppRegistration>, OAuthError> {
    let trimmed = identifier.trim_end_matches('/');
    let by_guid =
        Uuid::parse_str(trimmed).ok().or_else(|| trimmed.strip_prefix("api://").and_then(|g| Uuid::parse_str(g).ok()));
    let app = match by_guid {
        Some(id) => store.app(id).await.map_err(backend)?,
        None => None,
    };
    let app = match app {
        Some(app) => Some(app),
        None => store.app_by_identifier_uri(tenant.id, trimmed).await.map_err(backend)?,
    };
    let Some(app) = app else { return Ok(None) };
    if app.tenant_id == tenant.id || store.service_principal(tenant.id, app.app_id).await.map_err(backend)?.is_some() {
        Ok(Some(app))
    } else {
        Ok(None)
    }
}
