//! Directory changes as the CLI, `tokengate dev` and (later) the admin API make them: input is
//! validated here, ids and secrets are generated here, and each change is committed with its
//! audit record. Returns what the caller may show once (a new secret's value).

use serde_json::json;
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::directory::*;
use crate::encoding::{sha1, sha256};
use crate::revocations::{NewRevocation, Revocation, RevocationEffects, RevocationTarget};
use crate::secrets::{generate_secret, hash_secret};
use crate::store::{Store, StoreError};
use crate::UnixTime;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// An update's precondition (the admin API's `If-Match`) no longer holds: the object changed
    /// since the caller read it. Nothing was written.
    #[error("{0} changed since it was read")]
    Stale(String),
    /// Refused because of what the store holds (e.g. an app role still granted): the words say
    /// what to do first.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AdminResult<T> = Result<T, AdminError>;

/// What an update expects the object still to be (the admin API compares ETags): checked on the
/// current row inside the store's compare-and-swap, so no write lands on a version the caller
/// did not see.
pub type Precondition<'a, T> = Option<&'a (dyn Fn(&T) -> bool + Send + Sync)>;

/// The actor recorded for changes made by the CLI's direct store access.
pub const CLI_ACTOR: &str = "cli";

pub async fn create_tenant_by(
    store: &dyn Store,
    actor: &str,
    display_name: &str,
    domains: &[String],
    now: UnixTime,
) -> AdminResult<Tenant> {
    if display_name.trim().is_empty() {
        return Err(AdminError::Invalid("tenant display name must not be empty".into()));
    }
    for d in domains {
        validate_domain(d)?;
    }
    let tenant = Tenant {
        id: Uuid::new_v4(),
        display_name: display_name.trim().to_owned(),
        domains: domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
        created_at: now,
    };
    let audit = AuditEvent::admin_by("tenant.created", Some(tenant.id), json!({"domains": tenant.domains}), actor, now);
    store.insert_tenant(&tenant, &audit).await?;
    Ok(tenant)
}

pub(crate) fn validate_domain(d: &str) -> AdminResult<()> {
    let valid = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid || Uuid::parse_str(d).is_ok() {
        return Err(AdminError::Invalid(format!("'{d}' is not a valid domain name")));
    }
    if ["common", "organizations", "consumers"].contains(&d) {
        return Err(AdminError::Invalid(format!("'{d}' is reserved")));
    }
    Ok(())
}

/// What a new app registration looks like.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub display_name: String,
    pub identifier_uris: Vec<String>,
    pub sign_in_audience: SignInAudience,
    pub access_token_accepted_version: Option<u8>,
    pub is_public_client: bool,
    pub redirect_uris: Vec<RedirectUri>,
    /// See `AppRegistration::single_use_client_assertions`.
    pub single_use_client_assertions: bool,
    /// See `AppRegistration::entra_compatible_refresh_tokens`.
    pub entra_compatible_refresh_tokens: bool,
    /// See `AppRegistration::group_membership_claims`.
    pub group_membership_claims: bool,
}

/// Registers an app and its service principal in the home tenant.
pub async fn create_app_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    new: NewApp,
    now: UnixTime,
) -> AdminResult<(AppRegistration, ServicePrincipal)> {
    if store.tenant(tenant_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("tenant {tenant_id}")));
    }
    if new.display_name.trim().is_empty() {
        return Err(AdminError::Invalid("app display name must not be empty".into()));
    }
    for uri in &new.identifier_uris {
        validate_identifier_uri(uri)?;
    }
    if let Some(v) = new.access_token_accepted_version {
        if v != 1 && v != 2 {
            return Err(AdminError::Invalid(format!("accessTokenAcceptedVersion must be 1 or 2, not {v}")));
        }
    }
    for r in &new.redirect_uris {
        validate_redirect_uri(r)?;
    }
    let app = AppRegistration {
        app_id: Uuid::new_v4(),
        tenant_id,
        display_name: new.display_name.trim().to_owned(),
        identifier_uris: new.identifier_uris,
        sign_in_audience: new.sign_in_audience,
        access_token_accepted_version: new.access_token_accepted_version,
        scopes: vec![],
        app_roles: vec![],
        redirect_uris: new.redirect_uris,
        is_public_client: new.is_public_client,
        single_use_client_assertions: new.single_use_client_assertions,
        entra_compatible_refresh_tokens: new.entra_compatible_refresh_tokens,
        group_membership_claims: new.group_membership_claims,
        required_resource_access: vec![],
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "app.created",
        Some(tenant_id),
        json!({"app_id": app.app_id, "display_name": app.display_name, "identifier_uris": app.identifier_uris}),
        actor,
        now,
    );
    store.insert_app(&app, &audit).await?;
    let sp = ServicePrincipal {
        object_id: Uuid::new_v4(),
        tenant_id,
        app_id: app.app_id,
        display_name: app.display_name.clone(),
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "service_principal.created",
        Some(tenant_id),
        json!({"app_id": app.app_id, "object_id": sp.object_id}),
        actor,
        now,
    );
    store.insert_service_principal(&sp, &audit).await?;
    Ok((app, sp))
}

