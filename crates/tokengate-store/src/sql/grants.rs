//! App role grants: an application role held by a principal on a resource app (a principal
//! holds each role once).

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::AppRoleGrant;
use tokengate_core::store::{GrantStore, StoreResult};
use uuid::Uuid;

use super::audit::{delete_audited, write_audit};
use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};

const GRANTS: &str = "SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at \
     FROM app_role_grants WHERE principal_id = $1 ORDER BY created_at, id";
const GRANTS_ON_RESOURCE: &str = "SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at \
     FROM app_role_grants WHERE principal_id = $1 AND resource_app_id = $2 ORDER BY created_at, id";

forward_to_sql! {
    GrantStore {
        async fn insert_app_role_grant(&self, grant: &AppRoleGrant, audit: &AuditEvent) -> StoreResult<()>;
        async fn app_role_grants(
            &self,
            principal_id: Uuid,
            resource_app_id: Option<Uuid>,
        ) -> StoreResult<Vec<AppRoleGrant>>;
        async fn delete_app_role_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn app_role_grant(&self, id: Uuid) -> StoreResult<Option<AppRoleGrant>>;
        async fn app_role_grants_on(&self, resource_app_id: Uuid) -> StoreResult<Vec<AppRoleGrant>>;
    }
}

async fn insert_app_role_grant<S: SqlStore>(store: &S, g: &AppRoleGrant, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query(
        "INSERT INTO app_role_grants (id, tenant_id, principal_id, resource_app_id, app_role_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(g.id.to_string())
    .bind(g.tenant_id.to_string())
    .bind(g.principal_id.to_string())
    .bind(g.resource_app_id.to_string())
    .bind(g.app_role_id.to_string())
    .bind(g.created_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn app_role_grants<S: SqlStore>(
    store: &S,
    principal_id: Uuid,
    resource_app_id: Option<Uuid>,
) -> StoreResult<Vec<AppRoleGrant>> {
    let rows = match resource_app_id {
        Some(resource) => {
            query(GRANTS_ON_RESOURCE)
                .bind(principal_id.to_string())
                .bind(resource.to_string())
                .fetch_all(store.pool())
                .await?
        }
        None => query(GRANTS).bind(principal_id.to_string()).fetch_all(store.pool()).await?,
    };
    rows.iter().map(grant_from_row).collect()
}

async fn delete_app_role_grant<S: SqlStore>(store: &S, id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    delete_audited(store, "DELETE FROM app_role_grants WHERE id = $1", &[&id.to_string()], audit).await
}

fn grant_from_row(row: &impl SqlRow) -> StoreResult<AppRoleGrant> {
    Ok(AppRoleGrant {
        id: row.uuid("id")?,
        tenant_id: row.uuid("tenant_id")?,
        principal_id: row.uuid("principal_id")?,
        resource_app_id: row.uuid("resource_app_id")?,
        app_role_id: row.uuid("app_role_id")?,
        created_at: row.read("created_at")?,
    })
}

async fn app_role_grant<S: SqlStore>(store: &S, id: Uuid) -> StoreResult<Option<AppRoleGrant>> {
    query("SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at FROM app_role_grants WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(store.pool())
        .await?
        .as_ref()
        .map(grant_from_row)
        .transpose()
}

async fn app_role_grants_on<S: SqlStore>(store: &S, resource_app_id: Uuid) -> StoreResult<Vec<AppRoleGrant>> {
    query(
        "SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at FROM app_role_grants \
         WHERE resource_app_id = $1 ORDER BY created_at, id",
    )
    .bind(resource_app_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(grant_from_row)
    .collect()
}
