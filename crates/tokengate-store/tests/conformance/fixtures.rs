//! What several checks build on: audit records, tenants, apps, codes, the clock and the browser
//! session they come from, counting audit records, and the access tokens the feed revokes.

use std::sync::Arc;

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::*;
use tokengate_core::grants::token_families::AuthorizationCode;
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::revocations::RevocationTarget;
use tokengate_core::store::{AuditQuery, Store};
use uuid::Uuid;

/// The browser session a code, approval or refresh family came from.
pub(crate) const SIGN_IN_SESSION: Uuid = Uuid::from_u128(0x5e55_1011);

/// Seconds; the device-code and session checks run at this clock (polls in milliseconds from
/// `NOW * 1000`).
pub(crate) const NOW: i64 = 1_700_000_000;

pub(crate) fn audit(action: &str) -> AuditEvent {
    AuditEvent::admin(action, None, serde_json::json!({"k": "v"}), 1_000)
}

pub(crate) fn tenant(domain: &str) -> Tenant {
    Tenant { id: Uuid::new_v4(), display_name: "Contoso".into(), domains: vec![domain.into()], created_at: 1 }
}

pub(crate) fn app(tenant_id: Uuid, uri: &str) -> AppRegistration {
    AppRegistration {
        app_id: Uuid::new_v4(),
        tenant_id,
        display_name: "orders".into(),
        identifier_uris: vec![uri.into()],
        sign_in_audience: SignInAudience::AzureADMyOrg,
        access_token_accepted_version: Some(2),
        scopes: vec![],
        app_roles: vec![AppRole {
            id: Uuid::new_v4(),
            value: "Orders.Read.All".into(),
            display_name: "Read".into(),
            allowed_member_types: vec![AllowedMemberType::Application],
            enabled: true,
        }],
        redirect_uris: vec![],
        is_public_client: false,
        single_use_client_assertions: false,
        entra_compatible_refresh_tokens: false,
        group_membership_claims: false,
        required_resource_access: vec![],
        created_at: 2,
    }
}

pub(crate) fn code(hash: &[u8], expires_at: i64) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash.to_vec(),
        tenant_id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        redirect_uri: "http://localhost:5000/cb".into(),
        scopes: vec!["openid".into(), "api://x/Read".into()],
        nonce: Some("n".into()),
        pkce_challenge: Some("c".repeat(43)),
        pkce_method: Some(ChallengeMethod::S256),
        auth_time: 10,
        created_at: 10,
        expires_at,
        family_id: Some(Uuid::new_v4()),
        session_id: Some(SIGN_IN_SESSION),
        redirect_platform: Some(RedirectPlatform::Spa),
    }
}

pub(crate) async fn audit_count(store: &Arc<dyn Store>) -> usize {
    store.audit_events(&AuditQuery { limit: 10_000, ..Default::default() }).await.unwrap().len()
}

/// `uti`s the revocation feed revokes at `now`: named by a family's revocation or on their own.
pub(crate) async fn revoked_token_ids(store: &Arc<dyn Store>, now: i64) -> Vec<String> {
    let read = store.revocations_after(0, now).await.unwrap();
    let mut ids = Vec::new();
    for row in read.rows {
        match row.revocation.target {
            RevocationTarget::Family { token_ids, .. } => ids.extend(token_ids),
            RevocationTarget::Token { token_id } => ids.push(token_id),
            _ => {}
        }
    }
    ids
}