/// Admin consent of another tenant to a multi-tenant app: creates the app's service principal
/// there, after which the app can get tokens in that tenant and its App ID URIs resolve there.
pub async fn provision_service_principal_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    app_id: Uuid,
    now: UnixTime,
) -> AdminResult<ServicePrincipal> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    if store.tenant(tenant_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("tenant {tenant_id}")));
    }
    if app.tenant_id != tenant_id && app.sign_in_audience != SignInAudience::AzureADMultipleOrgs {
        return Err(AdminError::Invalid(format!(
            "app {app_id} is single-tenant (AzureADMyOrg): it cannot be provisioned in another tenant"
        )));
    }
    let sp = ServicePrincipal {
        object_id: Uuid::new_v4(),
        tenant_id,
        app_id,
        display_name: app.display_name.clone(),
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "service_principal.created",
        Some(tenant_id),
        json!({"app_id": app_id, "object_id": sp.object_id}),
        actor,
        now,
    );
    store.insert_service_principal(&sp, &audit).await?;
    Ok(sp)
}

pub(crate) fn validate_identifier_uri(uri: &str) -> AdminResult<()> {
    let ok_scheme = uri.starts_with("api://") || uri.starts_with("https://") || uri.starts_with("urn:");
    if !ok_scheme || uri.len() > 400 || uri.contains(char::is_whitespace) || uri.contains('*') || uri.contains('#') {
        return Err(AdminError::Invalid(format!(
            "App ID URI '{uri}' must start with api://, https:// or urn: and contain no spaces, '*' or '#'"
        )));
    }
    Ok(())
}

pub(crate) fn validate_redirect_uri(r: &RedirectUri) -> AdminResult<()> {
    let uri = &r.uri;
    let loopback_http = uri.starts_with("http://localhost") || uri.starts_with("http://127.0.0.1");
    let custom_scheme = r.platform == RedirectPlatform::PublicClient && uri.contains("://") && !uri.starts_with("http");
    if !(uri.starts_with("https://") || loopback_http || custom_scheme)
        || uri.contains('#')
        || uri.contains(char::is_whitespace)
    {
        return Err(AdminError::Invalid(format!(
            "redirect URI '{uri}' must be https (http only for localhost), without fragment or spaces"
        )));
    }
    Ok(())
}

/// Registers one more redirect URI (any platform) on an app: hybrid apps have several.
pub async fn add_redirect_uri_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    redirect: RedirectUri,
    now: UnixTime,
) -> AdminResult<()> {
    validate_redirect_uri(&redirect)?;
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let audit = AuditEvent::admin_by(
        "app.redirect_uri_added",
        Some(app.tenant_id),
        json!({"app_id": app_id, "redirect_uri": redirect.uri, "platform": redirect.platform}),
        actor,
        now,
    );
    store
        .update_app(
            app_id,
            &move |app: &mut AppRegistration| {
                if app.redirect_uris.iter().any(|r| r.uri == redirect.uri) {
                    return Err(StoreError::Conflict(format!("redirect URI '{}' is already registered", redirect.uri)));
                }
                app.redirect_uris.push(redirect.clone());
                Ok(())
            },
            &audit,
        )
        .await?;
    Ok(())
}

