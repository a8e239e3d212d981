//! Wire types of the admin API (`/admin/v1/...`), shared by the server and the CLI. Every type
//! derives `ToSchema`: the served OpenAPI document is generated from these and the handlers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 9457 problem: every admin API error has this body (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, stable summary of the kind of problem.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request and what to do about it.
    pub detail: String,
}

/// What to revoke: exactly the fields of its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevocationTargetView {
    /// One access token by its `uti` (Entra, tokengate) or `jti`.
    Token { token_id: String },
    /// Every token of a user issued before now, their refresh tokens, sessions and device approvals.
    User { tenant_id: String, object_id: String },
    /// Every token a client app holds that was issued before now, and its refresh tokens.
    Client {
        client_id: String,
        #[serde(default)]
        disable_credentials: bool,
    },
    /// Every token signed with this key; one of tokengate's leaves the JWKS.
    Key { kid: String },
    /// A refresh-token family and the access tokens minted for it.
    Family {
        family_id: String,
        #[serde(default)]
        token_ids: Vec<String>,
    },
}

/// `POST /admin/v1/revocations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewRevocationRequest {
    #[serde(flatten)]
    pub target: RevocationTargetView,
    /// Why (kept with the revocation and in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
    /// Answer only when every live gateway node has applied it (or after `timeout_seconds`).
    #[serde(default)]
    pub wait: bool,
    /// With `wait`: how long to wait, 1..=60 seconds (default 10).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// A stored revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationView {
    /// Position on the feed every node applies in order.
    pub version: i64,
    #[serde(flatten)]
    pub target: RevocationTargetView,
    /// Tokens issued (`iat`) before this unix second are covered (user and client kinds).
    pub issued_before: i64,
    pub actor: String,
    pub reason: Option<String>,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601: after this every token it covers has expired and the row is forgotten.
    pub kept_until: String,
}

/// A node's view of one version: applied, lagging, or gone (not waited on).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PropagationView {
    pub version: i64,
    /// Live gateway nodes (names) that have applied the version.
    pub applied: Vec<String>,
    /// Live gateway nodes that had not applied it when the answer was given.
    pub lagging: Vec<String>,
    /// Gateway nodes without a recent heartbeat.
    pub gone: Vec<String>,
}

/// `POST /admin/v1/revocations` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationCreated {
    pub revocation: RevocationView,
    /// What the store did beside writing the row, in the same transaction.
    pub effects: RevocationEffectsView,
    /// Where every gateway node stood when the answer was given.
    pub propagation: PropagationView,
}

/// What a revocation did at once in the store (a user's sessions ended, a client's credentials
/// deleted...); every gateway's denials come from the row itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationEffectsView {
    pub refresh_families_revoked: u64,
    pub sessions_ended: u64,
    pub device_approvals_withdrawn: u64,
    pub authorization_codes_deleted: u64,
    pub credentials_deleted: u64,
    pub signing_key_removed: bool,
}

/// A page of a list, with the cursor of the next page when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationPage {
    pub items: Vec<RevocationView>,
    /// The feed's highest version.
    pub feed_version: i64,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A node sharing the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    pub node_id: String,
    /// `host:pid`.
    pub name: String,
    /// `issuer`, `gateway`, `admin`.
    pub roles: Vec<String>,
    /// `ready`, `not_ready` or `gone`.
    pub state: String,
    pub applied_revocation_version: i64,
    /// Feed versions this node is behind.
    pub lag: i64,
    pub applied_policy_version: Option<String>,
    /// ISO 8601, absent when it never synced.
    pub last_sync: Option<String>,
    /// ISO 8601.
    pub last_heartbeat: String,
    pub software_version: String,
}

/// A signing key of the built-in issuer (public parts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SigningKeyView {
    pub kid: String,
    /// `next`, `active` or `retired`.
    pub state: String,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601: for retired keys, when they leave the JWKS.
    pub published_until: Option<String>,
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    pub id: String,
    pub display_name: String,
    pub domains: Vec<String>,
}

/// `POST /admin/v1/tenants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewTenantRequest {
    pub display_name: String,
    /// Its first verified domain, e.g. `fabrikam.example`.
    pub domain: String,
}

