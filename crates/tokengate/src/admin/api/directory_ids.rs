//! Object ids of the directory endpoints: a path id that is no GUID names no object (404, as an
//! unknown one), a body id that is no GUID is input to fix (400).

use tokengate_core::store::Store;
use uuid::Uuid;

use super::api_problem::ApiProblem;

/// `what` names the object in the problem, e.g. `app`.
pub fn path_id(what: &str, id: &str) -> Result<Uuid, ApiProblem> {
    Uuid::parse_str(id).map_err(|_| ApiProblem::not_found(format!("{what} {id} not found")))
}

/// `field` names the body field to fix, e.g. `client_app_id`.
pub fn body_id(field: &str, id: &str) -> Result<Uuid, ApiProblem> {
    Uuid::parse_str(id.trim()).map_err(|_| ApiProblem::bad_request(format!("{field} must be a GUID, not '{id}'")))
}

/// The tenant a path names, if it exists (404 otherwise).
pub async fn existing_tenant(store: &dyn Store, id: &str) -> Result<Uuid, ApiProblem> {
    let tenant = path_id("tenant", id)?;
    match store.tenant(tenant).await? {
        Some(_) => Ok(tenant),
        None => Err(ApiProblem::not_found(format!("tenant {id} not found"))),
    }
}

/// The user a path names: by object id or by user principal name (404 when absent).
pub async fn existing_user(store: &dyn Store, id: &str) -> Result<tokengate_core::directory::User, ApiProblem> {
    let found = match Uuid::parse_str(id) {
        Ok(object_id) => store.user(object_id).await?,
        Err(_) if id.contains('@') => store.user_by_upn(id.trim()).await?,
        Err(_) => None,
    };
    found.ok_or_else(|| ApiProblem::not_found(format!("user {id} not found")))
}

/// A tenant named by GUID or by one of its verified domains (404 when absent).
pub async fn tenant_named(store: &dyn Store, id: &str) -> Result<tokengate_core::directory::Tenant, ApiProblem> {
    let found = match Uuid::parse_str(id.trim()) {
        Ok(tenant) => store.tenant(tenant).await?,
        Err(_) => store.tenant_by_domain(id.trim()).await?,
    };
    found.ok_or_else(|| ApiProblem::not_found(format!("tenant {id} not found")))
}

/// The app a path names, if it exists (404 otherwise).
pub async fn existing_app(
    store: &dyn Store,
    id: &str,
) -> Result<tokengate_core::directory::AppRegistration, ApiProblem> {
    let app_id = path_id("app", id)?;
    store.app(app_id).await?.ok_or_else(|| ApiProblem::not_found(format!("app {id} not found")))
}

/// The group a path names, if it exists (404 otherwise).
pub async fn existing_group(store: &dyn Store, id: &str) -> Result<tokengate_core::directory::Group, ApiProblem> {
    let group_id = path_id("group", id)?;
    store.group(group_id).await?.ok_or_else(|| ApiProblem::not_found(format!("group {id} not found")))
}