/// Adds an app role (`allowed` member types) and returns its id.
pub async fn add_app_role_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    value: &str,
    display_name: &str,
    allowed: Vec<AllowedMemberType>,
    now: UnixTime,
) -> AdminResult<AppRole> {
    validate_permission_value(value)?;
    if allowed.is_empty() {
        return Err(AdminError::Invalid("an app role needs at least one allowed member type".into()));
    }
    let role = AppRole {
        id: Uuid::new_v4(),
        value: value.to_owned(),
        display_name: display_name.to_owned(),
        allowed_member_types: allowed,
        enabled: true,
    };
    let added = role.clone();
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let audit = AuditEvent::admin_by(
        "app.role_added",
        Some(app.tenant_id),
        json!({"app_id": app_id, "role": value}),
        actor,
        now,
    );
    store
        .update_app(
            app_id,
            &move |app: &mut AppRegistration| {
                if app.app_roles.iter().any(|r| r.value == added.value) {
                    return Err(StoreError::Conflict(format!("app role '{}' already exists", added.value)));
                }
                app.app_roles.push(added.clone());
                Ok(())
            },
            &audit,
        )
        .await?;
    Ok(role)
}

/// Adds a delegated permission scope and returns it.
pub async fn add_scope_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    value: &str,
    display_name: &str,
    now: UnixTime,
) -> AdminResult<PermissionScope> {
    validate_permission_value(value)?;
    let scope = PermissionScope {
        id: Uuid::new_v4(),
        value: value.to_owned(),
        admin_consent_display_name: display_name.to_owned(),
        enabled: true,
    };
    let added = scope.clone();
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let audit = AuditEvent::admin_by(
        "app.scope_added",
        Some(app.tenant_id),
        json!({"app_id": app_id, "scope": value}),
        actor,
        now,
    );
    store
        .update_app(
            app_id,
            &move |app: &mut AppRegistration| {
                if app.scopes.iter().any(|s| s.value == added.value) {
                    return Err(StoreError::Conflict(format!("scope '{}' already exists", added.value)));
                }
                app.scopes.push(added.clone());
                Ok(())
            },
            &audit,
        )
        .await?;
    Ok(scope)
}

fn validate_permission_value(value: &str) -> AdminResult<()> {
    let ok = !value.is_empty()
        && value.len() <= 120
        && !value.starts_with('.')
        && value.chars().all(|c| c.is_ascii_graphic() && c != '"' && c != '\\' && c != '/');
    if !ok || value == ".default" {
        return Err(AdminError::Invalid(format!(
            "'{value}' is not a valid permission value (printable ASCII, no spaces, quotes, slashes)"
        )));
    }
    Ok(())
}

/// A new client secret; the value is returned once and only its hash is stored.
pub struct CreatedSecret {
    pub secret: ClientSecret,
    pub value: String,
}

pub async fn create_secret_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    display_name: &str,
    lifetime_days: i64,
    now: UnixTime,
) -> AdminResult<CreatedSecret> {
    if !(1..=730).contains(&lifetime_days) {
        return Err(AdminError::Invalid("secret lifetime must be 1 to 730 days (Entra's maximum is 24 months)".into()));
    }
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    if app.is_public_client {
        return Err(AdminError::Invalid("public clients cannot have secrets".into()));
    }
    let value = generate_secret();
    let secret = ClientSecret {
        key_id: Uuid::new_v4(),
        app_id,
        display_name: display_name.to_owned(),
        hint: value.chars().take(3).collect(),
        secret_hash: hash_secret(&value),
        created_at: now,
        expires_at: now + lifetime_days * 86_400,
    };
    let audit = AuditEvent::admin_by(
        "secret.created",
        Some(app.tenant_id),
        json!({"app_id": app_id, "key_id": secret.key_id, "hint": secret.hint, "expires_at": secret.expires_at}),
        actor,
        now,
    );
    store.insert_secret(&secret, &audit).await?;
    Ok(CreatedSecret { secret, value })
}