/// `POST /admin/v1/debug/token`: a token to explain. The token is never stored, logged or
/// audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenDebugRequest {
    /// The compact JWS (at most 16 KB).
    pub token: String,
    /// Explain only this route (by name).
    #[serde(default)]
    pub route: Option<String>,
    /// With `path`: explain only the route the gateway would pick (default `GET`).
    #[serde(default)]
    pub method: Option<String>,
    /// Explain only the route matching this path (and `method`, `host`).
    #[serde(default)]
    pub path: Option<String>,
    /// With `path`: the request's host, for routes restricted to one.
    #[serde(default)]
    pub host: Option<String>,
}

/// What a token says, what its claims mean, and what this node's gateway would do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenExplanation {
    /// The JOSE header, decoded without trusting it.
    #[schema(value_type = Object)]
    pub header: serde_json::Value,
    /// The claims, decoded without trusting them (also for a token that does not verify).
    #[schema(value_type = Object)]
    pub claims: serde_json::Value,
    /// A one-line meaning for each Entra claim present.
    pub claim_meanings: std::collections::BTreeMap<String, String>,
    /// Signature, issuer, lifetime and audience as the gateway checks them; absent on a node
    /// running no gateway.
    pub verdict: Option<TokenVerdict>,
    /// Whether the applied revocation set covers the token; absent when it does not verify or
    /// on a node running no gateway.
    pub revocation: Option<RevocationCheck>,
    /// Each route considered (every route, the named one, or the one matching method and path).
    pub routes: Vec<RouteExplanation>,
}

/// The gateway's verification of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenVerdict {
    /// Signature, trusted issuer and lifetime hold, and some route considered accepts the audience.
    pub verified: bool,
    /// `verified`, or the gateway's reason code (`expired`, `bad_signature`, `unknown_kid`,
    /// `untrusted_issuer`, `audience_mismatch`, ...).
    pub result: String,
    /// The trusted issuer (policy name) whose keys verified it.
    pub issuer: Option<String>,
}

/// Whether the applied revocation set covers a token, and which revocation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevocationCheck {
    pub revoked: bool,
    /// `token`, `user`, `client`, `key` or `family`.
    pub by: Option<String>,
    /// The stored revocation that covers it, when found.
    pub revocation: Option<RevocationView>,
}

/// One route's decision on a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RouteExplanation {
    pub name: String,
    /// Public routes take any request, with or without a token.
    pub public: bool,
    /// The gateway would let this token through to this route.
    pub passes: bool,
    /// Every requirement the token fails (all of them, not only the first).
    pub failing: Vec<FailedRequirementView>,
}

/// A route requirement a token fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedRequirementView {
    /// `verification`, `not_revoked`, `issuer`, `audience_array`, `audience`, `tenant`, `version`,
    /// `token_kind`, `permissions`, `scope_or_role`, `scopes_all`, `roles_all`, `groups_any`,
    /// `groups_all` or `claim`.
    pub requirement: String,
    pub expected: String,
    pub got: String,
}

/// Where a redirect URI sends the authorization response (Entra's platform of a redirect URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedirectPlatformView {
    Web,
    Spa,
    PublicClient,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedirectUriView {
    pub platform: RedirectPlatformView,
    pub uri: String,
}

/// `POST /admin/v1/tenants/{tenant_id}/apps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAppRequest {
    pub display_name: String,
    /// App ID URIs (`api://orders`): what tokens for this app name as their audience.
    #[serde(default)]
    pub identifier_uris: Vec<String>,
    /// A public client (mobile, desktop, CLI) has no credentials.
    #[serde(default)]
    pub is_public_client: bool,
    #[serde(default)]
    pub redirect_uris: Vec<RedirectUriView>,
    /// Access token version this app accepts as a resource: 1 or 2 (Entra's default: 1).
    #[serde(default)]
    pub access_token_version: Option<u8>,
    /// Other tenants may consent to the app (`AzureADMultipleOrgs`).
    #[serde(default)]
    pub multi_tenant: bool,
}

/// A delegated permission an app exposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    pub id: String,
    /// As it appears in `scp`.
    pub value: String,
    pub display_name: String,
    pub enabled: bool,
}

/// Who an app role may be given to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberTypeView {
    Application,
    User,
}

/// An app role an app defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppRoleView {
    pub id: String,
    /// As it appears in `roles`.
    pub value: String,
    pub display_name: String,
    pub allowed_member_types: Vec<MemberTypeView>,
    pub enabled: bool,
}

