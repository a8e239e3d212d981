//! A read-through cache in front of any store for the lookups on the token endpoint's hot path
//! (apps, credentials, service principals, grants). Measured: without it, sqlx-sqlite's
//! per-query hand-off to its worker thread cost more CPU than the RSA signature itself.
//!
//! Entries live for a short TTL, so changes made by another process (the CLI, another node on
//! Postgres) show within it; writes through this wrapper clear the cache at once. Only found
//! values are cached, and the cache is bounded, so junk lookups cannot grow memory.

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;
use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::{
    AppRegistration, AppRoleGrant, ClientCertificate, ClientSecret, DelegatedGrant, Group, ServicePrincipal, Tenant,
    User,
};
use tokengate_core::grants::device_code::{DeviceAuthorization, DeviceDecision};
use tokengate_core::grants::token_families::{
    AuthorizationCode, CodeRedemption, MintedAccessToken, RefreshToken, ReusePolicy, RotationOutcome,
};
use tokengate_core::keys::StoredSigningKey;
use tokengate_core::store::{
    AppChange, AppStore, AuditQuery, AuditStore, CredentialStore, DelegatedGrantFilter, DelegatedTokenStore,
    DeviceCodeStore, GrantStore, GroupChange, KeyRotation, ReplayStore, SigningKeyStore, Store, StoreResult,
    TenantChange, TenantStore, UseRecord, UserChange, UserStore,
};
use uuid::Uuid;

/// Most entries per map before it is emptied (a crude but bounded eviction).
const MAX_ENTRIES: usize = 50_000;

struct TtlMap<K, V> {
    entries: DashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlMap<K, V> {
    fn new() -> Self {
        TtlMap { entries: DashMap::new() }
    }

    fn get(&self, key: &K, ttl: Duration) -> Option<V> {
        self.entries.get(key).filter(|e| e.0.elapsed() < ttl).map(|e| e.1.clone())
    }

    fn put(&self, key: K, value: V) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(key, (Instant::now(), value));
    }

    fn clear(&self) {
        self.entries.clear();
    }
}

pub struct ReadCachedStore {
    inner: Arc<dyn Store>,
    ttl: Duration,
    apps: TtlMap<Uuid, AppRegistration>,
    apps_by_uri: TtlMap<(Uuid, String), AppRegistration>,
    principals: TtlMap<(Uuid, Uuid), ServicePrincipal>,
    secrets: TtlMap<Uuid, Vec<ClientSecret>>,
    certificates: TtlMap<Uuid, Vec<ClientCertificate>>,
    grants: TtlMap<(Uuid, Option<Uuid>), Vec<AppRoleGrant>>,
    users: TtlMap<Uuid, User>,
    memberships: TtlMap<Uuid, Vec<Group>>,
    consents: TtlMap<(Uuid, Uuid, Uuid, Uuid), Vec<DelegatedGrant>>,
}

impl ReadCachedStore {
    pub fn new(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        ReadCachedStore {
            inner,
            ttl,
            apps: TtlMap::new(),
            apps_by_uri: TtlMap::new(),
            principals: TtlMap::new(),
            secrets: TtlMap::new(),
            certificates: TtlMap::new(),
            grants: TtlMap::new(),
            users: TtlMap::new(),
            memberships: TtlMap::new(),
            consents: TtlMap::new(),
        }
    }

    fn invalidate(&self) {
        self.apps.clear();
        self.apps_by_uri.clear();
        self.principals.clear();
        self.secrets.clear();
        self.certificates.clear();
        self.grants.clear();
        self.users.clear();
        self.memberships.clear();
        self.consents.clear();
    }
}

#[async_trait]
impl TenantStore for ReadCachedStore {
    async fn insert_tenant(&self, tenant: &Tenant, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.insert_tenant(tenant, audit).await
    }
    async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
        self.inner.tenant(id).await
    }
    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>> {
        self.inner.tenant_by_domain(domain).await
    }
    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.inner.tenants().await
    }
    async fn update_tenant(&self, id: Uuid, change: TenantChange<'_>, audit: &AuditEvent) -> StoreResult<Tenant> {
        self.inner.update_tenant(id, change, audit).await
    }
}