/// Registers a certificate credential from its DER.
pub async fn add_certificate_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    display_name: &str,
    der: &[u8],
    now: UnixTime,
) -> AdminResult<ClientCertificate> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| AdminError::Invalid(format!("not an X.509 certificate: {e}")))?;
    if !matches!(cert.public_key().parsed(), Ok(x509_parser::public_key::PublicKey::RSA(_))) {
        return Err(AdminError::Invalid("only RSA certificates are supported for client assertions".into()));
    }
    let expires_at = cert.validity().not_after.timestamp();
    if expires_at <= now {
        return Err(AdminError::Invalid("certificate has expired".into()));
    }
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let certificate = ClientCertificate {
        key_id: Uuid::new_v4(),
        app_id,
        display_name: display_name.to_owned(),
        der: der.to_vec(),
        thumbprint_sha1: sha1(der).to_vec(),
        thumbprint_sha256: sha256(der).to_vec(),
        created_at: now,
        expires_at,
    };
    let audit = AuditEvent::admin_by(
        "certificate.added",
        Some(app.tenant_id),
        json!({"app_id": app_id, "key_id": certificate.key_id, "thumbprint": crate::encoding::hex_upper(&certificate.thumbprint_sha1)}),
        actor,
        now,
    );
    store.insert_certificate(&certificate, &audit).await?;
    Ok(certificate)
}

/// Admin consent for an application permission: grants `role_value` of `resource_app_id` to the
/// service principal of `client_app_id` in `tenant_id`.
pub async fn grant_app_role_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    client_app_id: Uuid,
    resource_app_id: Uuid,
    role_value: &str,
    now: UnixTime,
) -> AdminResult<AppRoleGrant> {
    let role_id = assignable_role(store, resource_app_id, role_value, AllowedMemberType::Application).await?;
    let sp = store.service_principal(tenant_id, client_app_id).await?.ok_or_else(|| {
        AdminError::NotFound(format!("service principal of app {client_app_id} in tenant {tenant_id}"))
    })?;
    let grant = AppRoleGrant {
        id: Uuid::new_v4(),
        tenant_id,
        principal_id: sp.object_id,
        resource_app_id,
        app_role_id: role_id,
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "app_role.granted",
        Some(tenant_id),
        json!({"client_app_id": client_app_id, "resource_app_id": resource_app_id, "role": role_value}),
        actor,
        now,
    );
    store.insert_app_role_grant(&grant, &audit).await?;
    Ok(grant)
}

/// The id of `role_value` on the resource, if it may be given to `member` principals.
async fn assignable_role(
    store: &dyn Store,
    resource_app_id: Uuid,
    role_value: &str,
    member: AllowedMemberType,
) -> AdminResult<Uuid> {
    let resource = store
        .app(resource_app_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("resource app {resource_app_id}")))?;
    let role = resource
        .role_by_value(role_value)
        .ok_or_else(|| AdminError::NotFound(format!("app role '{role_value}' on {resource_app_id}")))?;
    if !role.allowed_member_types.contains(&member) {
        let whom = match member {
            AllowedMemberType::Application => "granted to applications",
            AllowedMemberType::User => "assigned to users or groups",
        };
        return Err(AdminError::Invalid(format!("app role '{role_value}' cannot be {whom}")));
    }
    Ok(role.id)
}

/// `upn` lower-cased, if it is a valid name at one of the tenant's verified domains.
pub(crate) fn tenant_upn(tenant: &Tenant, upn: &str) -> AdminResult<String> {
    let upn = upn.trim().to_ascii_lowercase();
    let Some((local, domain)) = upn.split_once('@') else {
        return Err(AdminError::Invalid(format!("user principal name '{upn}' must look like name@domain")));
    };
    if local.is_empty() || upn.len() > 256 || upn.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::Invalid(format!("user principal name '{upn}' is not valid")));
    }
    if !tenant.domains.iter().any(|d| d == domain) {
        return Err(AdminError::Invalid(format!(
            "the domain of '{upn}' is not a verified domain of the tenant ({})",
            tenant.domains.join(", ")
        )));
    }
    Ok(upn)
}

/// A new user with an Argon2id-hashed password.
pub async fn create_user_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    upn: &str,
    display_name: &str,
    password: &str,
    now: UnixTime,
) -> AdminResult<User> {
    let tenant = store.tenant(tenant_id).await?.ok_or_else(|| AdminError::NotFound(format!("tenant {tenant_id}")))?;
    let upn = tenant_upn(&tenant, upn)?;
    let password_hash = crate::passwords::hash_password(password).map_err(|e| AdminError::Invalid(e.to_string()))?;
    let user = User {
        object_id: Uuid::new_v4(),
        tenant_id,
        user_principal_name: upn,
        display_name: display_name.trim().to_owned(),
        password_hash,
        enabled: true,
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "user.created",
        Some(tenant_id),
        json!({"object_id": user.object_id, "upn": user.user_principal_name}),
        actor,
        now,
    );
    store.insert_user(&user, &audit).await?;
    Ok(user)
}

