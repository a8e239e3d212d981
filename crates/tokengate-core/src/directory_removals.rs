//! Removing directory objects and relations: apps, users, groups, memberships, credentials, app
//! role grants and consents, each with its audit record naming the actor. Deleting an app or a
//! user first revokes what was issued to it on the kill-switch feed: a deleted principal's tokens
//! must not outlive it.

use serde_json::json;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::directory::{AppRoleGrant, DelegatedGrant};
use crate::directory_admin::{revoke_user, AdminError, AdminResult};
use crate::revocations::{NewRevocation, RevocationTarget};
use crate::store::{Store, StoreError};
use crate::UnixTime;

/// `NotFound` from the store, worded as `what` is missing.
fn missing(what: String) -> impl FnOnce(StoreError) -> AdminError {
    move |e| match e {
        StoreError::NotFound => AdminError::NotFound(what),
        other => AdminError::Store(other),
    }
}

/// Deletes an app registration with its service principals, credentials, grants and consents.
/// Tokens it holds are revoked first (a client revocation on the feed), so none outlives it.
pub async fn delete_app_by(store: &dyn Store, actor: &str, app_id: Uuid, now: UnixTime) -> AdminResult<()> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let target = RevocationTarget::Client { client_id: app_id.to_string(), disable_credentials: false };
    let revocation = NewRevocation::at(target, actor, Some("app deleted".into()), now * 1000);
    let mut audit = AuditEvent::admin_by(
        "revocation.client",
        Some(app.tenant_id),
        json!({"kind": "client", "subject": app_id, "reason": revocation.reason}),
        actor,
        now,
    );
    audit.client_id = Some(app_id.to_string());
    store.revoke(&revocation, &audit).await?;
    let audit = AuditEvent::admin_by(
        "app.deleted",
        Some(app.tenant_id),
        json!({"app_id": app_id, "display_name": app.display_name, "identifier_uris": app.identifier_uris}),
        actor,
        now,
    );
    store.delete_app(app_id, &audit).await.map_err(missing(format!("app {app_id}")))
}

/// Deletes a user with their memberships, role assignments and consents, after revoking every
/// token and session they hold (as disabling does).
pub async fn delete_user_by(store: &dyn Store, actor: &str, object_id: Uuid, now: UnixTime) -> AdminResult<()> {
    let user = store.user(object_id).await?.ok_or_else(|| AdminError::NotFound(format!("user {object_id}")))?;
    revoke_user(store, object_id, actor, Some("user deleted".into()), now * 1000).await?;
    let mut audit = AuditEvent::admin_by(
        "user.deleted",
        Some(user.tenant_id),
        json!({"object_id": object_id, "upn": user.user_principal_name}),
        actor,
        now,
    );
    audit.subject = Some(object_id.to_string());
    store.delete_user(object_id, &audit).await.map_err(missing(format!("user {object_id}")))
}

/// Deletes a group with its memberships and the app roles assigned to it.
pub async fn delete_group_by(store: &dyn Store, actor: &str, group_id: Uuid, now: UnixTime) -> AdminResult<()> {
    let group = store.group(group_id).await?.ok_or_else(|| AdminError::NotFound(format!("group {group_id}")))?;
    let audit = AuditEvent::admin_by(
        "group.deleted",
        Some(group.tenant_id),
        json!({"object_id": group_id, "name": group.display_name}),
        actor,
        now,
    );
    store.delete_group(group_id, &audit).await.map_err(missing(format!("group {group_id}")))
}

pub async fn remove_group_member_by(
    store: &dyn Store,
    actor: &str,
    group_id: Uuid,
    user_id: Uuid,
    now: UnixTime,
) -> AdminResult<()> {
    let group = store.group(group_id).await?.ok_or_else(|| AdminError::NotFound(format!("group {group_id}")))?;
    let audit = AuditEvent::admin_by(
        "group.member_removed",
        Some(group.tenant_id),
        json!({"group_id": group_id, "user_id": user_id}),
        actor,
        now,
    );
    let what = format!("member {user_id} of group {group_id}");
    store.remove_group_member(group_id, user_id, &audit).await.map_err(missing(what))
}

/// Deletes a client secret: it stops working at once.
pub async fn delete_secret_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    key_id: Uuid,
    now: UnixTime,
) -> AdminResult<()> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let audit = AuditEvent::admin_by(
        "secret.deleted",
        Some(app.tenant_id),
        json!({"app_id": app_id, "key_id": key_id}),
        actor,
        now,
    );
    let what = format!("secret {key_id} of app {app_id}");
    store.delete_secret(app_id, key_id, &audit).await.map_err(missing(what))
}

/// Deletes a certificate credential: assertions signed with its key stop working at once.
pub async fn delete_certificate_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    key_id: Uuid,
    now: UnixTime,
) -> AdminResult<()> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let audit = AuditEvent::admin_by(
        "certificate.deleted",
        Some(app.tenant_id),
        json!({"app_id": app_id, "key_id": key_id}),
        actor,
        now,
    );
    let what = format!("certificate {key_id} of app {app_id}");
    store.delete_certificate(app_id, key_id, &audit).await.map_err(missing(what))
}

/// Revokes an app role grant (to a client app) or assignment (to a user or group). Tokens already
/// issued keep the role until they expire; revoke the client or user to cut those.
pub async fn revoke_app_role_grant_by(
    store: &dyn Store,
    actor: &str,
    grant_id: Uuid,
    now: UnixTime,
) -> AdminResult<AppRoleGrant> {
    let what = format!("app role grant {grant_id}");
    let grant = store.app_role_grant(grant_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let audit = AuditEvent::admin_by(
        "app_role.revoked",
        Some(grant.tenant_id),
        json!({"grant_id": grant_id, "principal_id": grant.principal_id, "resource_app_id": grant.resource_app_id,
               "app_role_id": grant.app_role_id}),
        actor,
        now,
    );
    store.delete_app_role_grant(grant_id, &audit).await.map_err(missing(what))?;
    Ok(grant)
}

/// Revokes a consent: the client can no longer get those scopes for the user (or the tenant).
pub async fn revoke_consent_by(
    store: &dyn Store,
    actor: &str,
    consent_id: Uuid,
    now: UnixTime,
) -> AdminResult<DelegatedGrant> {
    let what = format!("consent {consent_id}");
    let grant = store.delegated_grant(consent_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let audit = AuditEvent::admin_by(
        "consent.revoked",
        Some(grant.tenant_id),
        json!({"consent_id": consent_id, "client_app_id": grant.client_app_id,
               "resource_app_id": grant.resource_app_id, "user_id": grant.principal_id, "scopes": grant.scopes}),
        actor,
        now,
    );
    store.delete_delegated_grant(consent_id, &audit).await.map_err(missing(what))?;
    Ok(grant)
}
