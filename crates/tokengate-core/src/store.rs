//! Store traits: one small trait per aggregate. Implementations live in `tokengate-store`
//! (SQLite and Postgres) and pass one conformance suite.
//!
//! Atomicity contract, for every implementation:
//! - each method is atomic: it commits entirely or not at all;
//! - a method that takes an `AuditEvent` commits it in the same transaction as the change;
//! - `update_app` is compare-and-swap: the closure sees the current row and the write only lands
//!   if no other write happened in between (it is retried otherwise);
//! - `record_use` with the same id from concurrent callers returns `First` exactly once;
//! - secrets are handed in already hashed and private keys already sealed: the store never sees
//!   a usable credential.

use async_trait::async_trait;
use uuid::Uuid;

use crate::audit::{AuditEvent, AuditSource};
use crate::directory::{
    AppRegistration, AppRoleGrant, ClientCertificate, ClientSecret, DelegatedGrant, Group, ServicePrincipal, Tenant,
    User,
};
use crate::grants::device_code::{DeviceAuthorization, DeviceDecision};
use crate::grants::token_families::{
    AuthorizationCode, CodeRedemption, MintedAccessToken, RefreshToken, ReusePolicy, RotationOutcome,
};
use crate::keys::StoredSigningKey;
use crate::policy_versions::{
    NewPolicyVersion, PolicyVersion, PolicyVersionSummary, PublishConflict, PublishPrecondition,
};
use crate::revocations::{NewRevocation, NodeHeartbeat, Revocation, RevocationEffects};
use crate::UnixTime;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A change applied to an app registration inside `update_app`.
pub type AppChange<'a> = &'a (dyn Fn(&mut AppRegistration) -> StoreResult<()> + Send + Sync);

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// `Conflict` if the id or one of the domains is taken.
    async fn insert_tenant(&self, tenant: &Tenant, audit: &AuditEvent) -> StoreResult<()>;
    async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>>;
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
    /// Applies `change` to the tenant under its row lock (no concurrent update interleaves),
    /// replacing its domains with the changed list. `NotFound` if absent, `Conflict` if a new
    /// domain belongs to another tenant.
    async fn update_tenant(&self, id: Uuid, change: TenantChange<'_>, audit: &AuditEvent) -> StoreResult<Tenant>;
}

/// A change applied to a tenant inside `update_tenant`.
pub type TenantChange<'a> = &'a (dyn Fn(&mut Tenant) -> StoreResult<()> + Send + Sync);

