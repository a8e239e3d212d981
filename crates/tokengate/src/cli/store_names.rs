//! Objects named on the command line, for the direct-store path (`--config`/`--store`): tenants
//! by id, domain or display name; users by object id or UPN; apps and groups by GUID only (names
//! are resolved through the admin API, which the store path has not).

use tokengate_core::store::Store;
use uuid::Uuid;

use super::CliError;

pub async fn tenant(store: &dyn Store, name: &str) -> Result<Uuid, CliError> {
    let tenants = store.tenants().await?;
    let matches: Vec<Uuid> = tenants
        .iter()
        .filter(|t| {
            t.id.to_string() == name.to_ascii_lowercase()
                || t.display_name.eq_ignore_ascii_case(name)
                || t.domains.iter().any(|d| d.eq_ignore_ascii_case(name))
        })
        .map(|t| t.id)
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(CliError::Argument(format!("no tenant has the id, domain or name '{name}'"))),
        _ => Err(CliError::Argument(format!("several tenants are named '{name}': give the tenant id"))),
    }
}

/// A GUID-named object (`kind` says which, for the error).
pub fn guid(kind: &str, name: &str) -> Result<Uuid, CliError> {
    Uuid::parse_str(name).map_err(|_| {
        CliError::Argument(format!(
            "with --config/--store, name the {kind} by its GUID ('{name}' is none); names work through the admin API"
        ))
    })
}

pub async fn user(store: &dyn Store, name: &str) -> Result<Uuid, CliError> {
    let found = match Uuid::parse_str(name) {
        Ok(id) => store.user(id).await?,
        Err(_) => store.user_by_upn(name).await?,
    };
    found.map(|u| u.object_id).ok_or_else(|| CliError::Argument(format!("no user '{name}'")))
}

/// The error for a command only the admin API runs.
pub fn api_only(command: &str) -> CliError {
    CliError::Argument(format!(
        "`{command}` works through the admin API: drop --config/--store (use --dev-dir or --admin-url)"
    ))
}