#[async_trait]
impl AppStore for ReadCachedStore {
    async fn insert_app(&self, app: &AppRegistration, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_app(app, audit).await;
        self.invalidate();
        r
    }
    async fn app(&self, app_id: Uuid) -> StoreResult<Option<AppRegistration>> {
        if let Some(app) = self.apps.get(&app_id, self.ttl) {
            return Ok(Some(app));
        }
        let found = self.inner.app(app_id).await?;
        if let Some(app) = &found {
            self.apps.put(app_id, app.clone());
        }
        Ok(found)
    }
    async fn app_by_identifier_uri(&self, tenant_id: Uuid, uri: &str) -> StoreResult<Option<AppRegistration>> {
        let key = (tenant_id, uri.to_owned());
        if let Some(app) = self.apps_by_uri.get(&key, self.ttl) {
            return Ok(Some(app));
        }
        let found = self.inner.app_by_identifier_uri(tenant_id, uri).await?;
        if let Some(app) = &found {
            self.apps_by_uri.put(key, app.clone());
        }
        Ok(found)
    }
    async fn apps(&self, tenant_id: Uuid) -> StoreResult<Vec<AppRegistration>> {
        self.inner.apps(tenant_id).await
    }
    async fn update_app(
        &self,
        app_id: Uuid,
        change: AppChange<'_>,
        audit: &AuditEvent,
    ) -> StoreResult<AppRegistration> {
        let r = self.inner.update_app(app_id, change, audit).await;
        self.invalidate();
        r
    }
    async fn insert_service_principal(&self, sp: &ServicePrincipal, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_service_principal(sp, audit).await;
        self.invalidate();
        r
    }
    async fn service_principal(&self, tenant_id: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>> {
        if let Some(sp) = self.principals.get(&(tenant_id, app_id), self.ttl) {
            return Ok(Some(sp));
        }
        let found = self.inner.service_principal(tenant_id, app_id).await?;
        if let Some(sp) = &found {
            self.principals.put((tenant_id, app_id), sp.clone());
        }
        Ok(found)
    }
    async fn service_principals(&self, app_id: Uuid) -> StoreResult<Vec<ServicePrincipal>> {
        self.inner.service_principals(app_id).await
    }
    async fn delete_app(&self, app_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_app(app_id, audit).await;
        self.invalidate();
        r
    }
}

#[async_trait]
impl CredentialStore for ReadCachedStore {
    async fn insert_secret(&self, secret: &ClientSecret, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_secret(secret, audit).await;
        self.invalidate();
        r
    }
    async fn secrets(&self, app_id: Uuid) -> StoreResult<Vec<ClientSecret>> {
        if let Some(s) = self.secrets.get(&app_id, self.ttl) {
            return Ok(s);
        }
        let found = self.inner.secrets(app_id).await?;
        if !found.is_empty() {
            self.secrets.put(app_id, found.clone());
        }
        Ok(found)
    }
    async fn delete_secret(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_secret(app_id, key_id, audit).await;
        self.invalidate();
        r
    }
    async fn insert_certificate(&self, cert: &ClientCertificate, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_certificate(cert, audit).await;
        self.invalidate();
        r
    }
    async fn certificates(&self, app_id: Uuid) -> StoreResult<Vec<ClientCertificate>> {
        if let Some(c) = self.certificates.get(&app_id, self.ttl) {
            return Ok(c);
        }
        let found = self.inner.certificates(app_id).await?;
        if !found.is_empty() {
            self.certificates.put(app_id, found.clone());
        }
        Ok(found)
    }
    async fn delete_certificate(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_certificate(app_id, key_id, audit).await;
        self.invalidate();
        r
    }
}

#[async_trait]
impl GrantStore for ReadCachedStore {
    async fn insert_app_role_grant(&self, grant: &AppRoleGrant, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_app_role_grant(grant, audit).await;
        self.invalidate();
        r
    }
    async fn app_role_grants(
        &self,
        principal_id: Uuid,
        resource_app_id: Option<Uuid>,
    ) -> StoreResult<Vec<AppRoleGrant>> {
        let key = (principal_id, resource_app_id);
        if let Some(g) = self.grants.get(&key, self.ttl) {
            return Ok(g);
        }
        // Empty results are cached too: the key space is bounded by real principals, and a
        // client with no roles asks as often as one with roles.
        let found = self.inner.app_role_grants(principal_id, resource_app_id).await?;
        self.grants.put(key, found.clone());
        Ok(found)
    }
    async fn delete_app_role_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_app_role_grant(id, audit).await;
        self.invalidate();
        r
    }
    async fn app_role_grant(&self, id: Uuid) -> StoreResult<Option<AppRoleGrant>> {
        self.inner.app_role_grant(id).await
    }
    async fn app_role_grants_on(&self, resource_app_id: Uuid) -> StoreResult<Vec<AppRoleGrant>> {
        self.inner.app_role_grants_on(resource_app_id).await
    }
}