pub async fn set_user_enabled_by(
    store: &dyn Store,
    actor: &str,
    object_id: Uuid,
    enabled: bool,
    now: UnixTime,
) -> AdminResult<User> {
    let user = store.user(object_id).await?.ok_or_else(|| AdminError::NotFound(format!("user {object_id}")))?;
    let action = if enabled { "user.enabled" } else { "user.disabled" };
    let audit = AuditEvent::admin_by(action, Some(user.tenant_id), json!({"object_id": object_id}), actor, now);
    let user = store
        .update_user(
            object_id,
            &move |u: &mut User| {
                u.enabled = enabled;
                Ok(())
            },
            Some(&audit),
        )
        .await?;
    // Disabling revokes at once, as Entra does: tokens already issued are denied everywhere, and
    // the user's sessions end for good (enabling the user again does not revive them).
    if !enabled {
        revoke_user(store, object_id, actor, Some("user disabled".into()), now * 1000).await?;
    }
    Ok(user)
}

/// Entra's `revokeSignInSessions`: a user revocation on the kill-switch feed. Every access token
/// issued to the user before now is denied by every gateway, and in the same transaction their
/// refresh-token families, browser sessions, approved device codes and unredeemed codes end.
/// `actor` says who (`cli`, an admin's id); the returned row carries the feed version to wait for.
pub async fn revoke_user(
    store: &dyn Store,
    object_id: Uuid,
    actor: &str,
    reason: Option<String>,
    now_ms: i64,
) -> AdminResult<(Revocation, RevocationEffects)> {
    let user = store.user(object_id).await?.ok_or_else(|| AdminError::NotFound(format!("user {object_id}")))?;
    let target = RevocationTarget::User { tenant_id: user.tenant_id.to_string(), object_id: object_id.to_string() };
    let revocation = NewRevocation::at(target, actor, reason, now_ms);
    let mut audit = AuditEvent::admin_by(
        "revocation.user",
        Some(user.tenant_id),
        json!({"object_id": object_id, "actor": actor, "reason": revocation.reason}),
        actor,
        now_ms.div_euclid(1000),
    );
    audit.subject = Some(object_id.to_string());
    Ok(store.revoke(&revocation, &audit).await?)
}

/// Ends every sign-in session of a user, and everything else `revoke_user` ends. Returns how many
/// browser sessions ended.
pub async fn revoke_user_sessions(store: &dyn Store, object_id: Uuid, now: UnixTime) -> AdminResult<u64> {
    let (_, effects) = revoke_user(store, object_id, "cli", None, now * 1000).await?;
    Ok(effects.sessions_ended)
}

pub async fn create_group_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    display_name: &str,
    now: UnixTime,
) -> AdminResult<Group> {
    if store.tenant(tenant_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("tenant {tenant_id}")));
    }
    if display_name.trim().is_empty() {
        return Err(AdminError::Invalid("group display name must not be empty".into()));
    }
    let group =
        Group { object_id: Uuid::new_v4(), tenant_id, display_name: display_name.trim().to_owned(), created_at: now };
    let audit = AuditEvent::admin_by(
        "group.created",
        Some(tenant_id),
        json!({"object_id": group.object_id, "name": group.display_name}),
        actor,
        now,
    );
    store.insert_group(&group, &audit).await?;
    Ok(group)
}

pub async fn add_group_member_by(
    store: &dyn Store,
    actor: &str,
    group_id: Uuid,
    user_id: Uuid,
    now: UnixTime,
) -> AdminResult<()> {
    let user = store.user(user_id).await?.ok_or_else(|| AdminError::NotFound(format!("user {user_id}")))?;
    let groups = store.groups(user.tenant_id).await?;
    if !groups.iter().any(|g| g.object_id == group_id) {
        return Err(AdminError::NotFound(format!("group {group_id} in the user's tenant")));
    }
    let audit = AuditEvent::admin_by(
        "group.member_added",
        Some(user.tenant_id),
        json!({"group_id": group_id, "user_id": user_id}),
        actor,
        now,
    );
    Ok(store.add_group_member(group_id, user_id, &audit).await?)
}

