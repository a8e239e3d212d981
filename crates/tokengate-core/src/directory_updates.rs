//! Updates of directory objects (apps, users, groups, tenants) and removal of an app's redirect
//! URIs, scopes and app roles: validated here, each committed with its audit record naming the
//! actor, and guarded by the caller's precondition (the admin API's `If-Match`), which is checked
//! on the very row the store is about to change. Never records a password, not even its hash.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::audit::AuditEvent;
use crate::directory::*;
use crate::directory_admin::{
    tenant_upn, validate_domain, validate_identifier_uri, AdminError, AdminResult, Precondition,
};
use crate::store::{DelegatedGrantFilter, Store, StoreError, StoreResult};
use crate::UnixTime;

/// Evaluates a precondition inside a store's change closure and remembers a failure, so the
/// caller can tell "stale" from the store's own errors.
struct Guard<'a, T> {
    expect: Precondition<'a, T>,
    stale: AtomicBool,
}

impl<'a, T> Guard<'a, T> {
    fn new(expect: Precondition<'a, T>) -> Self {
        Guard { expect, stale: AtomicBool::new(false) }
    }

    fn check(&self, current: &T) -> StoreResult<()> {
        match self.expect {
            Some(holds) if !holds(current) => {
                self.stale.store(true, Ordering::SeqCst);
                Err(StoreError::Invalid("precondition failed".into()))
            }
            _ => Ok(()),
        }
    }

    /// The store's answer in directory terms: `what` names the object.
    fn outcome<R>(&self, what: &str, result: StoreResult<R>) -> AdminResult<R> {
        match result {
            Err(_) if self.stale.load(Ordering::SeqCst) => Err(AdminError::Stale(what.to_owned())),
            Err(StoreError::NotFound) => Err(AdminError::NotFound(what.to_owned())),
            other => Ok(other?),
        }
    }
}

/// The fields of an app an update may set; `None` leaves one as it is.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AppUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identifier_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_audience: Option<SignInAudience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_accepted_version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_public_client: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_use_client_assertions: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entra_compatible_refresh_tokens: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_membership_claims: Option<bool>,
}

impl AppUpdate {
    fn validate(&mut self) -> AdminResult<()> {
        if let Some(name) = &mut self.display_name {
            *name = name.trim().to_owned();
            if name.is_empty() {
                return Err(AdminError::Invalid("app display name must not be empty".into()));
            }
        }
        for uri in self.identifier_uris.iter().flatten() {
            validate_identifier_uri(uri)?;
        }
        if let Some(v) = self.access_token_accepted_version {
            if v != 1 && v != 2 {
                return Err(AdminError::Invalid(format!("accessTokenAcceptedVersion must be 1 or 2, not {v}")));
            }
        }
        Ok(())
    }

    fn apply(&self, app: &mut AppRegistration) {
        let set = |field: &mut bool, value: Option<bool>| *field = value.unwrap_or(*field);
        if let Some(name) = &self.display_name {
            app.display_name = name.clone();
        }
        if let Some(uris) = &self.identifier_uris {
            app.identifier_uris = uris.clone();
        }
        if let Some(audience) = self.sign_in_audience {
            app.sign_in_audience = audience;
        }
        if let Some(v) = self.access_token_accepted_version {
            app.access_token_accepted_version = Some(v);
        }
        set(&mut app.is_public_client, self.is_public_client);
        set(&mut app.single_use_client_assertions, self.single_use_client_assertions);
        set(&mut app.entra_compatible_refresh_tokens, self.entra_compatible_refresh_tokens);
        set(&mut app.group_membership_claims, self.group_membership_claims);
    }
}

/// Changes an app's settings (not its permissions or credentials, which have their own calls).
pub async fn update_app_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    mut update: AppUpdate,
    expect: Precondition<'_, AppRegistration>,
    now: UnixTime,
) -> AdminResult<AppRegistration> {
    update.validate()?;
    let what = format!("app {app_id}");
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let audit = AuditEvent::admin_by(
        "app.updated",
        Some(app.tenant_id),
        json!({"app_id": app_id, "changes": update}),
        actor,
        now,
    );
    let guard = Guard::new(expect);
    let result = store
        .update_app(
            app_id,
            &|app: &mut AppRegistration| {
                guard.check(app)?;
                update.apply(app);
                Ok(())
            },
            &audit,
        )
        .await;
    guard.outcome(&what, result)
}