/// Users, memberships and consents are read on every refresh (the delegated hot path): cached for
/// the TTL like apps, so disabling a user or a change made elsewhere takes effect within it.
#[async_trait]
impl UserStore for ReadCachedStore {
    async fn insert_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_user(user, audit).await;
        self.invalidate();
        r
    }
    async fn user(&self, object_id: Uuid) -> StoreResult<Option<User>> {
        if let Some(u) = self.users.get(&object_id, self.ttl) {
            return Ok(Some(u));
        }
        let found = self.inner.user(object_id).await?;
        if let Some(u) = &found {
            self.users.put(object_id, u.clone());
        }
        Ok(found)
    }
    async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>> {
        self.inner.user_by_upn(upn).await
    }
    async fn users(&self, tenant_id: Uuid) -> StoreResult<Vec<User>> {
        self.inner.users(tenant_id).await
    }
    async fn update_user(
        &self,
        object_id: Uuid,
        change: UserChange<'_>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<User> {
        let r = self.inner.update_user(object_id, change, audit).await;
        self.invalidate();
        r
    }
    async fn insert_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.insert_group(group, audit).await;
        self.invalidate();
        r
    }
    async fn groups(&self, tenant_id: Uuid) -> StoreResult<Vec<Group>> {
        self.inner.groups(tenant_id).await
    }
    async fn add_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.add_group_member(group_id, user_id, audit).await;
        self.invalidate();
        r
    }
    async fn groups_of(&self, user_id: Uuid) -> StoreResult<Vec<Group>> {
        if let Some(g) = self.memberships.get(&user_id, self.ttl) {
            return Ok(g);
        }
        let found = self.inner.groups_of(user_id).await?;
        self.memberships.put(user_id, found.clone());
        Ok(found)
    }
    async fn grant_delegated(&self, grant: &DelegatedGrant, audit: &AuditEvent) -> StoreResult<DelegatedGrant> {
        let r = self.inner.grant_delegated(grant, audit).await;
        self.invalidate();
        r
    }
    async fn delegated_grants(
        &self,
        tenant_id: Uuid,
        client_app_id: Uuid,
        resource_app_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Vec<DelegatedGrant>> {
        let key = (tenant_id, client_app_id, resource_app_id, user_id);
        if let Some(g) = self.consents.get(&key, self.ttl) {
            return Ok(g);
        }
        let found = self.inner.delegated_grants(tenant_id, client_app_id, resource_app_id, user_id).await?;
        self.consents.put(key, found.clone());
        Ok(found)
    }
    async fn delete_user(&self, object_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_user(object_id, audit).await;
        self.invalidate();
        r
    }
    async fn group(&self, group_id: Uuid) -> StoreResult<Option<Group>> {
        self.inner.group(group_id).await
    }
    async fn update_group(&self, group_id: Uuid, change: GroupChange<'_>, audit: &AuditEvent) -> StoreResult<Group> {
        let r = self.inner.update_group(group_id, change, audit).await;
        self.invalidate();
        r
    }
    async fn delete_group(&self, group_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_group(group_id, audit).await;
        self.invalidate();
        r
    }
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>> {
        self.inner.group_members(group_id).await
    }
    async fn remove_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.remove_group_member(group_id, user_id, audit).await;
        self.invalidate();
        r
    }
    async fn delegated_grant(&self, id: Uuid) -> StoreResult<Option<DelegatedGrant>> {
        self.inner.delegated_grant(id).await
    }
    async fn find_delegated_grants(&self, filter: &DelegatedGrantFilter) -> StoreResult<Vec<DelegatedGrant>> {
        self.inner.find_delegated_grants(filter).await
    }
    async fn delete_delegated_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
        let r = self.inner.delete_delegated_grant(id, audit).await;
        self.invalidate();
        r
    }
}