/// Assigns an app role of `resource_app_id` to a user or group (`principal_id`) of `tenant_id`.
pub async fn assign_user_role_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    principal_id: Uuid,
    resource_app_id: Uuid,
    role_value: &str,
    now: UnixTime,
) -> AdminResult<AppRoleGrant> {
    let role_id = assignable_role(store, resource_app_id, role_value, AllowedMemberType::User).await?;
    let is_user = store.user(principal_id).await?.is_some_and(|u| u.tenant_id == tenant_id);
    let is_group = !is_user && store.groups(tenant_id).await?.iter().any(|g| g.object_id == principal_id);
    if !is_user && !is_group {
        return Err(AdminError::NotFound(format!("user or group {principal_id} in tenant {tenant_id}")));
    }
    let grant = AppRoleGrant {
        id: Uuid::new_v4(),
        tenant_id,
        principal_id,
        resource_app_id,
        app_role_id: role_id,
        created_at: now,
    };
    let audit = AuditEvent::admin_by(
        "app_role.assigned",
        Some(tenant_id),
        json!({"principal_id": principal_id, "resource_app_id": resource_app_id, "role": role_value}),
        actor,
        now,
    );
    store.insert_app_role_grant(&grant, &audit).await?;
    Ok(grant)
}

/// A consent to give: `scopes` of the resource to the client, for `user_id` or tenant-wide.
#[derive(Debug, Clone, Copy)]
pub struct NewConsent<'a> {
    pub tenant_id: Uuid,
    pub client_app_id: Uuid,
    pub resource_app_id: Uuid,
    pub user_id: Option<Uuid>,
    pub scopes: &'a [String],
}

/// Consent to delegated scopes of a resource for a client: for one user, or tenant-wide (admin
/// consent) when `user_id` is `None`. Scopes must be exposed by the resource.
pub async fn grant_consent_by(
    store: &dyn Store,
    actor: &str,
    consent: &NewConsent<'_>,
    now: UnixTime,
) -> AdminResult<DelegatedGrant> {
    let NewConsent { tenant_id, client_app_id, resource_app_id, user_id, scopes } = *consent;
    let resource = store
        .app(resource_app_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("resource app {resource_app_id}")))?;
    if store.app(client_app_id).await?.is_none() {
        return Err(AdminError::NotFound(format!("client app {client_app_id}")));
    }
    for scope in scopes {
        if !resource.scopes.iter().any(|s| s.enabled && s.value == *scope) {
            return Err(AdminError::Invalid(format!("'{scope}' is not a scope of {}", resource.display_name)));
        }
    }
    if let Some(user) = user_id {
        if store.user(user).await?.is_none_or(|u| u.tenant_id != tenant_id) {
            return Err(AdminError::NotFound(format!("user {user} in tenant {tenant_id}")));
        }
    }
    let mut sorted = scopes.to_vec();
    sorted.sort();
    sorted.dedup();
    let grant = DelegatedGrant {
        id: Uuid::new_v4(),
        tenant_id,
        client_app_id,
        resource_app_id,
        principal_id: user_id,
        scopes: sorted,
        created_at: now,
    };
    let action = if user_id.is_some() { "consent.user" } else { "consent.admin" };
    let audit = AuditEvent::admin_by(
        action,
        Some(tenant_id),
        json!({"client_app_id": client_app_id, "resource_app_id": resource_app_id, "user_id": user_id, "scopes": grant.scopes}),
        actor,
        now,
    );
    Ok(store.grant_delegated(&grant, &audit).await?)
}

// The forms without an actor, for callers that change the store directly (the CLI until it calls
// the admin API, `tokengate dev`, tests): their changes are audited with the actor `cli`.

pub async fn create_tenant(
    store: &dyn Store,
    display_name: &str,
    domains: &[String],
    now: UnixTime,
) -> AdminResult<Tenant> {
    create_tenant_by(store, CLI_ACTOR, display_name, domains, now).await
}