/// Applies `change` to an app with the audit record `action` + `detail` (which names the app).
async fn change_app(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    action: &str,
    detail: Value,
    change: &(dyn Fn(&mut AppRegistration) -> StoreResult<()> + Send + Sync),
    now: UnixTime,
) -> AdminResult<AppRegistration> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let mut detail = detail;
    if let Some(fields) = detail.as_object_mut() {
        fields.insert("app_id".into(), json!(app_id));
    }
    let audit = AuditEvent::admin_by(action, Some(app.tenant_id), detail, actor, now);
    Ok(store.update_app(app_id, change, &audit).await?)
}

/// Unregisters a redirect URI (of `platform` only, when given). `NotFound` if not registered.
pub async fn remove_redirect_uri_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    uri: &str,
    platform: Option<RedirectPlatform>,
    now: UnixTime,
) -> AdminResult<()> {
    let matches = |r: &RedirectUri| r.uri == uri && platform.is_none_or(|p| p == r.platform);
    let detail = json!({"redirect_uri": uri, "platform": platform});
    let change = |app: &mut AppRegistration| {
        if !app.redirect_uris.iter().any(matches) {
            return Err(StoreError::NotFound);
        }
        app.redirect_uris.retain(|r| !matches(r));
        Ok(())
    };
    match change_app(store, actor, app_id, "app.redirect_uri_removed", detail, &change, now).await {
        Err(AdminError::Store(StoreError::NotFound)) => {
            Err(AdminError::NotFound(format!("redirect URI '{uri}' on app {app_id}")))
        }
        other => other.map(|_| ()),
    }
}

/// Removes a delegated permission (by value or id). Refused while a consent still names it:
/// revoke those first, so no token is issued with a scope the app no longer defines.
pub async fn remove_scope_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    scope: &str,
    now: UnixTime,
) -> AdminResult<PermissionScope> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let found = app.scopes.iter().find(|s| s.value == scope || s.id.to_string() == scope).cloned();
    let found = found.ok_or_else(|| AdminError::NotFound(format!("scope '{scope}' on app {app_id}")))?;
    let filter = DelegatedGrantFilter { resource_app_id: Some(app_id), ..Default::default() };
    let consents = store.find_delegated_grants(&filter).await?;
    let holding = consents.iter().filter(|g| g.scopes.contains(&found.value)).count();
    if holding > 0 {
        return Err(AdminError::Conflict(format!(
            "{holding} consent(s) still grant the scope '{}': revoke them first",
            found.value
        )));
    }
    let id = found.id;
    let detail = json!({"scope": found.value});
    let change = move |app: &mut AppRegistration| {
        app.scopes.retain(|s| s.id != id);
        Ok(())
    };
    change_app(store, actor, app_id, "app.scope_removed", detail, &change, now).await?;
    Ok(found)
}

/// Removes an app role (by value or id). Refused while any principal holds it: revoke those
/// grants and assignments first.
pub async fn remove_app_role_by(
    store: &dyn Store,
    actor: &str,
    app_id: Uuid,
    role: &str,
    now: UnixTime,
) -> AdminResult<AppRole> {
    let app = store.app(app_id).await?.ok_or_else(|| AdminError::NotFound(format!("app {app_id}")))?;
    let found = app.app_roles.iter().find(|r| r.value == role || r.id.to_string() == role).cloned();
    let found = found.ok_or_else(|| AdminError::NotFound(format!("app role '{role}' on app {app_id}")))?;
    let holders = store.app_role_grants_on(app_id).await?.iter().filter(|g| g.app_role_id == found.id).count();
    if holders > 0 {
        return Err(AdminError::Conflict(format!(
            "{holders} principal(s) still hold the app role '{}': revoke those grants first",
            found.value
        )));
    }
    let id = found.id;
    let detail = json!({"role": found.value});
    let change = move |app: &mut AppRegistration| {
        app.app_roles.retain(|r| r.id != id);
        Ok(())
    };
    change_app(store, actor, app_id, "app.role_removed", detail, &change, now).await?;
    Ok(found)
}

/// The fields of a user an update may set. A new password is hashed here; the audit record only
/// says that it changed.
#[derive(Clone, Default)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub password: Option<String>,
}