/// Codes and refresh tokens are single-use state: never cached.
#[async_trait]
impl DelegatedTokenStore for ReadCachedStore {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        self.inner.insert_code(code).await
    }
    async fn redeem_code(&self, code_hash: &[u8], now: i64) -> StoreResult<CodeRedemption> {
        self.inner.redeem_code(code_hash, now).await
    }
    async fn insert_refresh_token(&self, token: &RefreshToken, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.insert_refresh_token(token, audit).await
    }
    async fn purge_expired_tokens(&self, now: i64) -> StoreResult<u64> {
        self.inner.purge_expired_tokens(now).await
    }
    async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
        self.inner.refresh_token(token_hash).await
    }
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        successor: &RefreshToken,
        minted: &MintedAccessToken,
        policy: ReusePolicy,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<RotationOutcome> {
        self.inner.rotate_refresh_token(presented_hash, successor, minted, policy, now, audit).await
    }
    async fn revoke_family(&self, family_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.revoke_family(family_id, now, audit).await
    }
    async fn record_family_access_token(&self, family_id: Uuid, uti: &str, expires_at: i64) -> StoreResult<()> {
        self.inner.record_family_access_token(family_id, uti, expires_at).await
    }
}

/// Device codes are single-use state too: never cached.
#[async_trait]
impl DeviceCodeStore for ReadCachedStore {
    async fn insert_device_code(&self, code: &DeviceAuthorization) -> StoreResult<()> {
        self.inner.insert_device_code(code).await
    }
    async fn pending_device_code(&self, user_code_hash: &[u8], now: i64) -> StoreResult<Option<DeviceAuthorization>> {
        self.inner.pending_device_code(user_code_hash, now).await
    }
    async fn decide_device_code(
        &self,
        user_code_hash: &[u8],
        decision: DeviceDecision,
        now: i64,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        self.inner.decide_device_code(user_code_hash, decision, now, audit).await
    }
    async fn device_code(&self, device_code_hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>> {
        self.inner.device_code(device_code_hash).await
    }
    async fn redeem_device_code(
        &self,
        device_code_hash: &[u8],
        client_id: Uuid,
        now_ms: i64,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        self.inner.redeem_device_code(device_code_hash, client_id, now_ms).await
    }
}

#[async_trait]
impl SigningKeyStore for ReadCachedStore {
    async fn insert_signing_key(&self, key: &StoredSigningKey, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.insert_signing_key(key, audit).await
    }
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        self.inner.signing_keys().await
    }
    async fn rotate_signing_keys(&self, rotation: &KeyRotation, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.rotate_signing_keys(rotation, audit).await
    }
    async fn delete_signing_key(&self, kid: &str, audit: &AuditEvent) -> StoreResult<()> {
        self.inner.delete_signing_key(kid, audit).await
    }
}

#[async_trait]
impl ReplayStore for ReadCachedStore {
    async fn record_use(
        &self,
        namespace: &str,
        id: &str,
        fingerprint: &[u8],
        expires_at: i64,
        now: i64,
    ) -> StoreResult<UseRecord> {
        self.inner.record_use(namespace, id, fingerprint, expires_at, now).await
    }
}

#[async_trait]
impl AuditStore for ReadCachedStore {
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        self.inner.append_audit(events).await
    }
    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        self.inner.audit_events(query).await
    }
    async fn prune_audit(&self, before_ms: i64) -> StoreResult<u64> {
        self.inner.prune_audit(before_ms).await
    }
}

#[async_trait]
impl tokengate_core::audit_records::AuditChainStore for ReadCachedStore {
    async fn audit_records(
        &self,
        filter: &tokengate_core::audit_records::AuditRecordFilter,
    ) -> StoreResult<Vec<tokengate_core::audit_chain::ChainedRecord>> {
        self.inner.audit_records(filter).await
    }
    async fn audit_chain_head(&self) -> StoreResult<Option<(i64, tokengate_core::audit_chain::ChainHash)>> {
        self.inner.audit_chain_head().await
    }
    async fn insert_audit_checkpoint(
        &self,
        checkpoint: &tokengate_core::audit_checkpoint::Checkpoint,
    ) -> StoreResult<()> {
        self.inner.insert_audit_checkpoint(checkpoint).await
    }
    async fn audit_checkpoints(&self) -> StoreResult<Vec<tokengate_core::audit_checkpoint::Checkpoint>> {
        self.inner.audit_checkpoints().await
    }
}

