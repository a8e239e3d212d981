//! App registrations (stored as JSON with a version for compare-and-swap updates), their App ID
//! URIs (unique across all tenants, stored without a trailing slash) and service principals.

use sqlx::Transaction;
use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::{AppRegistration, ServicePrincipal};
use tokengate_core::store::{AppChange, AppStore, StoreError, StoreResult};
use uuid::Uuid;

use super::audit::write_audit;
use super::backend::Backend;
use super::row::SqlRow;
use super::statement::{begin, commit, query, rollback};
use super::{forward_to_sql, SqlStore};
use crate::error::corrupt;

forward_to_sql! {
    AppStore {
        async fn insert_app(&self, app: &AppRegistration, audit: &AuditEvent) -> StoreResult<()>;
        async fn app(&self, app_id: Uuid) -> StoreResult<Option<AppRegistration>>;
        async fn app_by_identifier_uri(&self, tenant_id: Uuid, uri: &str) -> StoreResult<Option<AppRegistration>>;
        async fn apps(&self, tenant_id: Uuid) -> StoreResult<Vec<AppRegistration>>;
        async fn update_app(
            &self,
            app_id: Uuid,
            change: AppChange<'_>,
            audit: &AuditEvent,
        ) -> StoreResult<AppRegistration>;
        async fn insert_service_principal(&self, sp: &ServicePrincipal, audit: &AuditEvent) -> StoreResult<()>;
        async fn service_principal(&self, tenant_id: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>>;
        async fn service_principals(&self, app_id: Uuid) -> StoreResult<Vec<ServicePrincipal>>;
        async fn delete_app(&self, app_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    }
}

async fn insert_app<S: SqlStore>(store: &S, app: &AppRegistration, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query("INSERT INTO apps (app_id, tenant_id, version, spec, created_at) VALUES ($1, $2, 1, $3, $4)")
        .bind(app.app_id.to_string())
        .bind(app.tenant_id.to_string())
        .bind(app_json(app)?)
        .bind(app.created_at)
        .execute(&mut tx)
        .await?;
    insert_identifier_uris(&mut tx, app).await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn app<S: SqlStore>(store: &S, app_id: Uuid) -> StoreResult<Option<AppRegistration>> {
    Ok(load_app_versioned(store, app_id).await?.map(|(app, _)| app))
}

async fn app_by_identifier_uri<S: SqlStore>(
    store: &S,
    tenant_id: Uuid,
    uri: &str,
) -> StoreResult<Option<AppRegistration>> {
    let row = query(
        "SELECT u.app_id, CASE WHEN u.tenant_id = $1 THEN 0 ELSE 1 END AS rank FROM app_identifier_uris u \
         WHERE u.uri = $2 AND (u.tenant_id = $1 OR EXISTS (SELECT 1 FROM service_principals sp \
         WHERE sp.app_id = u.app_id AND sp.tenant_id = $1)) \
         ORDER BY rank LIMIT 1",
    )
    .bind(tenant_id.to_string())
    .bind(uri.trim_end_matches('/'))
    .fetch_optional(store.pool())
    .await?;
    match row {
        None => Ok(None),
        Some(row) => app(store, row.uuid("app_id")?).await,
    }
}

async fn apps<S: SqlStore>(store: &S, tenant_id: Uuid) -> StoreResult<Vec<AppRegistration>> {
    query("SELECT spec FROM apps WHERE tenant_id = $1 ORDER BY created_at, app_id")
        .bind(tenant_id.to_string())
        .fetch_all(store.pool())
        .await?
        .iter()
        .map(|r| parse_app(&r.text("spec")?))
        .collect()
}

async fn update_app<S: SqlStore>(
    store: &S,
    app_id: Uuid,
    change: AppChange<'_>,
    audit: &AuditEvent,
) -> StoreResult<AppRegistration> {
    // Compare-and-swap on `version`; a lost race re-reads and re-applies.
    for _attempt in 0..16 {
        let Some((mut app, version)) = load_app_versioned(store, app_id).await? else {
            return Err(StoreError::NotFound);
        };
        change(&mut app)?;
        if app.app_id != app_id {
            return Err(StoreError::Invalid("the client id of an app cannot change".into()));
        }
        let _writer = store.writer().await;
        let mut tx = begin(store).await?;
        let updated = query("UPDATE apps SET spec = $1, version = version + 1 WHERE app_id = $2 AND version = $3")
            .bind(app_json(&app)?)
            .bind(app_id.to_string())
            .bind(version)
            .execute(&mut tx)
            .await?;
        if updated != 1 {
            rollback(tx).await?;
            continue;
        }
        query("DELETE FROM app_identifier_uris WHERE app_id = $1").bind(app_id.to_string()).execute(&mut tx).await?;
        insert_identifier_uris(&mut tx, &app).await?;
        write_audit(&mut tx, audit).await?;
        commit(tx).await?;
        return Ok(app);
    }
    Err(StoreError::Backend("app update kept losing races; try again".into()))
}

async fn insert_service_principal<S: SqlStore>(
    store: &S,
    sp: &ServicePrincipal,
    audit: &AuditEvent,
) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query(
        "INSERT INTO service_principals (object_id, tenant_id, app_id, display_name, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sp.object_id.to_string())
    .bind(sp.tenant_id.to_string())
    .bind(sp.app_id.to_string())
    .bind(&sp.display_name)
    .bind(sp.created_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn service_principal<S: SqlStore>(
    store: &S,
    tenant_id: Uuid,
    app_id: Uuid,
) -> StoreResult<Option<ServicePrincipal>> {
    let row = query(
        "SELECT object_id, display_name, created_at FROM service_principals WHERE tenant_id = $1 AND app_id = $2",
    )
    .bind(tenant_id.to_string())
    .bind(app_id.to_string())
    .fetch_optional(store.pool())
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(ServicePrincipal {
            object_id: row.uuid("object_id")?,
            tenant_id,
            app_id,
            display_name: row.read("display_name")?,
            created_at: row.read("created_at")?,
        })),
    }
}

/// Inserts the App ID URIs of `app`. One already taken (by any app of any tenant: they are unique
/// across the store) is a `Conflict` that names it.
async fn insert_identifier_uris<DB: Backend>(tx: &mut Transaction<'_, DB>, app: &AppRegistration) -> StoreResult<()> {
    for uri in &app.identifier_uris {
        query("INSERT INTO app_identifier_uris (tenant_id, uri, app_id) VALUES ($1, $2, $3)")
            .bind(app.tenant_id.to_string())
            .bind(uri.trim_end_matches('/'))
            .bind(app.app_id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "the App ID URI '{uri}' is already used by another app (App ID URIs are unique across all tenants)"
                )),
                other => other,
            })?;
    }
    Ok(())
}

