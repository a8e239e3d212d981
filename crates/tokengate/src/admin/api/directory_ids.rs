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