/// An app registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppView {
    /// The client id.
    pub app_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub identifier_uris: Vec<String>,
    /// `AzureADMyOrg` or `AzureADMultipleOrgs`.
    pub sign_in_audience: String,
    pub is_public_client: bool,
    pub access_token_version: Option<u8>,
    pub redirect_uris: Vec<RedirectUriView>,
    pub scopes: Vec<ScopeView>,
    pub app_roles: Vec<AppRoleView>,
    /// ISO 8601.
    pub created_at: String,
    /// Refuses a client assertion sent twice (stricter than Entra).
    #[serde(default)]
    pub single_use_client_assertions: bool,
    /// Refresh tokens stay valid after use, as Entra's do, instead of rotating.
    #[serde(default)]
    pub entra_compatible_refresh_tokens: bool,
    /// Delegated tokens carry the user's group object ids (`groups`).
    #[serde(default)]
    pub group_membership_claims: bool,
}

/// `POST /admin/v1/apps/{app_id}/scopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewScopeRequest {
    pub value: String,
    pub display_name: String,
}

/// `POST /admin/v1/apps/{app_id}/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAppRoleRequest {
    pub value: String,
    pub display_name: String,
    /// Default: applications only.
    #[serde(default)]
    pub allowed_member_types: Vec<MemberTypeView>,
}

/// `POST /admin/v1/apps/{app_id}/secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewSecretRequest {
    pub display_name: String,
    /// 1..=730 days (default 180).
    #[serde(default)]
    pub lifetime_days: Option<i64>,
}

/// A client secret's metadata: never its value nor its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretView {
    pub key_id: String,
    pub app_id: String,
    pub display_name: String,
    /// The value's first three characters.
    pub hint: String,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601.
    pub expires_at: String,
}

/// A new secret: the only answer that ever carries its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedSecretView {
    #[serde(flatten)]
    pub secret: SecretView,
    /// Shown once: store it now; it cannot be read again.
    pub value: String,
}

/// `POST /admin/v1/tenants/{tenant_id}/users`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewUserRequest {
    /// `name@domain`, the domain one of the tenant's.
    pub user_principal_name: String,
    pub display_name: String,
    /// Stored as an Argon2id hash; never echoed nor audited.
    pub password: String,
}

/// Hand-written so that logging a request cannot leak the password.
impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("user_principal_name", &self.user_principal_name)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A user: never their password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// The `oid` of their tokens.
    pub object_id: String,
    pub tenant_id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub enabled: bool,
    /// ISO 8601.
    pub created_at: String,
}

/// `POST /admin/v1/tenants/{tenant_id}/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewGroupRequest {
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    pub object_id: String,
    pub tenant_id: String,
    pub display_name: String,
    /// ISO 8601.
    pub created_at: String,
}

/// `POST /admin/v1/groups/{group_id}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewGroupMemberRequest {
    /// The user's object id.
    pub user_id: String,
}

/// `POST /admin/v1/tenants/{tenant_id}/app-role-grants`: an application permission (app role of
/// the resource) granted to a client app, as admin consent records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAppRoleGrantRequest {
    pub client_app_id: String,
    pub resource_app_id: String,
    pub role_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppRoleGrantView {
    pub id: String,
    pub tenant_id: String,
    /// The client's service principal.
    pub principal_id: String,
    pub resource_app_id: String,
    pub app_role_id: String,
    /// ISO 8601.
    pub created_at: String,
}

/// One audit record as stored: its place on the hash chain and every field. Never holds a raw
/// token, secret or code (the store has none): only identifiers such as `token_id` (`uti`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecordView {
    /// Position on the chain; ascending in write order. Cursors and `Last-Event-ID` are seqs.
    pub seq: i64,
    /// The previous record's `chain_hash` (hex); both absent on records from before the chain.
    pub prev_hash: Option<String>,
    pub chain_hash: Option<String>,
    pub id: String,
    /// Unix milliseconds, and the same instant as RFC 3339.
    pub at_ms: i64,
    pub at: String,
    /// `issuer`, `gateway` or `admin`.
    pub source: String,
    /// Dotted: `token.client_credentials`, `gateway.request`, `tenant.created`, ...
    pub action: String,
    /// `allowed`, `denied` or `error`.
    pub outcome: String,
    pub reason: Option<String>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    /// The subject's `oid`.
    pub subject: Option<String>,
    /// The `uti` of the token issued or presented.
    pub token_id: Option<String>,
    pub client_ip: Option<String>,
    pub status: Option<u16>,
    pub latency_us: Option<i64>,
    /// Free-form detail: the gateway's `route`, `method`, `path`; an admin change's `actor`, ...
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of audit records in ascending seq order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditRecordView>,
    /// Pass as `cursor` for the next page; absent on the last page (as far as written so far).
    pub next_cursor: Option<String>,
}