async fn load_app_versioned<S: SqlStore>(store: &S, app_id: Uuid) -> StoreResult<Option<(AppRegistration, i64)>> {
    let row = query("SELECT spec, version FROM apps WHERE app_id = $1")
        .bind(app_id.to_string())
        .fetch_optional(store.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let spec: String = row.read("spec")?;
            let version: i64 = row.read("version")?;
            Ok(Some((parse_app(&spec)?, version)))
        }
    }
}

fn parse_app(spec: &str) -> StoreResult<AppRegistration> {
    serde_json::from_str(spec).map_err(|e| corrupt(format_args!("app registration: {e}")))
}

fn app_json(app: &AppRegistration) -> StoreResult<String> {
    serde_json::to_string(app).map_err(|e| StoreError::Backend(e.to_string()))
}

async fn service_principals<S: SqlStore>(store: &S, app_id: Uuid) -> StoreResult<Vec<ServicePrincipal>> {
    query(
        "SELECT object_id, tenant_id, display_name, created_at FROM service_principals WHERE app_id = $1 \
         ORDER BY created_at, object_id",
    )
    .bind(app_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|row| {
        Ok(ServicePrincipal {
            object_id: row.uuid("object_id")?,
            tenant_id: row.uuid("tenant_id")?,
            app_id,
            display_name: row.read("display_name")?,
            created_at: row.read("created_at")?,
        })
    })
    .collect()
}

async fn delete_app<S: SqlStore>(store: &S, app_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    let key = app_id.to_string();
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // Rows that name the app without a foreign key go first; the cascade takes the rest (App ID
    // URIs, service principals, secrets, certificates, grants on its roles).
    query(
        "DELETE FROM app_role_grants WHERE principal_id IN \
         (SELECT object_id FROM service_principals WHERE app_id = $1)",
    )
    .bind(&key)
    .execute(&mut tx)
    .await?;
    query("DELETE FROM delegated_grants WHERE client_app_id = $1 OR resource_app_id = $1")
        .bind(&key)
        .execute(&mut tx)
        .await?;
    let deleted = query("DELETE FROM apps WHERE app_id = $1").bind(&key).execute(&mut tx).await?;
    if deleted != 1 {
        rollback(tx).await?;
        return Err(StoreError::NotFound);
    }
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}