/// Sessions are never cached: a sign-out must take effect at once on this node and, through the
/// shared store, on every other.
#[async_trait]
impl tokengate_core::store::SessionStore for ReadCachedStore {
    async fn insert_session(&self, session: &tokengate_core::store::SignInSession) -> StoreResult<()> {
        self.inner.insert_session(session).await
    }
    async fn live_session(
        &self,
        session_id: Uuid,
        now: i64,
    ) -> StoreResult<Option<tokengate_core::store::SignInSession>> {
        self.inner.live_session(session_id, now).await
    }
    async fn end_session(&self, session_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<bool> {
        self.inner.end_session(session_id, now, audit).await
    }
    async fn end_user_sessions(&self, user_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<u64> {
        self.inner.end_user_sessions(user_id, now, audit).await
    }
    async fn purge_expired_sessions(&self, now: i64) -> StoreResult<u64> {
        self.inner.purge_expired_sessions(now).await
    }
}

/// The feed and node heartbeats are never cached: a revocation must reach every node at once.
#[async_trait]
impl tokengate_core::store::RevocationStore for ReadCachedStore {
    async fn revoke(
        &self,
        revocation: &tokengate_core::revocations::NewRevocation,
        audit: &AuditEvent,
    ) -> StoreResult<(tokengate_core::revocations::Revocation, tokengate_core::revocations::RevocationEffects)> {
        let r = self.inner.revoke(revocation, audit).await;
        // A client revocation may have deleted its credentials.
        self.invalidate();
        r
    }
    async fn revocations_after(&self, after: i64, now: i64) -> StoreResult<tokengate_core::store::FeedRead> {
        self.inner.revocations_after(after, now).await
    }
    async fn feed_head(&self) -> StoreResult<i64> {
        self.inner.feed_head().await
    }
    async fn forget_revocations(&self, now: i64) -> StoreResult<u64> {
        self.inner.forget_revocations(now).await
    }
    async fn subscribe_to_feed(&self) -> StoreResult<Option<Box<dyn tokengate_core::store::FeedSubscription>>> {
        self.inner.subscribe_to_feed().await
    }
}

#[async_trait]
impl tokengate_core::store::NodeStore for ReadCachedStore {
    async fn heartbeat(&self, node: &tokengate_core::revocations::NodeHeartbeat) -> StoreResult<()> {
        self.inner.heartbeat(node).await
    }
    async fn nodes(&self) -> StoreResult<Vec<tokengate_core::revocations::NodeHeartbeat>> {
        self.inner.nodes().await
    }
    async fn forget_nodes(&self, before_ms: i64) -> StoreResult<u64> {
        self.inner.forget_nodes(before_ms).await
    }
}

/// Policy versions are never cached: a published version must reach every node at once.
#[async_trait]
impl tokengate_core::store::PolicyStore for ReadCachedStore {
    async fn publish_policy(
        &self,
        new: &tokengate_core::policy_versions::NewPolicyVersion,
        precondition: tokengate_core::policy_versions::PublishPrecondition,
        audit: &AuditEvent,
    ) -> StoreResult<
        Result<tokengate_core::policy_versions::PolicyVersionSummary, tokengate_core::policy_versions::PublishConflict>,
    > {
        self.inner.publish_policy(new, precondition, audit).await
    }
    async fn published_policy_version(&self) -> StoreResult<Option<i64>> {
        self.inner.published_policy_version().await
    }
    async fn policy_version(
        &self,
        version: i64,
    ) -> StoreResult<Option<tokengate_core::policy_versions::PolicyVersion>> {
        self.inner.policy_version(version).await
    }
    async fn policy_history(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<tokengate_core::policy_versions::PolicyVersionSummary>> {
        self.inner.policy_history(before, limit).await
    }
    async fn latest_policy_of_origin(
        &self,
        origin: &str,
    ) -> StoreResult<Option<tokengate_core::policy_versions::PolicyVersionSummary>> {
        self.inner.latest_policy_of_origin(origin).await
    }
}