/// A version of the gateway policy, without its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionView {
    pub version: i64,
    /// `sha256:` and 16 hex digits of the document; equal documents hash equal.
    pub content_hash: String,
    pub author: String,
    pub message: String,
    /// `api`, or `file:<path>` for a node's policy file.
    pub origin: String,
    /// A rollback: the version whose document this one repeats.
    pub rollback_of: Option<i64>,
    /// ISO 8601.
    pub created_at: String,
    /// This is the version every gateway node runs.
    pub published: bool,
}

/// `GET /admin/v1/policies`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyHistoryPage {
    pub items: Vec<PolicyVersionView>,
    /// The published version, if any.
    pub published: Option<i64>,
    pub next_cursor: Option<String>,
}

/// `GET /admin/v1/policies/{version}`: one version with its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionDocument {
    #[serde(flatten)]
    pub version: PolicyVersionView,
    /// The policy (trusted issuers, routes, settings) as JSON: the TOML file's structure.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// The TOML text as written, when it came from a file or `policy apply`.
    pub source: Option<String>,
}

/// A draft policy: exactly one of `document` (JSON) and `toml` (the policy file's text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
pub struct PolicyDraft {
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub document: Option<serde_json::Value>,
    #[serde(default)]
    pub toml: Option<String>,
}

/// `POST /admin/v1/policies`: publish a new version (send `If-Match` with the published
/// version's ETag, or `*`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishPolicyRequest {
    #[serde(flatten)]
    pub draft: PolicyDraft,
    /// Why (kept with the version and in the audit log).
    pub message: String,
    /// Answer only when every live gateway node runs it (or after `timeout_seconds`).
    #[serde(default)]
    pub wait: bool,
    /// With `wait`: 1..=60 seconds (default 10).
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// `POST /admin/v1/policies/rollback`: publish version `to`'s document again as a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RollbackPolicyRequest {
    pub to: i64,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub wait: bool,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

/// One changed value between two policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyChangeView {
    /// `settings.clock_skew`, `issuer entra`, `route orders: require.scopes_any`, `route order`.
    pub path: String,
    /// Absent when added.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// Absent when removed.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    /// The change on one line (`~ path: before -> after`).
    pub line: String,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyPublished {
    /// The published version (the existing one when nothing changed).
    pub version: PolicyVersionView,
    /// False when the document equals the published one: nothing was written.
    pub changed: bool,
    /// From the previously published version.
    pub changes: Vec<PolicyChangeView>,
    /// Likely mistakes that do not stop the publish.
    pub warnings: Vec<String>,
    /// Which live gateway nodes run it (with `wait`: once all do).
    pub propagation: PolicyPropagationView,
}

/// Gateway nodes and the policy version each runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyPropagationView {
    pub version: i64,
    /// Live gateway nodes running this version (or a later one).
    pub applied: Vec<String>,
    pub lagging: Vec<String>,
    /// Gateway nodes without a recent heartbeat: reported, never waited on.
    pub gone: Vec<String>,
}

/// `POST /admin/v1/policies/diff`: `from` (default: the published version) to `to` or a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Default)]
pub struct PolicyDiffRequest {
    #[serde(default)]
    pub from: Option<i64>,
    #[serde(default)]
    pub to: Option<i64>,
    /// Compared against `from` when given (instead of `to`).
    #[serde(flatten)]
    pub draft: PolicyDraft,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyDiff {
    /// The version compared from (none when nothing is published).
    pub from: Option<i64>,
    /// The version compared to; none for a draft.
    pub to: Option<i64>,
    pub changes: Vec<PolicyChangeView>,
}

/// `POST /admin/v1/policies/simulate`: replay recent gateway decisions against a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicySimulationRequest {
    #[serde(flatten)]
    pub draft: PolicyDraft,
    /// How many of the most recent gateway decisions to replay: 1..=100000 (default 1000).
    #[serde(default)]
    pub last: Option<u32>,
}

/// A recorded decision or the draft's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SimulatedDecision {
    pub allowed: bool,
    /// The denial's reason code; empty when allowed.
    pub reason: String,
    pub route: Option<String>,
}