#[async_trait]
pub trait AppStore: Send + Sync {
    /// `Conflict` if the client id, or one of its App ID URIs within its tenant, is taken.
    async fn insert_app(&self, app: &AppRegistration, audit: &AuditEvent) -> StoreResult<()>;
    async fn app(&self, app_id: Uuid) -> StoreResult<Option<AppRegistration>>;
    /// The app (of any tenant) whose App ID URI this is, as seen from `tenant_id`: its home
    /// tenant first, then apps with a service principal in `tenant_id`.
    async fn app_by_identifier_uri(&self, tenant_id: Uuid, uri: &str) -> StoreResult<Option<AppRegistration>>;
    async fn apps(&self, tenant_id: Uuid) -> StoreResult<Vec<AppRegistration>>;
    async fn update_app(&self, app_id: Uuid, change: AppChange<'_>, audit: &AuditEvent)
        -> StoreResult<AppRegistration>;
    async fn insert_service_principal(&self, sp: &ServicePrincipal, audit: &AuditEvent) -> StoreResult<()>;
    async fn service_principal(&self, tenant_id: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>>;
    /// The app's service principals in every tenant, oldest first.
    async fn service_principals(&self, app_id: Uuid) -> StoreResult<Vec<ServicePrincipal>>;
    /// Deletes the app with everything that names it, in one transaction: its App ID URIs,
    /// service principals, secrets, certificates, the app role grants its service principals hold
    /// and those on its roles, and delegated grants where it is the client or the resource.
    /// `NotFound` if absent.
    async fn delete_app(&self, app_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn insert_secret(&self, secret: &ClientSecret, audit: &AuditEvent) -> StoreResult<()>;
    async fn secrets(&self, app_id: Uuid) -> StoreResult<Vec<ClientSecret>>;
    /// `NotFound` if no such secret on that app.
    async fn delete_secret(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    async fn insert_certificate(&self, cert: &ClientCertificate, audit: &AuditEvent) -> StoreResult<()>;
    async fn certificates(&self, app_id: Uuid) -> StoreResult<Vec<ClientCertificate>>;
    async fn delete_certificate(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    /// `Conflict` if the principal already holds that role.
    async fn insert_app_role_grant(&self, grant: &AppRoleGrant, audit: &AuditEvent) -> StoreResult<()>;
    /// Grants held by `principal_id`, optionally only those on one resource app.
    async fn app_role_grants(
        &self,
        principal_id: Uuid,
        resource_app_id: Option<Uuid>,
    ) -> StoreResult<Vec<AppRoleGrant>>;
    async fn delete_app_role_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    async fn app_role_grant(&self, id: Uuid) -> StoreResult<Option<AppRoleGrant>>;
    /// Every grant of a role of `resource_app_id`, to any principal.
    async fn app_role_grants_on(&self, resource_app_id: Uuid) -> StoreResult<Vec<AppRoleGrant>>;
}

/// A change applied to a user inside `update_user` (compare-and-swap, like `update_app`).
pub type UserChange<'a> = &'a (dyn Fn(&mut User) -> StoreResult<()> + Send + Sync);

#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict` if the object id or user principal name is taken.
    async fn insert_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<()>;
    async fn user(&self, object_id: Uuid) -> StoreResult<Option<User>>;
    /// By user principal name (case-insensitive).
    async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>>;
    async fn users(&self, tenant_id: Uuid) -> StoreResult<Vec<User>>;
    async fn update_user(
        &self,
        object_id: Uuid,
        change: UserChange<'_>,
        audit: Option<&AuditEvent>,
    ) -> StoreResult<User>;
    async fn insert_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()>;
    async fn groups(&self, tenant_id: Uuid) -> StoreResult<Vec<Group>>;
    /// `Conflict` if already a member.
    async fn add_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    /// Groups the user is a direct member of.
    async fn groups_of(&self, user_id: Uuid) -> StoreResult<Vec<Group>>;
    /// Adds scopes to the grant for (client, resource, principal), creating it if needed.
    async fn grant_delegated(&self, grant: &DelegatedGrant, audit: &AuditEvent) -> StoreResult<DelegatedGrant>;
    /// The user's own grant and the tenant-wide one for a client and resource.
    async fn delegated_grants(
        &self,
        tenant_id: Uuid,
        client_app_id: Uuid,
        resource_app_id: Uuid,
        user_id: Uuid,
    ) -> StoreResult<Vec<DelegatedGrant>>;
    /// Deletes the user, their memberships, the app roles assigned to them and their consents,
    /// in one transaction. `NotFound` if absent.
    async fn delete_user(&self, object_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    async fn group(&self, group_id: Uuid) -> StoreResult<Option<Group>>;
    /// Applies `change` to the group under its row lock. `NotFound` if absent.
    async fn update_group(&self, group_id: Uuid, change: GroupChange<'_>, audit: &AuditEvent) -> StoreResult<Group>;
    /// Deletes the group, its memberships and the app roles assigned to it. `NotFound` if absent.
    async fn delete_group(&self, group_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    /// The group's direct members, by UPN.
    async fn group_members(&self, group_id: Uuid) -> StoreResult<Vec<User>>;
    /// `NotFound` if the user is no direct member of the group.
    async fn remove_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    async fn delegated_grant(&self, id: Uuid) -> StoreResult<Option<DelegatedGrant>>;
    /// Delegated grants matching every filter given, oldest first.
    async fn find_delegated_grants(&self, filter: &DelegatedGrantFilter) -> StoreResult<Vec<DelegatedGrant>>;
    /// Revokes a consent: the grant goes. `NotFound` if absent.
    async fn delete_delegated_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
}

/// A change applied to a group inside `update_group`.
pub type GroupChange<'a> = &'a (dyn Fn(&mut Group) -> StoreResult<()> + Send + Sync);

/// Which delegated grants `find_delegated_grants` returns: every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DelegatedGrantFilter {
    pub tenant_id: Option<Uuid>,
    pub client_app_id: Option<Uuid>,
    pub resource_app_id: Option<Uuid>,
    /// Only this user's own grants (not the tenant-wide ones).
    pub user_id: Option<Uuid>,
}

#[async_trait]
pub trait DelegatedTokenStore: Send + Sync {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
    /// Spends a code. Of concurrent redemptions exactly one gets `Redeemed`; later ones get
    /// `AlreadyRedeemed` (with the record, so its tokens can be revoked). Expired → `NotFound`.
    async fn redeem_code(&self, code_hash: &[u8], now: UnixTime) -> StoreResult<CodeRedemption>;
    async fn insert_refresh_token(&self, token: &RefreshToken, audit: &AuditEvent) -> StoreResult<()>;
    /// The refresh token with this hash, in whatever state (`Revoked` also when its family is).
    async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;
    /// Presents a refresh token and, if it may be used, makes `successor` the family's live token
    /// — all in one transaction: after a crash there is exactly one live token per family (or
    /// none, if the family was revoked). Reuse per `policy` revokes the family. The successor
    /// inherits the presented token's family, user and scopes; if its `client_id` or `tenant_id`
    /// differ from the presented token's, nothing changes and the answer is `Invalid`. On
    /// `Rotated`, `minted` is remembered for the family in the same transaction (one durable write
    /// per refresh). Revoking the family on reuse appends it to the revocation feed, as
    /// `revoke_family` does.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        successor: &RefreshToken,
        minted: &MintedAccessToken,
        policy: ReusePolicy,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<RotationOutcome>;
    /// Revokes every token of a family (idempotent). A family not revoked before is appended to
    /// the revocation feed in the same transaction, as a family revocation naming the `uti`s of
    /// its unexpired access tokens.
    async fn revoke_family(&self, family_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<()>;
    /// Remembers an access token minted for a family, so revoking the family can revoke it too.
    /// If the family is already revoked (the token was minted concurrently with the revocation),
    /// the token is appended to the revocation feed as revoked, in the same transaction.
    async fn record_family_access_token(&self, family_id: Uuid, uti: &str, expires_at: UnixTime) -> StoreResult<()>;
    /// Deletes what can no longer be used: codes, refresh tokens and remembered access tokens that
    /// expired before `now`, and revocations of families with nothing left. Returns rows deleted.
    async fn purge_expired_tokens(&self, now: UnixTime) -> StoreResult<u64>;
}

#[async_trait]
pub trait DeviceCodeStore: Send + Sync {
    /// `Conflict` if either hash is taken (a user-code collision: draw another).
    async fn insert_device_code(&self, code: &DeviceAuthorization) -> StoreResult<()>;
    /// The pending, unexpired authorization a user code names, for the verification page.
    async fn pending_device_code(
        &self,
        user_code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Records a person's decision on a pending, unexpired code, with its audit record.
    /// Returns `false` (and writes nothing) if the code is unknown, expired or already decided:
    /// a user code is decided once.
    async fn decide_device_code(
        &self,
        user_code_hash: &[u8],
        decision: DeviceDecision,
        now: UnixTime,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// The code with this hash in whatever state it is (a read: a poll that changes nothing
    /// takes no write lock).
    async fn device_code(&self, device_code_hash: &[u8]) -> StoreResult<Option<DeviceAuthorization>>;
    /// Redeems an approved, unexpired code of `client_id` and returns it as redeemed; `None` (and
    /// nothing written) otherwise. Of concurrent calls exactly one gets the code.
    async fn redeem_device_code(
        &self,
        device_code_hash: &[u8],
        client_id: uuid::Uuid,
        now_ms: i64,
    ) -> StoreResult<Option<DeviceAuthorization>>;
}

/// Every write advances the revocation feed's head (without a row) in its transaction, so that
/// nodes reload their keys when the feed advances.
#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    async fn insert_signing_key(&self, key: &StoredSigningKey, audit: &AuditEvent) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>>;
    /// Rotation in one transaction: `promote` becomes active (or `new_active` is inserted as
    /// active), every kid in `retire` becomes retired until `retire_after`, `drop` are deleted,
    /// and `new_next` is inserted as next.
    async fn rotate_signing_keys(&self, rotation: &KeyRotation, audit: &AuditEvent) -> StoreResult<()>;
    /// Emergency removal. `NotFound` if absent.
    async fn delete_signing_key(&self, kid: &str, audit: &AuditEvent) -> StoreResult<()>;
}

/// Everything a rotation writes (see `SigningKeyStore::rotate_signing_keys`).
#[derive(Debug, Clone)]
pub struct KeyRotation {
    pub promote: Option<String>,
    pub new_active: Option<StoredSigningKey>,
    pub retire: Vec<String>,
    pub retire_after: UnixTime,
    pub drop: Vec<String>,
    pub new_next: Option<StoredSigningKey>,
}

/// What `ReplayStore::record_use` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseRecord {
    /// First use of this id.
    First,
    /// The id was used before with the same fingerprint (the identical message sent again).
    Repeated,
    /// The id was used before with a different fingerprint.
    Conflicting,
}

#[async_trait]
pub trait ReplayStore: Send + Sync {
    /// Records `id` in `namespace` with `fingerprint` until `expires_at`. Of concurrent first
    /// uses exactly one gets `First`. Expired records no longer count and are purged.
    async fn record_use(
        &self,
        namespace: &str,
        id: &str,
        fingerprint: &[u8],
        expires_at: UnixTime,
        now: UnixTime,
    ) -> StoreResult<UseRecord>;
}

/// A browser's single sign-on session: the server-side record behind the signed session cookie,
/// so that signing out (or disabling the user) ends it for every copy of the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInSession {
    /// `sid` of ID tokens.
    pub session_id: Uuid,
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    /// `Conflict` if the id is taken.
    async fn insert_session(&self, session: &SignInSession) -> StoreResult<()>;
    /// The session if it exists, has not ended and has not expired at `now`.
    async fn live_session(&self, session_id: Uuid, now: UnixTime) -> StoreResult<Option<SignInSession>>;
    /// Ends a live session, with its audit record in the same transaction. `false` (and nothing
    /// written) if it was unknown, expired or already ended.
    async fn end_session(&self, session_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<bool>;
    /// Ends every live session of a user (disabled, sessions revoked) with one audit record
    /// (its detail gains `sessions_ended`); returns how many ended.
    async fn end_user_sessions(&self, user_id: Uuid, now: UnixTime, audit: &AuditEvent) -> StoreResult<u64>;
    /// Deletes sessions that expired before `now`; returns how many.
    async fn purge_expired_sessions(&self, now: UnixTime) -> StoreResult<u64>;
}

/// Filter for reading the audit log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub source: Option<AuditSource>,
    pub action: Option<String>,
    pub limit: u32,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends a batch in one transaction.
    async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    async fn audit_events(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes records older than `before_ms` (retention); returns how many went.
    async fn prune_audit(&self, before_ms: i64) -> StoreResult<u64>;
}

/// What a node read from the feed: `head` is read before `rows`, so a node that applies the rows
/// and then `max(head, last row)` has seen every version up to that number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedRead {
    pub head: i64,
    /// Unforgotten revocations above the version asked for, in version order.
    pub rows: Vec<Revocation>,
}

/// The kill switch's feed. Versions come from one counter that writers increment inside their
/// transaction (a row lock on Postgres, the write lock on SQLite), so versions become visible in
/// order: no reader can see version N+1 and later find N appear. Signing-key writes advance the
/// same counter (without a row) so that every node reloads its keys from the same feed.
#[async_trait]
pub trait RevocationStore: Send + Sync {
    /// Appends the revocation at the next version and applies its effects, with `audit`, in one
    /// transaction. User: revokes the user's refresh-token families, ends their sessions, denies
    /// device codes they approved but that were not yet redeemed, deletes their unredeemed
    /// authorization codes. Client: revokes its refresh-token families (and deletes its secrets
    /// and certificates if asked). Key: deletes that signing key if we hold it. Family: revokes
    /// the family, and the row's `token_ids` gain the `uti`s of its unexpired remembered access
    /// tokens (kept until the last expires). Token: nothing beyond the row. Returns the row as
    /// stored. On Postgres, notifies listeners on commit.
    async fn revoke(
        &self,
        revocation: &NewRevocation,
        audit: &AuditEvent,
    ) -> StoreResult<(Revocation, RevocationEffects)>;
    /// Revocations above `after` not yet forgettable at `now`, with the head (see `FeedRead`).
    async fn revocations_after(&self, after: i64, now: UnixTime) -> StoreResult<FeedRead>;
    /// The highest version written.
    async fn feed_head(&self) -> StoreResult<i64>;
    /// Deletes rows whose `forget_after` is before `now`; returns how many.
    async fn forget_revocations(&self, now: UnixTime) -> StoreResult<u64>;
    /// Notifications of feed advances, where the backend has them (Postgres `LISTEN`); `None`
    /// where it does not (SQLite: one node, the poll suffices).
    async fn subscribe_to_feed(&self) -> StoreResult<Option<Box<dyn FeedSubscription>>>;
}

/// What a feed subscription reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedSignal {
    /// A writer committed this version.
    Advanced(i64),
    /// The connection was lost and re-established: notifications sent meanwhile are gone, so the
    /// caller must resync in full.
    Reconnected,
}

#[async_trait]
pub trait FeedSubscription: Send {
    /// Waits for the next signal. An error means the subscription is unusable (subscribe again).
    async fn next(&mut self) -> StoreResult<FeedSignal>;
}

/// Node heartbeats: who runs, and how far each node has applied the feed.
#[async_trait]
pub trait NodeStore: Send + Sync {
    /// Inserts or replaces the node's row.
    async fn heartbeat(&self, node: &NodeHeartbeat) -> StoreResult<()>;
    /// Every node that heartbeated and was not forgotten, by name.
    async fn nodes(&self) -> StoreResult<Vec<NodeHeartbeat>>;
    /// Deletes nodes whose last heartbeat is before `before_ms`; returns how many.
    async fn forget_nodes(&self, before_ms: i64) -> StoreResult<u64>;
}

/// Versions of the gateway policy and the published pointer (`policy_versions`).
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Writes `new` as the next version and points the published pointer at it, with `audit`, in
    /// one transaction that advances the feed (every node follows the pointer from the feed) —
    /// only if `precondition` holds for the pointer at commit time.
    async fn publish_policy(
        &self,
        new: &NewPolicyVersion,
        precondition: PublishPrecondition,
        audit: &AuditEvent,
    ) -> StoreResult<Result<PolicyVersionSummary, PublishConflict>>;
    /// The published version number, if any (cheap: what nodes check after each feed advance).
    async fn published_policy_version(&self) -> StoreResult<Option<i64>>;
    async fn policy_version(&self, version: i64) -> StoreResult<Option<PolicyVersion>>;
    /// Newest first, versions below `before` (all when `None`), at most `limit`.
    async fn policy_history(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<PolicyVersionSummary>>;
    /// The newest version of `origin` (a node's policy file: did it change since it was published?).
    async fn latest_policy_of_origin(&self, origin: &str) -> StoreResult<Option<PolicyVersionSummary>>;
}

/// Everything the product needs from one backend.
pub trait Store:
    TenantStore
    + AppStore
    + CredentialStore
    + GrantStore
    + UserStore
    + DelegatedTokenStore
    + DeviceCodeStore
    + SigningKeyStore
    + ReplayStore
    + AuditStore
    + crate::audit_records::AuditChainStore
    + SessionStore
    + RevocationStore
    + NodeStore
    + PolicyStore
{
}

impl<T> Store for T where
    T: TenantStore
        + AppStore
        + CredentialStore
        + GrantStore
        + UserStore
        + DelegatedTokenStore
        + DeviceCodeStore
        + SigningKeyStore
        + ReplayStore
        + AuditStore
        + crate::audit_records::AuditChainStore
        + SessionStore
        + RevocationStore
        + NodeStore
        + PolicyStore
{
}
