//! Delegated grants (consent): the scopes a client may ask for on a resource, for one user or for
//! the whole tenant (stored with an empty principal). Granting merges scopes, never removes one.
//! Part of `UserStore`, which `users.rs` implements.

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::DelegatedGrant;
use tokengate_core::store::{DelegatedGrantFilter, StoreResult};
use uuid::Uuid;

use super::audit::{delete_audited, write_audit};
use super::row::{uuid, SqlRow};
use super::statement::{begin, commit, query};
use super::SqlStore;

pub(super) async fn grant_delegated<S: SqlStore>(
    store: &S,
    grant: &DelegatedGrant,
    audit: &AuditEvent,
) -> StoreResult<DelegatedGrant> {
    let principal = grant.principal_id.map(|p| p.to_string()).unwrap_or_default();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Take the write lock first (SQLite), then merge scopes into any existing grant.
    query(
        "INSERT INTO delegated_grants (id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, \
         created_at) VALUES ($1, $2, $3, $4, $5, '', $6) ON CONFLICT DO NOTHING",
    )
    .bind(grant.id.to_string())
    .bind(grant.tenant_id.to_string())
    .bind(grant.client_app_id.to_string())
    .bind(grant.resource_app_id.to_string())
    .bind(&principal)
    .bind(grant.created_at)
    .execute(&mut tx)
    .await?;
    let row = query(
        "SELECT id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at FROM delegated_grants \
         WHERE tenant_id = $1 AND client_app_id = $2 AND resource_app_id = $3 AND principal_id = $4",
    )
    .bind(grant.tenant_id.to_string())
    .bind(grant.client_app_id.to_string())
    .bind(grant.resource_app_id.to_string())
    .bind(&principal)
    .fetch_one(&mut tx)
    .await?;
    let mut merged = delegated_from_row(&row)?;
    merged.scopes.extend(grant.scopes.iter().cloned());
    merged.scopes.sort();
    merged.scopes.dedup();
    query("UPDATE delegated_grants SET scopes = $1 WHERE id = $2")
        .bind(merged.scopes.join(" "))
        .bind(merged.id.to_string())
        .execute(&mut tx)
        .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(merged)
}

pub(super) async fn delegated_grants<S: SqlStore>(
    store: &S,
    tenant_id: Uuid,
    client_app_id: Uuid,
    resource_app_id: Uuid,
    user_id: Uuid,
) -> StoreResult<Vec<DelegatedGrant>> {
    query(
        "SELECT id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at FROM delegated_grants \
         WHERE tenant_id = $1 AND client_app_id = $2 AND resource_app_id = $3 \
         AND (principal_id = $4 OR principal_id = '') ORDER BY principal_id",
    )
    .bind(tenant_id.to_string())
    .bind(client_app_id.to_string())
    .bind(resource_app_id.to_string())
    .bind(user_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(delegated_from_row)
    .collect()
}

const DELEGATED_COLUMNS: &str = "id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at";

pub(super) async fn delegated_grant<S: SqlStore>(store: &S, id: Uuid) -> StoreResult<Option<DelegatedGrant>> {
    query(&format!("SELECT {DELEGATED_COLUMNS} FROM delegated_grants WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(delegated_from_row)
        .transpose()
}

pub(super) async fn find_delegated_grants<S: SqlStore>(
    store: &S,
    filter: &DelegatedGrantFilter,
) -> StoreResult<Vec<DelegatedGrant>> {
    let text = |id: Option<Uuid>| id.map(|i| i.to_string());
    query(&format!(
        "SELECT {DELEGATED_COLUMNS} FROM delegated_grants WHERE ($1 IS NULL OR tenant_id = $1) \
         AND ($2 IS NULL OR client_app_id = $2) AND ($3 IS NULL OR resource_app_id = $3) \
         AND ($4 IS NULL OR principal_id = $4) ORDER BY created_at, id"
    ))
    .bind(text(filter.tenant_id))
    .bind(text(filter.client_app_id))
    .bind(text(filter.resource_app_id))
    .bind(text(filter.user_id))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(delegated_from_row)
    .collect()
}

pub(super) async fn delete_delegated_grant<S: SqlStore>(store: &S, id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    delete_audited(store, "DELETE FROM delegated_grants WHERE id = $1", &[&id.to_string()], audit).await
}

fn delegated_from_row(row: &impl SqlRow) -> StoreResult<DelegatedGrant> {
    let principal = row.text("principal_id")?;
    Ok(DelegatedGrant {
        id: row.uuid("id")?,
        tenant_id: row.uuid("tenant_id")?,
        client_app_id: row.uuid("client_app_id")?,
        resource_app_id: row.uuid("resource_app_id")?,
        principal_id: if principal.is_empty() { None } else { Some(uuid(&principal)?) },
        scopes: row.scopes("scopes")?,
        created_at: row.read("created_at")?,
    })
}