/// A recorded request the draft would decide the other way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyFlip {
    /// The audit record (`GET /admin/v1/audit?...`).
    pub seq: i64,
    /// ISO 8601.
    pub at: String,
    pub method: String,
    pub path: String,
    pub client_id: Option<String>,
    pub subject: Option<String>,
    pub recorded: SimulatedDecision,
    pub simulated: SimulatedDecision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicySimulation {
    /// Decisions replayed against the draft.
    pub replayed: usize,
    /// Decisions no policy decides (bad requests, revoked tokens, upstream failures).
    pub not_replayable: usize,
    /// Allowed before, denied under the draft.
    pub newly_denied: usize,
    /// Denied before, allowed under the draft.
    pub newly_allowed: usize,
    /// Distinct client ids among the flips.
    pub clients: Vec<String>,
    pub flips: Vec<PolicyFlip>,
}

/// `PATCH /admin/v1/apps/{app_id}`: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppUpdateRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Replaces every App ID URI.
    #[serde(default)]
    pub identifier_uris: Option<Vec<String>>,
    /// `AzureADMyOrg` (or `single`) or `AzureADMultipleOrgs` (or `multi`).
    #[serde(default)]
    pub sign_in_audience: Option<String>,
    /// 1 or 2.
    #[serde(default)]
    pub access_token_version: Option<u8>,
    #[serde(default)]
    pub is_public_client: Option<bool>,
    #[serde(default)]
    pub single_use_client_assertions: Option<bool>,
    #[serde(default)]
    pub entra_compatible_refresh_tokens: Option<bool>,
    #[serde(default)]
    pub group_membership_claims: Option<bool>,
}

/// `POST /admin/v1/apps/{app_id}/certificates`: the certificate only, as PEM. A private key in
/// the body is refused: it never needs to leave the client's machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewCertificateRequest {
    /// Default `certificate`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `-----BEGIN CERTIFICATE-----` ... (the first certificate is registered).
    pub pem: String,
}

/// A certificate credential of an app: its public identity only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateView {
    pub key_id: String,
    pub app_id: String,
    pub display_name: String,
    /// SHA-1 of the DER, upper-case hex (Entra's thumbprint; `x5t` of assertions).
    pub thumbprint: String,
    /// SHA-256 of the DER, upper-case hex (`x5t#S256`).
    pub thumbprint_sha256: String,
    /// ISO 8601.
    pub created_at: String,
    /// ISO 8601: the certificate's notAfter.
    pub expires_at: String,
}

/// An app's identity in one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServicePrincipalView {
    pub object_id: String,
    pub tenant_id: String,
    pub app_id: String,
    pub display_name: String,
    /// ISO 8601.
    pub created_at: String,
}

/// `POST /admin/v1/apps/{app_id}/service-principals`: admin consent of a tenant to a
/// multi-tenant app (or the home tenant's, if it was deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewServicePrincipalRequest {
    /// Tenant GUID or one of its domains.
    pub tenant_id: String,
}

/// One resource's permissions an app is configured to ask for (`requiredResourceAccess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiPermissionView {
    pub resource_app_id: String,
    pub resource_name: String,
    /// Delegated permissions (scope values).
    pub scopes: Vec<String>,
    /// Application permissions (app role values).
    pub roles: Vec<String>,
}

/// `POST /admin/v1/apps/{app_id}/api-permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewApiPermissionRequest {
    /// The resource app: its client id or one of its App ID URIs.
    pub resource: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `PATCH /admin/v1/users/{user}`: only the fields given change.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserUpdateRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// At one of the tenant's verified domains.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// A new password, stored as an Argon2id hash; never echoed nor audited.
    #[serde(default)]
    pub password: Option<String>,
}

