//! Objects named the way people name them: a tenant by GUID, verified domain or display name; a
//! user by object id or user principal name. Resolved through the admin API's lists, so the CLI
//! never needs the store for it.

use tokengate_proto::admin::{TenantView, UserView};
use uuid::Uuid;

use super::admin_client::AdminClient;
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
            Err(e) if super::admin_client::is_status(&e, reqwest::StatusCode::NOT_FOUND) => Ok(None),
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