pub async fn create_app(
    store: &dyn Store,
    tenant_id: Uuid,
    new: NewApp,
    now: UnixTime,
) -> AdminResult<(AppRegistration, ServicePrincipal)> {
    create_app_by(store, CLI_ACTOR, tenant_id, new, now).await
}

pub async fn provision_service_principal(
    store: &dyn Store,
    tenant_id: Uuid,
    app_id: Uuid,
    now: UnixTime,
) -> AdminResult<ServicePrincipal> {
    provision_service_principal_by(store, CLI_ACTOR, tenant_id, app_id, now).await
}

pub async fn add_redirect_uri(
    store: &dyn Store,
    app_id: Uuid,
    redirect: RedirectUri,
    now: UnixTime,
) -> AdminResult<()> {
    add_redirect_uri_by(store, CLI_ACTOR, app_id, redirect, now).await
}

pub async fn add_app_role(
    store: &dyn Store,
    app_id: Uuid,
    value: &str,
    display_name: &str,
    allowed: Vec<AllowedMemberType>,
    now: UnixTime,
) -> AdminResult<AppRole> {
    add_app_role_by(store, CLI_ACTOR, app_id, value, display_name, allowed, now).await
}

pub async fn add_scope(
    store: &dyn Store,
    app_id: Uuid,
    value: &str,
    display_name: &str,
    now: UnixTime,
) -> AdminResult<PermissionScope> {
    add_scope_by(store, CLI_ACTOR, app_id, value, display_name, now).await
}

pub async fn create_secret(
    store: &dyn Store,
    app_id: Uuid,
    display_name: &str,
    lifetime_days: i64,
    now: UnixTime,
) -> AdminResult<CreatedSecret> {
    create_secret_by(store, CLI_ACTOR, app_id, display_name, lifetime_days, now).await
}

pub async fn add_certificate(
    store: &dyn Store,
    app_id: Uuid,
    display_name: &str,
    der: &[u8],
    now: UnixTime,
) -> AdminResult<ClientCertificate> {
    add_certificate_by(store, CLI_ACTOR, app_id, display_name, der, now).await
}

pub async fn grant_app_role(
    store: &dyn Store,
    tenant_id: Uuid,
    client_app_id: Uuid,
    resource_app_id: Uuid,
    role_value: &str,
    now: UnixTime,
) -> AdminResult<AppRoleGrant> {
    grant_app_role_by(store, CLI_ACTOR, tenant_id, client_app_id, resource_app_id, role_value, now).await
}

pub async fn create_user(
    store: &dyn Store,
    tenant_id: Uuid,
    upn: &str,
    display_name: &str,
    password: &str,
    now: UnixTime,
) -> AdminResult<User> {
    create_user_by(store, CLI_ACTOR, tenant_id, upn, display_name, password, now).await
}

pub async fn set_user_enabled(store: &dyn Store, object_id: Uuid, enabled: bool, now: UnixTime) -> AdminResult<User> {
    set_user_enabled_by(store, CLI_ACTOR, object_id, enabled, now).await
}

pub async fn create_group(store: &dyn Store, tenant_id: Uuid, display_name: &str, now: UnixTime) -> AdminResult<Group> {
    create_group_by(store, CLI_ACTOR, tenant_id, display_name, now).await
}

pub async fn add_group_member(store: &dyn Store, group_id: Uuid, user_id: Uuid, now: UnixTime) -> AdminResult<()> {
    add_group_member_by(store, CLI_ACTOR, group_id, user_id, now).await
}

pub async fn assign_user_role(
    store: &dyn Store,
    tenant_id: Uuid,
    principal_id: Uuid,
    resource_app_id: Uuid,
    role_value: &str,
    now: UnixTime,
) -> AdminResult<AppRoleGrant> {
    assign_user_role_by(store, CLI_ACTOR, tenant_id, principal_id, resource_app_id, role_value, now).await
}

pub async fn grant_consent(
    store: &dyn Store,
    tenant_id: Uuid,
    client_app_id: Uuid,
    resource_app_id: Uuid,
    user_id: Option<Uuid>,
    scopes: &[String],
    now: UnixTime,
) -> AdminResult<DelegatedGrant> {
    let consent = NewConsent { tenant_id, client_app_id, resource_app_id, user_id, scopes };
    grant_consent_by(store, CLI_ACTOR, &consent, now).await
}
