//! Objects named the way people name them: a tenant by GUID, verified domain or display name; a
//! user by object id or user principal name; an app by client id, App ID URI or display name; a
//! group by object id or display name (within one tenant when `--tenant` says which). Resolved
//! through the admin API's lists, so the CLI never needs the store for it; a name several objects
//! share is an error naming them, never a guess.

use reqwest::StatusCode;
use tokengate_proto::admin::{AppView, GroupView, TenantView, UserView};
use uuid::Uuid;

use super::admin_client::{is_status, AdminClient};
use super::CliError;

/// The tenant id `name` stands for: a GUID as given (the API says if it does not exist), else the
/// one tenant whose domain or display name it is.
pub async fn tenant_id(api: &AdminClient, name: &str) -> Result<String, CliError> {
    if Uuid::parse_str(name).is_ok() {
        return Ok(name.to_ascii_lowercase());
    }
    let tenants: Vec<TenantView> = api.get("/admin/v1/tenants", &[]).await?;
    let matches: Vec<&TenantView> = tenants
        .iter()
        .filter(|t| t.domains.iter().any(|d| d.eq_ignore_ascii_case(name)) || t.display_name.eq_ignore_ascii_case(name))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(CliError::Argument(format!(
            "no tenant has the id, domain or name '{name}' (see `tokengate tenant list`)"
        ))),
        _ => Err(CliError::Argument(format!("several tenants are named '{name}': give the tenant id"))),
    }
}

/// The user `name` stands for: by object id, or by user principal name within the tenant of its
/// domain. `None` when there is no such user here.
pub async fn find_user(api: &AdminClient, name: &str) -> Result<Option<UserView>, CliError> {
    if Uuid::parse_str(name).is_ok() {
        return match api.get::<UserView>(&format!("/admin/v1/users/{name}"), &[]).await {
            Ok(user) => Ok(Some(user)),
            Err(e) if is_status(&e, StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        };
    }
    let Some((_, domain)) = name.rsplit_once('@') else {
        return Err(CliError::Argument(format!("'{name}' is neither an object id nor a user principal name")));
    };
    let tenants: Vec<TenantView> = api.get("/admin/v1/tenants", &[]).await?;
    for tenant in tenants.iter().filter(|t| t.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))) {
        let users: Vec<UserView> = api.get(&format!("/admin/v1/tenants/{}/users", tenant.id), &[]).await?;
        if let Some(user) = users.into_iter().find(|u| u.user_principal_name.eq_ignore_ascii_case(name)) {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The object id of a user of ours named by object id or UPN, or an error naming it.
pub async fn user_id(api: &AdminClient, name: &str) -> Result<String, CliError> {
    find_user(api, name)
        .await?
        .map(|u| u.object_id)
        .ok_or_else(|| CliError::Argument(format!("no user '{name}' (see `tokengate user list --tenant TENANT`)")))
}

/// The client id of the app `name` stands for: a GUID as given, else the one app whose App ID
/// URI or display name it is, in any tenant.
pub async fn app_id(api: &AdminClient, name: &str) -> Result<String, CliError> {
    if Uuid::parse_str(name).is_ok() {
        return Ok(name.to_ascii_lowercase());
    }
    let tenants: Vec<TenantView> = api.get("/admin/v1/tenants", &[]).await?;
    let mut matches: Vec<AppView> = Vec::new();
    for tenant in &tenants {
        let apps: Vec<AppView> = api.get(&format!("/admin/v1/tenants/{}/apps", tenant.id), &[]).await?;
        matches.extend(apps.into_iter().filter(|a| {
            a.identifier_uris.iter().any(|u| u.eq_ignore_ascii_case(name)) || a.display_name.eq_ignore_ascii_case(name)
        }));
    }
    matches.dedup_by(|a, b| a.app_id == b.app_id);
    match matches.as_slice() {
        [one] => Ok(one.app_id.clone()),
        [] => Err(CliError::Argument(format!(
            "no app has the client id, App ID URI or name '{name}' (see `tokengate app list --tenant TENANT`)"
        ))),
        several => Err(CliError::Argument(format!(
            "several apps are named '{name}' ({}): give the client id or an App ID URI",
            several.iter().map(|a| a.app_id.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The object id of the group `name` stands for: a GUID as given, else the one group of that
/// display name in `tenant` (any tenant when none is given).
pub async fn group_id(api: &AdminClient, name: &str, tenant: Option<&str>) -> Result<String, CliError> {
    if Uuid::parse_str(name).is_ok() {
        return Ok(name.to_ascii_lowercase());
    }
    let tenant_ids = match tenant {
        Some(t) => vec![tenant_id(api, t).await?],
        None => api.get::<Vec<TenantView>>("/admin/v1/tenants", &[]).await?.into_iter().map(|t| t.id).collect(),
    };
    let mut matches: Vec<GroupView> = Vec::new();
    for id in &tenant_ids {
        let groups: Vec<GroupView> = api.get(&format!("/admin/v1/tenants/{id}/groups"), &[]).await?;
        matches.extend(groups.into_iter().filter(|g| g.display_name.eq_ignore_ascii_case(name)));
    }
    match matches.as_slice() {
        [one] => Ok(one.object_id.clone()),
        [] => Err(CliError::Argument(format!(
            "no group has the object id or name '{name}' (see `tokengate group list --tenant TENANT`)"
        ))),
        several => Err(CliError::Argument(format!(
            "{} groups are named '{name}' ({}): give the object id{}",
            several.len(),
            several.iter().map(|g| g.object_id.as_str()).collect::<Vec<_>>().join(", "),
            if tenant.is_none() { " or --tenant" } else { "" }
        ))),
    }
}

/// Who an app role is assigned to.
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    /// The API collection of this principal's assignments.
    pub fn assignments_path(&self) -> String {
        match self {
            Principal::User(id) => format!("/admin/v1/users/{id}/app-role-assignments"),
            Principal::Group(id) => format!("/admin/v1/groups/{id}/app-role-assignments"),
        }
    }
}

/// A user (object id or UPN) or a group (object id or display name).
pub async fn principal(api: &AdminClient, name: &str, tenant: Option<&str>) -> Result<Principal, CliError> {
    if name.contains('@') {
        return Ok(Principal::User(user_id(api, name).await?));
    }
    if Uuid::parse_str(name).is_err() {
        return Ok(Principal::Group(group_id(api, name, tenant).await?));
    }
    if let Some(user) = find_user(api, name).await? {
        return Ok(Principal::User(user.object_id));
    }
    match api.get::<GroupView>(&format!("/admin/v1/groups/{name}"), &[]).await {
        Ok(group) => Ok(Principal::Group(group.object_id)),
        Err(e) if is_status(&e, StatusCode::NOT_FOUND) => {
            Err(CliError::Argument(format!("no user or group has the object id '{name}'")))
        }
        Err(e) => Err(e),
    }
}
