//! Tenants and their domains. Domains are stored lower-case, so lookups ignore case; a domain
//! belongs to one tenant only.

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::Tenant;
use tokengate_core::store::{StoreError, StoreResult, TenantChange, TenantStore};
use uuid::Uuid;

use super::audit::write_audit;
use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    TenantStore {
        async fn insert_tenant(&self, tenant: &Tenant, audit: &AuditEvent) -> StoreResult<()>;
        async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>>;
        async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>>;
        async fn tenants(&self) -> StoreResult<Vec<Tenant>>;
        async fn update_tenant(&self, id: Uuid, change: TenantChange<'_>, audit: &AuditEvent) -> StoreResult<Tenant>;
    }
}

async fn insert_tenant<S: SqlStore>(store: &S, tenant: &Tenant, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
        .bind(tenant.id.to_string())
        .bind(&tenant.display_name)
        .bind(tenant.created_at)
        .execute(&mut tx)
        .await?;
    for domain in &tenant.domains {
        query("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)")
            .bind(domain.to_ascii_lowercase())
            .bind(tenant.id.to_string())
            .execute(&mut tx)
            .await?;
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn tenant<S: SqlStore>(store: &S, id: Uuid) -> StoreResult<Option<Tenant>> {
    load_tenant(store, &id.to_string()).await
}

async fn tenant_by_domain<S: SqlStore>(store: &S, domain: &str) -> StoreResult<Option<Tenant>> {
    let row = query("SELECT tenant_id FROM tenant_domains WHERE domain = $1")
        .bind(domain.to_ascii_lowercase())
        .fetch_optional(store.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(row) => load_tenant(store, &row.text("tenant_id")?).await,
    }
}

async fn tenants<S: SqlStore>(store: &S) -> StoreResult<Vec<Tenant>> {
    let ids: Vec<String> = query("SELECT id FROM tenants ORDER BY created_at, id")
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.read("id"))
        .collect::<StoreResult<_>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(t) = load_tenant(store, &id).await? {
            out.push(t);
        }
    }
    Ok(out)
}

async fn load_tenant<S: SqlStore>(store: &S, id: &str) -> StoreResult<Option<Tenant>> {
    let Some(row) = query("SELECT id, display_name, created_at FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(store.pool())
        .await?
    else {
        return Ok(None);
    };
    let domains: Vec<String> = query("SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain")
        .bind(id)
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| r.read("domain"))
        .collect::<StoreResult<_>>()?;
    Ok(Some(Tenant {
        id: row.uuid("id")?,
        display_name: row.read("display_name")?,
        domains,
        created_at: row.read("created_at")?,
    }))
}

/// The tenants table has no version column (and new migrations belong elsewhere): the update
/// locks the row first with a no-op write (a row lock on Postgres, the write lock on SQLite), then
/// reads, changes and writes inside that one transaction, so concurrent updates never interleave.
async fn update_tenant<S: SqlStore>(
    store: &S,
    id: Uuid,
    change: TenantChange<'_>,
    audit: &AuditEvent,
) -> StoreResult<Tenant> {
    let key = id.to_string();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let locked =
        query("UPDATE tenants SET display_name = display_name WHERE id = $1").bind(&key).execute(&mut tx).await?;
    if locked != 1 {
        return Err(StoreError::NotFound);
    }
    let row =
        query("SELECT id, display_name, created_at FROM tenants WHERE id = $1").bind(&key).fetch_one(&mut tx).await?;
    let domains: Vec<String> = query("SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain")
        .bind(&key)
        .fetch_all(&mut tx)
        .await?
        .iter()
        .map(|r| r.read("domain"))
        .collect::<StoreResult<_>>()?;
    let mut tenant = Tenant {
        id: row.uuid("id")?,
        display_name: row.read("display_name")?,
        domains,
        created_at: row.read("created_at")?,
    };
    change(&mut tenant)?;
    if tenant.id != id {
        return Err(StoreError::Invalid("the id of a tenant cannot change".into()));
    }
    tenant.domains = tenant.domains.iter().map(|d| d.to_ascii_lowercase()).collect();
    tenant.domains.sort();
    tenant.domains.dedup();
    query("UPDATE tenants SET display_name = $1 WHERE id = $2")
        .bind(&tenant.display_name)
        .bind(&key)
        .execute(&mut tx)
        .await?;
    query("DELETE FROM tenant_domains WHERE tenant_id = $1").bind(&key).execute(&mut tx).await?;
    for domain in &tenant.domains {
        query("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)")
            .bind(domain)
            .bind(&key)
            .execute(&mut tx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("the domain '{domain}' belongs to another tenant"))
                }
                other => other,
            })?;
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await?;
    Ok(tenant)
}