pub async fn update_user_by(
    store: &dyn Store,
    actor: &str,
    object_id: Uuid,
    update: UserUpdate,
    expect: Precondition<'_, User>,
    now: UnixTime,
) -> AdminResult<User> {
    let what = format!("user {object_id}");
    let user = store.user(object_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let display_name = update.display_name.map(|n| n.trim().to_owned());
    let upn = match &update.user_principal_name {
        None => None,
        Some(upn) => {
            let tenant = store.tenant(user.tenant_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
            Some(tenant_upn(&tenant, upn)?)
        }
    };
    let password_hash = match &update.password {
        None => None,
        Some(p) => Some(crate::passwords::hash_password(p).map_err(|e| AdminError::Invalid(e.to_string()))?),
    };
    let mut changes = Map::new();
    if let Some(name) = &display_name {
        changes.insert("display_name".into(), json!(name));
    }
    if let Some(upn) = &upn {
        changes.insert("upn".into(), json!(upn));
    }
    if password_hash.is_some() {
        changes.insert("password".into(), json!("changed"));
    }
    let audit = AuditEvent::admin_by(
        "user.updated",
        Some(user.tenant_id),
        json!({"object_id": object_id, "changes": changes}),
        actor,
        now,
    );
    let guard = Guard::new(expect);
    let result = store
        .update_user(
            object_id,
            &|u: &mut User| {
                guard.check(u)?;
                if let Some(name) = &display_name {
                    u.display_name = name.clone();
                }
                if let Some(upn) = &upn {
                    u.user_principal_name = upn.clone();
                }
                if let Some(hash) = &password_hash {
                    u.password_hash = hash.clone();
                }
                Ok(())
            },
            Some(&audit),
        )
        .await;
    guard.outcome(&what, result)
}

pub async fn update_group_by(
    store: &dyn Store,
    actor: &str,
    group_id: Uuid,
    display_name: Option<String>,
    expect: Precondition<'_, Group>,
    now: UnixTime,
) -> AdminResult<Group> {
    let what = format!("group {group_id}");
    let group = store.group(group_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let display_name = display_name.map(|n| n.trim().to_owned());
    if display_name.as_deref().is_some_and(str::is_empty) {
        return Err(AdminError::Invalid("group display name must not be empty".into()));
    }
    let audit = AuditEvent::admin_by(
        "group.updated",
        Some(group.tenant_id),
        json!({"object_id": group_id, "changes": {"display_name": display_name}}),
        actor,
        now,
    );
    let guard = Guard::new(expect);
    let result = store
        .update_group(
            group_id,
            &|g: &mut Group| {
                guard.check(g)?;
                if let Some(name) = &display_name {
                    g.display_name = name.clone();
                }
                Ok(())
            },
            &audit,
        )
        .await;
    guard.outcome(&what, result)
}

/// The fields of a tenant an update may set: `domains` replaces the verified domains.
#[derive(Debug, Clone, Default)]
pub struct TenantUpdate {
    pub display_name: Option<String>,
    pub domains: Option<Vec<String>>,
}

/// Renames a tenant or changes its verified domains. A domain some user's UPN is at cannot go
/// (change those users first), and a tenant keeps at least one domain.
pub async fn update_tenant_by(
    store: &dyn Store,
    actor: &str,
    tenant_id: Uuid,
    update: TenantUpdate,
    expect: Precondition<'_, Tenant>,
    now: UnixTime,
) -> AdminResult<Tenant> {
    let what = format!("tenant {tenant_id}");
    let tenant = store.tenant(tenant_id).await?.ok_or_else(|| AdminError::NotFound(what.clone()))?;
    let display_name = update.display_name.map(|n| n.trim().to_owned());
    if display_name.as_deref().is_some_and(str::is_empty) {
        return Err(AdminError::Invalid("tenant display name must not be empty".into()));
    }
    let domains = update.domains.map(|ds| ds.iter().map(|d| d.trim().to_ascii_lowercase()).collect::<Vec<_>>());
    if let Some(domains) = &domains {
        if domains.is_empty() {
            return Err(AdminError::Invalid("a tenant needs at least one verified domain".into()));
        }
        for d in domains {
            validate_domain(d)?;
        }
        // Checked before the locked update: a user created at a dropped domain meanwhile is the
        // (narrow) race this accepts; their UPN stays valid, only new users need a kept domain.
        let users = store.users(tenant_id).await?;
        for dropped in tenant.domains.iter().filter(|d| !domains.contains(d)) {
            let at = format!("@{dropped}");
            let using = users.iter().filter(|u| u.user_principal_name.ends_with(&at)).count();
            if using > 0 {
                return Err(AdminError::Conflict(format!(
                    "{using} user(s) have UPNs at '{dropped}': change them before removing the domain"
                )));
            }
        }
    }
    let audit = AuditEvent::admin_by(
        "tenant.updated",
        Some(tenant_id),
        json!({"changes": {"display_name": display_name, "domains": domains}}),
        actor,
        now,
    );
    let guard = Guard::new(expect);
    let result = store
        .update_tenant(
            tenant_id,
            &|t: &mut Tenant| {
                guard.check(t)?;
                if let Some(name) = &display_name {
                    t.display_name = name.clone();
                }
                if let Some(domains) = &domains {
                    t.domains = domains.clone();
                }
                Ok(())
            },
            &audit,
        )
        .await;
    guard.outcome(&what, result)
}