/// Hand-written so that logging a request cannot leak the password.
impl std::fmt::Debug for UserUpdateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdateRequest")
            .field("display_name", &self.display_name)
            .field("user_principal_name", &self.user_principal_name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `POST /admin/v1/users/{user}/app-role-assignments` (and the same for groups).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAppRoleAssignmentRequest {
    pub resource_app_id: String,
    /// An app role of the resource that users and groups may hold.
    pub role_value: String,
}

/// `PATCH /admin/v1/groups/{group_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupUpdateRequest {
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `PATCH /admin/v1/tenants/{tenant}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TenantUpdateRequest {
    #[serde(default)]
    pub display_name: Option<String>,
    /// Replaces the verified domains (at least one; none that a user's UPN is at may go).
    #[serde(default)]
    pub domains: Option<Vec<String>>,
}

/// `POST /admin/v1/consents`: delegated permissions of a resource granted to a client, for one
/// user or (without `user_id`) tenant-wide as admin consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewConsentRequest {
    /// Tenant GUID or one of its domains.
    pub tenant_id: String,
    pub client_app_id: String,
    pub resource_app_id: String,
    /// Scope values the resource exposes.
    pub scopes: Vec<String>,
    /// The user's object id or UPN; absent for tenant-wide admin consent.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// A consent (delegated grant, Entra's oauth2PermissionGrant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    pub id: String,
    pub tenant_id: String,
    pub client_app_id: String,
    pub resource_app_id: String,
    /// The consenting user; absent for tenant-wide admin consent.
    pub user_id: Option<String>,
    pub scopes: Vec<String>,
    /// ISO 8601.
    pub created_at: String,
}

/// `POST /admin/v1/keys/rotate` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyRotationView {
    /// The kid that signs from now on (issuers pick it up within their reload period).
    pub active_kid: String,
    pub keys: Vec<SigningKeyView>,
}

/// `POST /admin/v1/policies/validate` answer: what a publish of the draft would refuse, and the
/// likely mistakes it would publish anyway. Nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyValidation {
    /// No problems: a publish would accept it.
    pub valid: bool,
    /// Why a publish would refuse it (every problem, as the publish lists them).
    pub problems: Vec<String>,
    /// Likely mistakes that do not stop a publish (as the gateway logs them).
    pub warnings: Vec<String>,
}

/// One time bucket of `GET /admin/v1/audit/summary`: gateway decisions written in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditSummaryBucket {
    /// ISO 8601: the bucket's start (inclusive); it ends where the next one starts.
    pub start: String,
    pub start_ms: i64,
    pub allowed: u64,
    pub denied: u64,
    /// Requests the gateway could not decide or forward (upstream failures, ...).
    pub errors: u64,
}

/// A value and how many counted gateway decisions had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditSummaryCount {
    pub value: String,
    pub count: u64,
}

/// `GET /admin/v1/audit/summary`: gateway decisions (`gateway.request` records) in a window,
/// counted per time bucket, with the most frequent denial reasons, clients and routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditSummary {
    /// ISO 8601: the window, inclusive start and exclusive end.
    pub since: String,
    pub until: String,
    pub bucket_seconds: u32,
    /// Oldest first; every bucket of the window, empty ones included.
    pub buckets: Vec<AuditSummaryBucket>,
    pub allowed: u64,
    pub denied: u64,
    pub errors: u64,
    /// Denied decisions by reason code (`expired`, `missing_token`, ...), most frequent first
    /// (at most 10).
    pub top_denial_reasons: Vec<AuditSummaryCount>,
    /// Decisions by client app id (the token's `azp`/`appid`), most frequent first (at most 10);
    /// requests without a token have no client and are not listed.
    pub top_clients: Vec<AuditSummaryCount>,
    /// Decisions by the gateway route that decided, most frequent first (at most 10).
    pub top_routes: Vec<AuditSummaryCount>,
    /// The summary counts at most `max_records` decisions, the newest of the window. When the
    /// window held more, `capped` is true and the counts start at `counted_since` (ISO 8601).
    pub max_records: u32,
    pub capped: bool,
    pub counted_since: Option<String>,
}

/// `GET /admin/v1/audit/verification`: the audit chain recomputed record by record and every
/// signed checkpoint checked, as `tokengate audit verify` does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditVerificationView {
    /// `verified`, `failed`, or `unavailable` (this node holds no key-encryption key to check
    /// checkpoints with; `reason` says so).
    pub status: String,
    /// What did not verify (the first bad record or checkpoint), or why it could not be checked.
    pub reason: Option<String>,
    /// Chained records verified and the seq range they span (when verified).
    pub records: u64,
    pub first_seq: Option<i64>,
    pub last_seq: Option<i64>,
    /// Records from before the chain existed, at the start of the log.
    pub unchained: u64,
    /// Checkpoints whose signature verified; of them, how many matched a record still present.
    pub checkpoints: u64,
    pub checkpoints_matched: u64,
    /// The newest signed checkpoint: its seq and when it was taken (ISO 8601).
    pub latest_checkpoint_seq: Option<i64>,
    pub latest_checkpoint_at: Option<String>,
    /// ISO 8601: when this verification ran.
    pub checked_at: String,
}
