//! The store traits implemented once in SQL both dialects accept, expanded for each pool type.
//! Writes that carry an audit event commit it in the same transaction. Every transaction starts
//! with a write so SQLite takes its write lock up front (no deadlocking lock upgrades).

/// Rows per multi-row audit INSERT: 14 parameters each stays far below both dialects' limits.
pub(crate) const AUDIT_ROWS_PER_INSERT: usize = 128;
const AUDIT_COLUMNS: usize = 14;

/// `INSERT INTO audit_events (...) VALUES ($1..$14), ($15..$28), ...` for `rows` rows, or with
/// anonymous `?` placeholders where `positional` (SQLite: it resolves each `$n` by a linear scan of
/// the statement's parameter names, which makes binding a large statement quadratic — measured:
/// a third of the gateway's CPU before this).
pub(crate) fn multi_row_audit_insert(rows: usize, positional: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO audit_events (id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, token_id, client_ip, status, latency_us, detail) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..AUDIT_COLUMNS {
            if col > 0 {
                sql.push_str(", ");
            }
            if positional {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", row * AUDIT_COLUMNS + col + 1));
            }
        }
        sql.push(')');
    }
    sql
}

macro_rules! impl_sql_store {
    ($store:ty) => {
        use async_trait::async_trait;
        use sqlx::Row;
        use tokengate_core::audit::AuditEvent;
        use tokengate_core::directory::{
            AppRegistration, AppRoleGrant, ClientCertificate, ClientSecret, DelegatedGrant, Group, ServicePrincipal,
            Tenant, User,
        };
        use tokengate_core::keys::{KeyState, StoredSigningKey};
        use tokengate_core::store::{
            AppChange, AppStore, AuditQuery, AuditStore, CredentialStore, GrantStore, KeyRotation, ReplayStore,
            DelegatedTokenStore, DeviceCodeStore, SigningKeyStore, StoreResult, TenantStore, UseRecord, UserChange,
            UserStore,
        };
        use uuid::Uuid;

        use tokengate_core::grants::device_code::{
            DeviceAuthorization, DeviceCodeStatus, DeviceDecision, DevicePoll, MAX_POLL_INTERVAL, SLOW_DOWN_STEP,
        };

        use tokengate_core::grants::token_families::{
            AuthorizationCode, CodeRedemption, MintedAccessToken, RefreshState, RefreshToken, ReusePolicy, RotationOutcome,
        };
        use tokengate_core::grants::client_binding::ClientBinding;
        use tokengate_core::pkce::ChallengeMethod;

        use crate::rows::{parse_platform, platform_name, stored_key, uuid, AuditRow};
        use crate::sql_impl::{identifier_uri_error, multi_row_audit_insert, AUDIT_ROWS_PER_INSERT};

        const INSERT_AUDIT: &str = "INSERT INTO audit_events (id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, token_id, client_ip, status, latency_us, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

        impl $store {
            /// Waits for this process's turn to write (see `StoreDb::write_gate`).
            async fn writer(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
                match StoreDb::write_gate(self) {
                    Some(gate) => Some(gate.lock().await),
                    None => None,
                }
            }

            async fn write_audit<'c, E>(executor: E, e: &AuditEvent) -> StoreResult<()>
            where
                E: sqlx::Executor<'c, Database = <Self as StoreDb>::Db>,
            {
                sqlx::query(INSERT_AUDIT)
                    .bind(e.id.to_string())
                    .bind(e.at_ms)
                    .bind(e.source.as_str())
                    .bind(&e.action)
                    .bind(e.outcome.as_str())
                    .bind(&e.reason)
                    .bind(&e.tenant_id)
                    .bind(&e.client_id)
                    .bind(&e.subject)
                    .bind(&e.token_id)
                    .bind(&e.client_ip)
                    .bind(e.status.map(i64::from))
                    .bind(e.latency_us)
                    .bind(e.detail.to_string())
                    .execute(executor)
                    .await
                    .map_err(backend_error)?;
                Ok(())
            }

            /// Deletes what `sql` matches (all binds are text) with its audit record; `NotFound`
            /// when nothing matched.
            async fn delete_audited(&self, sql: &str, binds: &[&str], audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                let mut query = sqlx::query(sql);
                for b in binds {
                    query = query.bind(*b);
                }
                let done = query.execute(&mut *tx).await.map_err(backend_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn load_tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
                let Some(row) = sqlx::query("SELECT id, display_name, created_at FROM tenants WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?
                else {
                    return Ok(None);
                };
                let domains: Vec<String> =
                    sqlx::query("SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain")
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend_error)?
                        .iter()
                        .map(|r| r.try_get::<String, _>("domain"))
                        .collect::<Result<_, _>>()
                        .map_err(backend_error)?;
                Ok(Some(Tenant {
                    id: uuid(&row.try_get::<String, _>("id").map_err(backend_error)?)?,
                    display_name: row.try_get("display_name").map_err(backend_error)?,
                    domains,
                    created_at: row.try_get("created_at").map_err(backend_error)?,
                }))
            }

            async fn load_app_versioned(&self, app_id: Uuid) -> StoreResult<Option<(AppRegistration, i64)>> {
                let row = sqlx::query("SELECT spec, version FROM apps WHERE app_id = $1")
                    .bind(app_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                match row {
                    None => Ok(None),
                    Some(row) => {
                        let spec: String = row.try_get("spec").map_err(backend_error)?;
                        let version: i64 = row.try_get("version").map_err(backend_error)?;
                        Ok(Some((parse_app(&spec)?, version)))
                    }
                }
            }
        }

        fn parse_app(spec: &str) -> StoreResult<AppRegistration> {
            serde_json::from_str(spec).map_err(|e| StoreError::Backend(format!("corrupt app registration: {e}")))
        }

        fn app_json(app: &AppRegistration) -> StoreResult<String> {
            serde_json::to_string(app).map_err(|e| StoreError::Backend(e.to_string()))
        }

        fn secret_from_row<R: Row>(row: &R) -> StoreResult<ClientSecret>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            Ok(ClientSecret {
                key_id: uuid(&row.try_get::<String, _>("key_id").map_err(backend_error)?)?,
                app_id: uuid(&row.try_get::<String, _>("app_id").map_err(backend_error)?)?,
                display_name: row.try_get("display_name").map_err(backend_error)?,
                hint: row.try_get("hint").map_err(backend_error)?,
                secret_hash: row.try_get("secret_hash").map_err(backend_error)?,
                created_at: row.try_get("created_at").map_err(backend_error)?,
                expires_at: row.try_get("expires_at").map_err(backend_error)?,
            })
        }

        fn certificate_from_row<R: Row>(row: &R) -> StoreResult<ClientCertificate>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            Ok(ClientCertificate {
                key_id: uuid(&row.try_get::<String, _>("key_id").map_err(backend_error)?)?,
                app_id: uuid(&row.try_get::<String, _>("app_id").map_err(backend_error)?)?,
                display_name: row.try_get("display_name").map_err(backend_error)?,
                der: row.try_get("der").map_err(backend_error)?,
                thumbprint_sha1: row.try_get("thumbprint_sha1").map_err(backend_error)?,
                thumbprint_sha256: row.try_get("thumbprint_sha256").map_err(backend_error)?,
                created_at: row.try_get("created_at").map_err(backend_error)?,
                expires_at: row.try_get("expires_at").map_err(backend_error)?,
            })
        }

        fn grant_from_row<R: Row>(row: &R) -> StoreResult<AppRoleGrant>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            Ok(AppRoleGrant {
                id: id("id")?,
                tenant_id: id("tenant_id")?,
                principal_id: id("principal_id")?,
                resource_app_id: id("resource_app_id")?,
                app_role_id: id("app_role_id")?,
                created_at: row.try_get("created_at").map_err(backend_error)?,
            })
        }

        #[async_trait]
        impl TenantStore for $store {
            async fn insert_tenant(&self, tenant: &Tenant, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
                    .bind(tenant.id.to_string())
                    .bind(&tenant.display_name)
                    .bind(tenant.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                for domain in &tenant.domains {
                    sqlx::query("INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)")
                        .bind(domain.to_ascii_lowercase())
                        .bind(tenant.id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
                self.load_tenant(&id.to_string()).await
            }

            async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>> {
                let row = sqlx::query("SELECT tenant_id FROM tenant_domains WHERE domain = $1")
                    .bind(domain.to_ascii_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                match row {
                    None => Ok(None),
                    Some(row) => self.load_tenant(&row.try_get::<String, _>("tenant_id").map_err(backend_error)?).await,
                }
            }

            async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
                let ids: Vec<String> = sqlx::query("SELECT id FROM tenants ORDER BY created_at, id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|r| r.try_get::<String, _>("id"))
                    .collect::<Result<_, _>>()
                    .map_err(backend_error)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(t) = self.load_tenant(&id).await? {
                        out.push(t);
                    }
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl AppStore for $store {
            async fn insert_app(&self, app: &AppRegistration, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO apps (app_id, tenant_id, version, spec, created_at) VALUES ($1, $2, 1, $3, $4)")
                    .bind(app.app_id.to_string())
                    .bind(app.tenant_id.to_string())
                    .bind(app_json(app)?)
                    .bind(app.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                for uri in &app.identifier_uris {
                    sqlx::query("INSERT INTO app_identifier_uris (tenant_id, uri, app_id) VALUES ($1, $2, $3)")
                        .bind(app.tenant_id.to_string())
                        .bind(uri.trim_end_matches('/'))
                        .bind(app.app_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| identifier_uri_error(e, uri))?;
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn app(&self, app_id: Uuid) -> StoreResult<Option<AppRegistration>> {
                Ok(self.load_app_versioned(app_id).await?.map(|(app, _)| app))
            }

            async fn app_by_identifier_uri(&self, tenant_id: Uuid, uri: &str) -> StoreResult<Option<AppRegistration>> {
                let row = sqlx::query(
                    "SELECT u.app_id, CASE WHEN u.tenant_id = $1 THEN 0 ELSE 1 END AS rank FROM app_identifier_uris u \
                     WHERE u.uri = $2 AND (u.tenant_id = $1 OR EXISTS (SELECT 1 FROM service_principals sp WHERE sp.app_id = u.app_id AND sp.tenant_id = $1)) \
                     ORDER BY rank LIMIT 1",
                )
                .bind(tenant_id.to_string())
                .bind(uri.trim_end_matches('/'))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend_error)?;
                match row {
                    None => Ok(None),
                    Some(row) => self.app(uuid(&row.try_get::<String, _>("app_id").map_err(backend_error)?)?).await,
                }
            }

            async fn apps(&self, tenant_id: Uuid) -> StoreResult<Vec<AppRegistration>> {
                sqlx::query("SELECT spec FROM apps WHERE tenant_id = $1 ORDER BY created_at, app_id")
                    .bind(tenant_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|r| parse_app(&r.try_get::<String, _>("spec").map_err(backend_error)?))
                    .collect()
            }

            async fn update_app(&self, app_id: Uuid, change: AppChange<'_>, audit: &AuditEvent) -> StoreResult<AppRegistration> {
                // Compare-and-swap on `version`; a lost race re-reads and re-applies.
                for _attempt in 0..16 {
                    let Some((mut app, version)) = self.load_app_versioned(app_id).await? else {
                        return Err(StoreError::NotFound);
                    };
                    change(&mut app)?;
                    if app.app_id != app_id {
                        return Err(StoreError::Invalid("the client id of an app cannot change".into()));
                    }
                    let _writer = self.writer().await;
                    let mut tx = self.pool.begin().await.map_err(backend_error)?;
                    let updated = sqlx::query("UPDATE apps SET spec = $1, version = version + 1 WHERE app_id = $2 AND version = $3")
                        .bind(app_json(&app)?)
                        .bind(app_id.to_string())
                        .bind(version)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    if updated.rows_affected() != 1 {
                        tx.rollback().await.map_err(backend_error)?;
                        continue;
                    }
                    sqlx::query("DELETE FROM app_identifier_uris WHERE app_id = $1")
                        .bind(app_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    for uri in &app.identifier_uris {
                        sqlx::query("INSERT INTO app_identifier_uris (tenant_id, uri, app_id) VALUES ($1, $2, $3)")
                            .bind(app.tenant_id.to_string())
                            .bind(uri.trim_end_matches('/'))
                            .bind(app_id.to_string())
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| identifier_uri_error(e, uri))?;
                    }
                    Self::write_audit(&mut *tx, audit).await?;
                    tx.commit().await.map_err(backend_error)?;
                    return Ok(app);
                }
                Err(StoreError::Backend("app update kept losing races; try again".into()))
            }

            async fn insert_service_principal(&self, sp: &ServicePrincipal, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO service_principals (object_id, tenant_id, app_id, display_name, created_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(sp.object_id.to_string())
                    .bind(sp.tenant_id.to_string())
                    .bind(sp.app_id.to_string())
                    .bind(&sp.display_name)
                    .bind(sp.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn service_principal(&self, tenant_id: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>> {
                let row = sqlx::query("SELECT object_id, display_name, created_at FROM service_principals WHERE tenant_id = $1 AND app_id = $2")
                    .bind(tenant_id.to_string())
                    .bind(app_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                match row {
                    None => Ok(None),
                    Some(row) => Ok(Some(ServicePrincipal {
                        object_id: uuid(&row.try_get::<String, _>("object_id").map_err(backend_error)?)?,
                        tenant_id,
                        app_id,
                        display_name: row.try_get("display_name").map_err(backend_error)?,
                        created_at: row.try_get("created_at").map_err(backend_error)?,
                    })),
                }
            }
        }

        #[async_trait]
        impl CredentialStore for $store {
            async fn insert_secret(&self, s: &ClientSecret, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO client_secrets (key_id, app_id, display_name, hint, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                    .bind(s.key_id.to_string())
                    .bind(s.app_id.to_string())
                    .bind(&s.display_name)
                    .bind(&s.hint)
                    .bind(&s.secret_hash)
                    .bind(s.created_at)
                    .bind(s.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn secrets(&self, app_id: Uuid) -> StoreResult<Vec<ClientSecret>> {
                sqlx::query("SELECT key_id, app_id, display_name, hint, secret_hash, created_at, expires_at FROM client_secrets WHERE app_id = $1 ORDER BY created_at, key_id")
                    .bind(app_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(secret_from_row)
                    .collect()
            }

            async fn delete_secret(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
                self.delete_audited("DELETE FROM client_secrets WHERE app_id = $1 AND key_id = $2", &[&app_id.to_string(), &key_id.to_string()], audit).await
            }

            async fn insert_certificate(&self, c: &ClientCertificate, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO client_certificates (key_id, app_id, display_name, der, thumbprint_sha1, thumbprint_sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(c.key_id.to_string())
                    .bind(c.app_id.to_string())
                    .bind(&c.display_name)
                    .bind(&c.der)
                    .bind(&c.thumbprint_sha1)
                    .bind(&c.thumbprint_sha256)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn certificates(&self, app_id: Uuid) -> StoreResult<Vec<ClientCertificate>> {
                sqlx::query("SELECT key_id, app_id, display_name, der, thumbprint_sha1, thumbprint_sha256, created_at, expires_at FROM client_certificates WHERE app_id = $1 ORDER BY created_at, key_id")
                    .bind(app_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(certificate_from_row)
                    .collect()
            }

            async fn delete_certificate(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
                self.delete_audited("DELETE FROM client_certificates WHERE app_id = $1 AND key_id = $2", &[&app_id.to_string(), &key_id.to_string()], audit).await
            }
        }

        #[async_trait]
        impl GrantStore for $store {
            async fn insert_app_role_grant(&self, g: &AppRoleGrant, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO app_role_grants (id, tenant_id, principal_id, resource_app_id, app_role_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(g.id.to_string())
                    .bind(g.tenant_id.to_string())
                    .bind(g.principal_id.to_string())
                    .bind(g.resource_app_id.to_string())
                    .bind(g.app_role_id.to_string())
                    .bind(g.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn app_role_grants(&self, principal_id: Uuid, resource_app_id: Option<Uuid>) -> StoreResult<Vec<AppRoleGrant>> {
                let rows = match resource_app_id {
                    Some(resource) => sqlx::query("SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at FROM app_role_grants WHERE principal_id = $1 AND resource_app_id = $2 ORDER BY created_at, id")
                        .bind(principal_id.to_string())
                        .bind(resource.to_string())
                        .fetch_all(&self.pool)
                        .await,
                    None => sqlx::query("SELECT id, tenant_id, principal_id, resource_app_id, app_role_id, created_at FROM app_role_grants WHERE principal_id = $1 ORDER BY created_at, id")
                        .bind(principal_id.to_string())
                        .fetch_all(&self.pool)
                        .await,
                }
                .map_err(backend_error)?;
                rows.iter().map(grant_from_row).collect()
            }

            async fn delete_app_role_grant(&self, id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
                self.delete_audited("DELETE FROM app_role_grants WHERE id = $1", &[&id.to_string()], audit).await
            }
        }


        const USER_COLUMNS: &str = "object_id, tenant_id, upn, display_name, password_hash, enabled, version, created_at";

        fn user_from_row<R: Row>(row: &R) -> StoreResult<(User, i64)>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            Ok((
                User {
                    object_id: id("object_id")?,
                    tenant_id: id("tenant_id")?,
                    user_principal_name: row.try_get("upn").map_err(backend_error)?,
                    display_name: row.try_get("display_name").map_err(backend_error)?,
                    password_hash: row.try_get("password_hash").map_err(backend_error)?,
                    enabled: row.try_get::<i64, _>("enabled").map_err(backend_error)? != 0,
                    created_at: row.try_get("created_at").map_err(backend_error)?,
                },
                row.try_get("version").map_err(backend_error)?,
            ))
        }

        fn group_from_row<R: Row>(row: &R) -> StoreResult<Group>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            Ok(Group {
                object_id: uuid(&row.try_get::<String, _>("object_id").map_err(backend_error)?)?,
                tenant_id: uuid(&row.try_get::<String, _>("tenant_id").map_err(backend_error)?)?,
                display_name: row.try_get("display_name").map_err(backend_error)?,
                created_at: row.try_get("created_at").map_err(backend_error)?,
            })
        }

        fn delegated_from_row<R: Row>(row: &R) -> StoreResult<DelegatedGrant>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            let principal: String = row.try_get("principal_id").map_err(backend_error)?;
            let scopes: String = row.try_get("scopes").map_err(backend_error)?;
            Ok(DelegatedGrant {
                id: id("id")?,
                tenant_id: id("tenant_id")?,
                client_app_id: id("client_app_id")?,
                resource_app_id: id("resource_app_id")?,
                principal_id: if principal.is_empty() { None } else { Some(uuid(&principal)?) },
                scopes: scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                created_at: row.try_get("created_at").map_err(backend_error)?,
            })
        }

        #[async_trait]
        impl UserStore for $store {
            async fn insert_user(&self, user: &User, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO users (object_id, tenant_id, upn, display_name, password_hash, enabled, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7)")
                    .bind(user.object_id.to_string())
                    .bind(user.tenant_id.to_string())
                    .bind(user.user_principal_name.to_ascii_lowercase())
                    .bind(&user.display_name)
                    .bind(&user.password_hash)
                    .bind(i64::from(user.enabled))
                    .bind(user.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn user(&self, object_id: Uuid) -> StoreResult<Option<User>> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE object_id = $1"))
                    .bind(object_id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                row.as_ref().map(|r| user_from_row(r).map(|(u, _)| u)).transpose()
            }

            async fn user_by_upn(&self, upn: &str) -> StoreResult<Option<User>> {
                let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE upn = $1"))
                    .bind(upn.to_ascii_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                row.as_ref().map(|r| user_from_row(r).map(|(u, _)| u)).transpose()
            }

            async fn users(&self, tenant_id: Uuid) -> StoreResult<Vec<User>> {
                sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY upn"))
                    .bind(tenant_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|r| user_from_row(r).map(|(u, _)| u))
                    .collect()
            }

            async fn update_user(&self, object_id: Uuid, change: UserChange<'_>, audit: Option<&AuditEvent>) -> StoreResult<User> {
                for _attempt in 0..16 {
                    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE object_id = $1"))
                        .bind(object_id.to_string())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend_error)?;
                    let Some(row) = row else { return Err(StoreError::NotFound) };
                    let (mut user, version) = user_from_row(&row)?;
                    change(&mut user)?;
                    if user.object_id != object_id {
                        return Err(StoreError::Invalid("the object id of a user cannot change".into()));
                    }
                    let _writer = self.writer().await;
                    let mut tx = self.pool.begin().await.map_err(backend_error)?;
                    let done = sqlx::query("UPDATE users SET upn = $1, display_name = $2, password_hash = $3, enabled = $4, version = version + 1 WHERE object_id = $5 AND version = $6")
                        .bind(user.user_principal_name.to_ascii_lowercase())
                        .bind(&user.display_name)
                        .bind(&user.password_hash)
                        .bind(i64::from(user.enabled))
                        .bind(object_id.to_string())
                        .bind(version)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    if done.rows_affected() != 1 {
                        tx.rollback().await.map_err(backend_error)?;
                        continue;
                    }
                    if let Some(audit) = audit {
                        Self::write_audit(&mut *tx, audit).await?;
                    }
                    tx.commit().await.map_err(backend_error)?;
                    return Ok(user);
                }
                Err(StoreError::Backend("user update kept losing races; try again".into()))
            }

            async fn insert_group(&self, group: &Group, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO groups (object_id, tenant_id, display_name, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(group.object_id.to_string())
                    .bind(group.tenant_id.to_string())
                    .bind(&group.display_name)
                    .bind(group.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn groups(&self, tenant_id: Uuid) -> StoreResult<Vec<Group>> {
                sqlx::query("SELECT object_id, tenant_id, display_name, created_at FROM groups WHERE tenant_id = $1 ORDER BY display_name, object_id")
                    .bind(tenant_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(group_from_row)
                    .collect()
            }

            async fn add_group_member(&self, group_id: Uuid, user_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
                    .bind(group_id.to_string())
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn groups_of(&self, user_id: Uuid) -> StoreResult<Vec<Group>> {
                sqlx::query("SELECT g.object_id, g.tenant_id, g.display_name, g.created_at FROM groups g JOIN group_members m ON m.group_id = g.object_id WHERE m.user_id = $1 ORDER BY g.display_name, g.object_id")
                    .bind(user_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(group_from_row)
                    .collect()
            }

            async fn grant_delegated(&self, grant: &DelegatedGrant, audit: &AuditEvent) -> StoreResult<DelegatedGrant> {
                let principal = grant.principal_id.map(|p| p.to_string()).unwrap_or_default();
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // Take the write lock first (SQLite), then merge scopes into any existing grant.
                sqlx::query("INSERT INTO delegated_grants (id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at) VALUES ($1, $2, $3, $4, $5, '', $6) ON CONFLICT DO NOTHING")
                    .bind(grant.id.to_string())
                    .bind(grant.tenant_id.to_string())
                    .bind(grant.client_app_id.to_string())
                    .bind(grant.resource_app_id.to_string())
                    .bind(&principal)
                    .bind(grant.created_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let row = sqlx::query("SELECT id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at FROM delegated_grants WHERE tenant_id = $1 AND client_app_id = $2 AND resource_app_id = $3 AND principal_id = $4")
                    .bind(grant.tenant_id.to_string())
                    .bind(grant.client_app_id.to_string())
                    .bind(grant.resource_app_id.to_string())
                    .bind(&principal)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let mut merged = delegated_from_row(&row)?;
                merged.scopes.extend(grant.scopes.iter().cloned());
                merged.scopes.sort();
                merged.scopes.dedup();
                sqlx::query("UPDATE delegated_grants SET scopes = $1 WHERE id = $2")
                    .bind(merged.scopes.join(" "))
                    .bind(merged.id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)?;
                Ok(merged)
            }

            async fn delegated_grants(&self, tenant_id: Uuid, client_app_id: Uuid, resource_app_id: Uuid, user_id: Uuid) -> StoreResult<Vec<DelegatedGrant>> {
                sqlx::query("SELECT id, tenant_id, client_app_id, resource_app_id, principal_id, scopes, created_at FROM delegated_grants WHERE tenant_id = $1 AND client_app_id = $2 AND resource_app_id = $3 AND (principal_id = $4 OR principal_id = '') ORDER BY principal_id")
                    .bind(tenant_id.to_string())
                    .bind(client_app_id.to_string())
                    .bind(resource_app_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(delegated_from_row)
                    .collect()
            }
        }


        const CODE_COLUMNS: &str = "code_hash, tenant_id, client_id, user_id, redirect_uri, scopes, nonce, pkce_challenge, pkce_method, auth_time, created_at, expires_at, redeemed_at, family_id, session_id, redirect_platform";
        const REFRESH_COLUMNS: &str = "token_hash, family_id, tenant_id, client_id, user_id, scopes, state, issued_at, expires_at, rotated_at, parent_hash, session_id, client_binding";

        fn optional_uuid<R: Row>(row: &R, name: &str) -> StoreResult<Option<Uuid>>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let text: Option<String> = row.try_get(name).map_err(backend_error)?;
            text.as_deref().map(uuid).transpose()
        }

        fn split_scopes(text: &str) -> Vec<String> {
            text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }

        fn code_from_row<R: Row>(row: &R) -> StoreResult<(AuthorizationCode, Option<i64>)>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            let family: Option<String> = row.try_get("family_id").map_err(backend_error)?;
            let method: Option<String> = row.try_get("pkce_method").map_err(backend_error)?;
            Ok((
                AuthorizationCode {
                    code_hash: row.try_get("code_hash").map_err(backend_error)?,
                    tenant_id: id("tenant_id")?,
                    client_id: id("client_id")?,
                    user_id: id("user_id")?,
                    redirect_uri: row.try_get("redirect_uri").map_err(backend_error)?,
                    scopes: split_scopes(&row.try_get::<String, _>("scopes").map_err(backend_error)?),
                    nonce: row.try_get("nonce").map_err(backend_error)?,
                    pkce_challenge: row.try_get("pkce_challenge").map_err(backend_error)?,
                    pkce_method: match method.as_deref() {
                        None => None,
                        Some(m) => Some(ChallengeMethod::parse(Some(m)).ok_or_else(|| StoreError::Backend(format!("corrupt PKCE method {m:?}")))?),
                    },
                    auth_time: row.try_get("auth_time").map_err(backend_error)?,
                    created_at: row.try_get("created_at").map_err(backend_error)?,
                    expires_at: row.try_get("expires_at").map_err(backend_error)?,
                    family_id: family.as_deref().map(uuid).transpose()?,
                    session_id: optional_uuid(row, "session_id")?,
                    redirect_platform: match row.try_get::<Option<String>, _>("redirect_platform").map_err(backend_error)?.as_deref() {
                        None => None,
                        Some(p) => Some(parse_platform(p).ok_or_else(|| StoreError::Backend(format!("corrupt redirect platform {p:?}")))?),
                    },
                },
                row.try_get("redeemed_at").map_err(backend_error)?,
            ))
        }

        fn refresh_from_row<R: Row>(row: &R) -> StoreResult<RefreshToken>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            let state: String = row.try_get("state").map_err(backend_error)?;
            Ok(RefreshToken {
                token_hash: row.try_get("token_hash").map_err(backend_error)?,
                family_id: id("family_id")?,
                tenant_id: id("tenant_id")?,
                client_id: id("client_id")?,
                user_id: id("user_id")?,
                scopes: split_scopes(&row.try_get::<String, _>("scopes").map_err(backend_error)?),
                state: RefreshState::parse(&state).ok_or_else(|| StoreError::Backend(format!("corrupt refresh state {state:?}")))?,
                issued_at: row.try_get("issued_at").map_err(backend_error)?,
                expires_at: row.try_get("expires_at").map_err(backend_error)?,
                rotated_at: row.try_get("rotated_at").map_err(backend_error)?,
                parent_hash: row.try_get("parent_hash").map_err(backend_error)?,
                session_id: optional_uuid(row, "session_id")?,
                client_binding: match row.try_get::<Option<String>, _>("client_binding").map_err(backend_error)?.as_deref() {
                    None => None,
                    Some(b) => Some(ClientBinding::parse(b).ok_or_else(|| StoreError::Backend(format!("corrupt client binding {b:?}")))?),
                },
            })
        }

        async fn insert_refresh<'c, E>(executor: E, t: &RefreshToken) -> StoreResult<()>
        where
            E: sqlx::Executor<'c, Database = <$store as StoreDb>::Db>,
        {
            sqlx::query(&format!("INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"))
                .bind(&t.token_hash)
                .bind(t.family_id.to_string())
                .bind(t.tenant_id.to_string())
                .bind(t.client_id.to_string())
                .bind(t.user_id.to_string())
                .bind(t.scopes.join(" "))
                .bind(t.state.as_str())
                .bind(t.issued_at)
                .bind(t.expires_at)
                .bind(t.rotated_at)
                .bind(&t.parent_hash)
                .bind(t.session_id.map(|s| s.to_string()))
                .bind(t.client_binding.map(ClientBinding::as_str))
                .execute(executor)
                .await
                .map_err(backend_error)?;
            Ok(())
        }

        #[async_trait]
        impl DelegatedTokenStore for $store {
            async fn insert_code(&self, c: &AuthorizationCode) -> StoreResult<()> {
                let _writer = self.writer().await;
                sqlx::query(&format!("INSERT INTO authorization_codes ({CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15)"))
                    .bind(&c.code_hash)
                    .bind(c.tenant_id.to_string())
                    .bind(c.client_id.to_string())
                    .bind(c.user_id.to_string())
                    .bind(&c.redirect_uri)
                    .bind(c.scopes.join(" "))
                    .bind(&c.nonce)
                    .bind(&c.pkce_challenge)
                    .bind(c.pkce_method.map(|m| m.as_str()))
                    .bind(c.auth_time)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .bind(c.family_id.map(|f| f.to_string()))
                    .bind(c.session_id.map(|f| f.to_string()))
                    .bind(c.redirect_platform.map(platform_name))
                    .execute(&self.pool)
                    .await
                    .map_err(backend_error)?;
                Ok(())
            }

            async fn redeem_code(&self, code_hash: &[u8], now: i64) -> StoreResult<CodeRedemption> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // The compare-and-set that makes redemption single-use under concurrency.
                let spent = sqlx::query("UPDATE authorization_codes SET redeemed_at = $1 WHERE code_hash = $2 AND redeemed_at IS NULL AND expires_at > $1")
                    .bind(now)
                    .bind(code_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let row = sqlx::query(&format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1"))
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                tx.commit().await.map_err(backend_error)?;
                let Some(row) = row else { return Ok(CodeRedemption::NotFound) };
                let (code, redeemed_at) = code_from_row(&row)?;
                Ok(if spent.rows_affected() == 1 {
                    CodeRedemption::Redeemed(Box::new(code))
                } else if redeemed_at.is_some() {
                    CodeRedemption::AlreadyRedeemed(Box::new(code))
                } else {
                    CodeRedemption::NotFound
                })
            }

            async fn insert_refresh_token(&self, token: &RefreshToken, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                insert_refresh(&mut *tx, token).await?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
                // One statement: the token and whether its family was revoked.
                let row = sqlx::query(&format!("SELECT {REFRESH_COLUMNS}, (SELECT COUNT(*) FROM revoked_families f WHERE f.family_id = refresh_tokens.family_id) AS family_revoked FROM refresh_tokens WHERE token_hash = $1"))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                let Some(row) = row else { return Ok(None) };
                let mut token = refresh_from_row(&row)?;
                if row.try_get::<i64, _>("family_revoked").map_err(backend_error)? > 0 {
                    token.state = RefreshState::Revoked;
                }
                Ok(Some(token))
            }

            async fn rotate_refresh_token(
                &self,
                presented_hash: &[u8],
                successor: &RefreshToken,
                minted: &MintedAccessToken,
                policy: ReusePolicy,
                now: i64,
                audit: &AuditEvent,
            ) -> StoreResult<RotationOutcome> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // Write first (SQLite takes its lock here): the live token of a family that is not
                // revoked becomes rotated, and the row comes back with it — the common case costs
                // one statement. Anything else is read and judged below.
                let claimed_row = sqlx::query(&format!("UPDATE refresh_tokens SET state = 'rotated', rotated_at = $1 WHERE token_hash = $2 AND state = 'active' AND expires_at > $1 AND family_id NOT IN (SELECT family_id FROM revoked_families) RETURNING {REFRESH_COLUMNS}"))
                    .bind(now)
                    .bind(presented_hash)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let claimed = claimed_row.is_some();
                let row = match claimed_row {
                    Some(row) => Some(row),
                    None => sqlx::query(&format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1"))
                        .bind(presented_hash)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend_error)?,
                };
                let Some(row) = row else {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(RotationOutcome::Invalid);
                };
                let presented = refresh_from_row(&row)?;
                if presented.client_id != successor.client_id || presented.tenant_id != successor.tenant_id {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(RotationOutcome::Invalid);
                }
                if !claimed {
                    let family_revoked = sqlx::query("SELECT family_id FROM revoked_families WHERE family_id = $1")
                        .bind(presented.family_id.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend_error)?
                        .is_some();
                    if family_revoked || presented.state == RefreshState::Revoked || presented.expires_at <= now {
                        tx.rollback().await.map_err(backend_error)?;
                        return Ok(RotationOutcome::Invalid);
                    }
                }
                let accept = if claimed {
                    true
                } else if presented.state == RefreshState::Withdrawn {
                    // Its parent was presented again after it was issued: two parties hold the
                    // family. Reuse, whatever the policy.
                    false
                } else {
                    // Presented token was rotated before.
                    match policy {
                        ReusePolicy::EntraCompatible => true,
                        ReusePolicy::RotateAndDetect { grace_seconds } => {
                            let within_grace = presented.rotated_at.is_some_and(|t| now - t < grace_seconds);
                            // Only the immediately previous token, whose successor was never used.
                            let unused_successor = sqlx::query("SELECT token_hash FROM refresh_tokens WHERE parent_hash = $1 AND state = 'active'")
                                .bind(presented_hash)
                                .fetch_optional(&mut *tx)
                                .await
                                .map_err(backend_error)?;
                            match (within_grace, unused_successor) {
                                (true, Some(row)) => {
                                    // The client most likely lost the response: the unclaimed
                                    // successor is withdrawn, a new one issued. If it was not
                                    // lost but stolen (or this is the thief), presenting the
                                    // withdrawn successor later revokes the family.
                                    let hash: Vec<u8> = row.try_get("token_hash").map_err(backend_error)?;
                                    sqlx::query("UPDATE refresh_tokens SET state = 'withdrawn' WHERE token_hash = $1")
                                        .bind(hash)
                                        .execute(&mut *tx)
                                        .await
                                        .map_err(backend_error)?;
                                    true
                                }
                                _ => false,
                            }
                        }
                    }
                };
                if !accept {
                    // Reuse: the whole family goes, in this same transaction.
                    sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = $1")
                        .bind(presented.family_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    sqlx::query("INSERT INTO revoked_families (family_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(presented.family_id.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    let mut reuse_audit = audit.clone();
                    reuse_audit.action = "refresh_token.reuse_detected".into();
                    reuse_audit.outcome = tokengate_core::audit::Outcome::Denied;
                    Self::write_audit(&mut *tx, &reuse_audit).await?;
                    tx.commit().await.map_err(backend_error)?;
                    return Ok(RotationOutcome::ReuseDetected { family_id: presented.family_id });
                }
                let mut next = successor.clone();
                next.family_id = presented.family_id;
                next.user_id = presented.user_id;
                next.scopes = presented.scopes.clone();
                next.session_id = presented.session_id;
                next.client_binding = presented.client_binding.or(successor.client_binding);
                next.parent_hash = Some(presented_hash.to_vec());
                next.state = RefreshState::Active;
                insert_refresh(&mut *tx, &next).await?;
                sqlx::query("INSERT INTO family_access_tokens (family_id, uti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(presented.family_id.to_string())
                    .bind(&minted.uti)
                    .bind(minted.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)?;
                Ok(RotationOutcome::Rotated { presented: Box::new(presented) })
            }

            async fn revoke_family(&self, family_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                sqlx::query("INSERT INTO revoked_families (family_id, revoked_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(family_id.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                sqlx::query("UPDATE refresh_tokens SET state = 'revoked' WHERE family_id = $1")
                    .bind(family_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn record_family_access_token(&self, family_id: Uuid, uti: &str, expires_at: i64) -> StoreResult<()> {
                let _writer = self.writer().await;
                sqlx::query("INSERT INTO family_access_tokens (family_id, uti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(family_id.to_string())
                    .bind(uti)
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await
                    .map_err(backend_error)?;
                Ok(())
            }

            async fn purge_expired_tokens(&self, now: i64) -> StoreResult<u64> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                let mut deleted = 0;
                for statement in [
                    "DELETE FROM authorization_codes WHERE expires_at < $1",
                    // An expired refresh token is refused whatever its state; reuse detection
                    // no longer needs it.
                    "DELETE FROM refresh_tokens WHERE expires_at < $1",
                    "DELETE FROM family_access_tokens WHERE expires_at < $1",
                    "DELETE FROM device_codes WHERE expires_at < $1",
                    "DELETE FROM revoked_families WHERE revoked_at < $1 AND family_id NOT IN (SELECT family_id FROM refresh_tokens) AND family_id NOT IN (SELECT family_id FROM family_access_tokens)",
                ] {
                    deleted += sqlx::query(statement).bind(now).execute(&mut *tx).await.map_err(backend_error)?.rows_affected();
                }
                tx.commit().await.map_err(backend_error)?;
                Ok(deleted)
            }

            async fn revoked_access_tokens(&self, since: i64, now: i64) -> StoreResult<Vec<String>> {
                sqlx::query("SELECT a.uti FROM family_access_tokens a JOIN revoked_families f ON f.family_id = a.family_id WHERE f.revoked_at >= $1 AND a.expires_at > $2 ORDER BY a.uti")
                    .bind(since)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|r| r.try_get::<String, _>("uti").map_err(backend_error))
                    .collect()
            }
        }

        const DEVICE_COLUMNS: &str = "device_code_hash, user_code_hash, tenant_id, client_id, scopes, status, user_id, auth_time, interval, last_poll_ms, created_at, expires_at, session_id";
        /// Expired device codes are kept this long (so a late poll still hears `expired_token`),
        /// then purged a bounded slice at a time by `insert_device_code`.
        const DEVICE_CODE_PURGE_AFTER: i64 = 3600;

        fn device_from_row<R: Row>(row: &R) -> StoreResult<DeviceAuthorization>
        where
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'a> &'a str: sqlx::ColumnIndex<R>,
        {
            let id = |name: &str| -> StoreResult<Uuid> { uuid(&row.try_get::<String, _>(name).map_err(backend_error)?) };
            let status: String = row.try_get("status").map_err(backend_error)?;
            let user_id: Option<String> = row.try_get("user_id").map_err(backend_error)?;
            Ok(DeviceAuthorization {
                device_code_hash: row.try_get("device_code_hash").map_err(backend_error)?,
                user_code_hash: row.try_get("user_code_hash").map_err(backend_error)?,
                tenant_id: id("tenant_id")?,
                client_id: id("client_id")?,
                scopes: split_scopes(&row.try_get::<String, _>("scopes").map_err(backend_error)?),
                status: DeviceCodeStatus::parse(&status).ok_or_else(|| StoreError::Backend(format!("corrupt device code status {status:?}")))?,
                user_id: user_id.as_deref().map(uuid).transpose()?,
                auth_time: row.try_get("auth_time").map_err(backend_error)?,
                interval: row.try_get("interval").map_err(backend_error)?,
                last_poll_ms: row.try_get("last_poll_ms").map_err(backend_error)?,
                created_at: row.try_get("created_at").map_err(backend_error)?,
                expires_at: row.try_get("expires_at").map_err(backend_error)?,
                session_id: optional_uuid(row, "session_id")?,
            })
        }

        #[async_trait]
        impl DeviceCodeStore for $store {
            async fn insert_device_code(&self, c: &DeviceAuthorization) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // Purge a bounded slice of long-expired codes first (also frees their user codes).
                sqlx::query("DELETE FROM device_codes WHERE device_code_hash IN (SELECT device_code_hash FROM device_codes WHERE expires_at < $1 LIMIT 64)")
                    .bind(c.created_at.saturating_sub(DEVICE_CODE_PURGE_AFTER))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                // A taken device or user code hash is a unique violation: `Conflict`.
                sqlx::query(&format!("INSERT INTO device_codes ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"))
                    .bind(&c.device_code_hash)
                    .bind(&c.user_code_hash)
                    .bind(c.tenant_id.to_string())
                    .bind(c.client_id.to_string())
                    .bind(c.scopes.join(" "))
                    .bind(c.status.as_str())
                    .bind(c.user_id.map(|u| u.to_string()))
                    .bind(c.auth_time)
                    .bind(c.interval)
                    .bind(c.last_poll_ms)
                    .bind(c.created_at)
                    .bind(c.expires_at)
                    .bind(c.session_id.map(|s| s.to_string()))
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                tx.commit().await.map_err(backend_error)
            }

            async fn pending_device_code(&self, user_code_hash: &[u8], now: i64) -> StoreResult<Option<DeviceAuthorization>> {
                let row = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM device_codes WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $2"))
                    .bind(user_code_hash)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend_error)?;
                row.as_ref().map(device_from_row).transpose()
            }

            async fn decide_device_code(&self, user_code_hash: &[u8], decision: DeviceDecision, now: i64, audit: &AuditEvent) -> StoreResult<bool> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // Compare-and-set on `pending`: a user code is decided once.
                let decided = match decision {
                    DeviceDecision::Approve { user_id, auth_time, session_id } => {
                        sqlx::query("UPDATE device_codes SET status = 'approved', user_id = $1, auth_time = $2, session_id = $5 WHERE user_code_hash = $3 AND status = 'pending' AND expires_at > $4")
                            .bind(user_id.to_string())
                            .bind(auth_time)
                            .bind(user_code_hash)
                            .bind(now)
                            .bind(session_id.to_string())
                            .execute(&mut *tx)
                            .await
                    }
                    DeviceDecision::Decline { user_id } => {
                        sqlx::query("UPDATE device_codes SET status = 'declined', user_id = $1 WHERE user_code_hash = $2 AND status = 'pending' AND expires_at > $3")
                            .bind(user_id.to_string())
                            .bind(user_code_hash)
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                    }
                }
                .map_err(backend_error)?;
                if decided.rows_affected() != 1 {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(false);
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)?;
                Ok(true)
            }

            async fn poll_device_code(&self, device_code_hash: &[u8], client_id: Uuid, now_ms: i64) -> StoreResult<DevicePoll> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // Write first: this no-op update takes SQLite's write lock (and the row lock on
                // Postgres), so the read-decide-write below is serialized with concurrent polls.
                let locked = sqlx::query("UPDATE device_codes SET status = status WHERE device_code_hash = $1")
                    .bind(device_code_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let row = if locked.rows_affected() == 1 {
                    sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM device_codes WHERE device_code_hash = $1"))
                        .bind(device_code_hash)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(backend_error)?
                } else {
                    None
                };
                let Some(row) = row else {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(DevicePoll::NotFound);
                };
                let code = device_from_row(&row)?;
                // Answers that change nothing.
                let unchanged = if code.client_id != client_id {
                    Some(DevicePoll::WrongClient)
                } else if code.expires_at.saturating_mul(1000) <= now_ms {
                    Some(DevicePoll::Expired)
                } else if code.status == DeviceCodeStatus::Redeemed {
                    Some(DevicePoll::AlreadyRedeemed)
                } else {
                    None
                };
                if let Some(answer) = unchanged {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(answer);
                }
                let too_soon = code
                    .last_poll_ms
                    .is_some_and(|last| now_ms < last.saturating_add(code.interval.saturating_mul(1000)));
                if too_soon {
                    let interval = code.interval.saturating_add(SLOW_DOWN_STEP).min(MAX_POLL_INTERVAL.max(code.interval));
                    sqlx::query("UPDATE device_codes SET interval = $1, last_poll_ms = $2 WHERE device_code_hash = $3")
                        .bind(interval)
                        .bind(now_ms)
                        .bind(device_code_hash)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    tx.commit().await.map_err(backend_error)?;
                    return Ok(DevicePoll::SlowDown { interval });
                }
                // Record the poll and answer by status.
                let sql = match code.status {
                    DeviceCodeStatus::Pending | DeviceCodeStatus::Declined => "UPDATE device_codes SET last_poll_ms = $1 WHERE device_code_hash = $2",
                    // Compare-and-set on `approved`: of concurrent polls exactly one redeems.
                    DeviceCodeStatus::Approved => "UPDATE device_codes SET status = 'redeemed', last_poll_ms = $1 WHERE device_code_hash = $2 AND status = 'approved'",
                    // Answered above; kept so the match is total.
                    DeviceCodeStatus::Redeemed => {
                        tx.rollback().await.map_err(backend_error)?;
                        return Ok(DevicePoll::AlreadyRedeemed);
                    }
                };
                let recorded = sqlx::query(sql)
                    .bind(now_ms)
                    .bind(device_code_hash)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                if recorded.rows_affected() != 1 {
                    tx.rollback().await.map_err(backend_error)?;
                    return Ok(DevicePoll::AlreadyRedeemed);
                }
                tx.commit().await.map_err(backend_error)?;
                Ok(match code.status {
                    DeviceCodeStatus::Pending => DevicePoll::Pending,
                    DeviceCodeStatus::Declined => DevicePoll::Declined,
                    DeviceCodeStatus::Approved => DevicePoll::Approved(Box::new(code)),
                    DeviceCodeStatus::Redeemed => DevicePoll::AlreadyRedeemed,
                })
            }
        }

        #[async_trait]
        impl SigningKeyStore for $store {
            async fn insert_signing_key(&self, key: &StoredSigningKey, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                insert_key(&mut *tx, key).await?;
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
                sqlx::query("SELECT kid, state, sealed_private_key, cert_der, created_at, retire_after FROM signing_keys ORDER BY created_at, kid")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend_error)?
                    .iter()
                    .map(|r| {
                        stored_key(
                            r.try_get("kid").map_err(backend_error)?,
                            r.try_get("state").map_err(backend_error)?,
                            r.try_get("sealed_private_key").map_err(backend_error)?,
                            r.try_get("cert_der").map_err(backend_error)?,
                            r.try_get("created_at").map_err(backend_error)?,
                            r.try_get("retire_after").map_err(backend_error)?,
                        )
                    })
                    .collect()
            }

            async fn rotate_signing_keys(&self, rotation: &KeyRotation, audit: &AuditEvent) -> StoreResult<()> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                for kid in &rotation.retire {
                    sqlx::query("UPDATE signing_keys SET state = $1, retire_after = $2 WHERE kid = $3")
                        .bind(KeyState::Retired.as_str())
                        .bind(rotation.retire_after)
                        .bind(kid)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                }
                if let Some(kid) = &rotation.promote {
                    let done = sqlx::query("UPDATE signing_keys SET state = $1 WHERE kid = $2 AND state = $3")
                        .bind(KeyState::Active.as_str())
                        .bind(kid)
                        .bind(KeyState::Next.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict(format!("key {kid} is not the next key")));
                    }
                }
                if let Some(key) = &rotation.new_active {
                    insert_key(&mut *tx, key).await?;
                }
                for kid in &rotation.drop {
                    sqlx::query("DELETE FROM signing_keys WHERE kid = $1 AND state = $2")
                        .bind(kid)
                        .bind(KeyState::Retired.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                }
                if let Some(key) = &rotation.new_next {
                    insert_key(&mut *tx, key).await?;
                }
                Self::write_audit(&mut *tx, audit).await?;
                tx.commit().await.map_err(backend_error)
            }

            async fn delete_signing_key(&self, kid: &str, audit: &AuditEvent) -> StoreResult<()> {
                self.delete_audited("DELETE FROM signing_keys WHERE kid = $1", &[kid], audit).await
            }
        }

        async fn insert_key<'c, E>(executor: E, key: &StoredSigningKey) -> StoreResult<()>
        where
            E: sqlx::Executor<'c, Database = <$store as StoreDb>::Db>,
        {
            sqlx::query("INSERT INTO signing_keys (kid, state, sealed_private_key, cert_der, created_at, retire_after) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&key.kid)
                .bind(key.state.as_str())
                .bind(&key.sealed_private_key)
                .bind(&key.cert_der)
                .bind(key.created_at)
                .bind(key.retire_after)
                .execute(executor)
                .await
                .map_err(backend_error)?;
            Ok(())
        }

        #[async_trait]
        impl ReplayStore for $store {
            async fn record_use(&self, namespace: &str, id: &str, fingerprint: &[u8], expires_at: i64, now: i64) -> StoreResult<UseRecord> {
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                // An expired record of the same id no longer blocks it.
                sqlx::query("DELETE FROM replay_ids WHERE namespace = $1 AND id = $2 AND expires_at <= $3")
                    .bind(namespace)
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let inserted = sqlx::query("INSERT INTO replay_ids (namespace, id, fingerprint, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                    .bind(namespace)
                    .bind(id)
                    .bind(fingerprint)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                let outcome = if inserted.rows_affected() == 1 {
                    UseRecord::First
                } else {
                    let row = sqlx::query("SELECT fingerprint FROM replay_ids WHERE namespace = $1 AND id = $2")
                        .bind(namespace)
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(backend_error)?;
                    let stored: Vec<u8> = row.try_get("fingerprint").map_err(backend_error)?;
                    if stored == fingerprint { UseRecord::Repeated } else { UseRecord::Conflicting }
                };
                // Purge a bounded slice of expired records so the table cannot grow forever.
                sqlx::query("DELETE FROM replay_ids WHERE expires_at < $1 AND id IN (SELECT id FROM replay_ids WHERE expires_at < $1 LIMIT 64)")
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend_error)?;
                tx.commit().await.map_err(backend_error)?;
                Ok(outcome)
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
                if events.is_empty() {
                    return Ok(());
                }
                // Multi-row INSERTs: one statement per chunk instead of one per record (each
                // statement is a hand-off to the driver; the gateway writes one record per request).
                let _writer = self.writer().await;
                let mut tx = self.pool.begin().await.map_err(backend_error)?;
                for chunk in events.chunks(AUDIT_ROWS_PER_INSERT) {
                    let sql = multi_row_audit_insert(chunk.len(), <$store as StoreDb>::POSITIONAL_PARAMETERS);
                    let mut query = sqlx::query(&sql);
                    for e in chunk {
                        query = query
                            .bind(e.id.to_string())
                            .bind(e.at_ms)
                            .bind(e.source.as_str())
                            .bind(&e.action)
                            .bind(e.outcome.as_str())
                            .bind(&e.reason)
                            .bind(&e.tenant_id)
                            .bind(&e.client_id)
                            .bind(&e.subject)
                            .bind(&e.token_id)
                            .bind(&e.client_ip)
                            .bind(e.status.map(i64::from))
                            .bind(e.latency_us)
                            .bind(e.detail.to_string());
                    }
                    query.execute(&mut *tx).await.map_err(backend_error)?;
                }
                tx.commit().await.map_err(backend_error)
            }

            async fn prune_audit(&self, before_ms: i64) -> StoreResult<u64> {
                let _writer = self.writer().await;
                let done = sqlx::query("DELETE FROM audit_events WHERE at_ms < $1")
                    .bind(before_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(backend_error)?;
                Ok(done.rows_affected())
            }

            async fn audit_events(&self, q: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
                let limit = i64::from(q.limit.clamp(1, 10_000));
                let rows = sqlx::query(
                    "SELECT id, at_ms, source, action, outcome, reason, tenant_id, client_id, subject, token_id, client_ip, status, latency_us, detail \
                     FROM audit_events WHERE ($1 IS NULL OR source = $1) AND ($2 IS NULL OR action = $2) ORDER BY seq DESC LIMIT $3",
                )
                .bind(q.source.map(|s| s.as_str()))
                .bind(q.action.as_deref())
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend_error)?;
                rows.iter()
                    .map(|r| {
                        AuditRow {
                            id: r.try_get("id").map_err(backend_error)?,
                            at_ms: r.try_get("at_ms").map_err(backend_error)?,
                            source: r.try_get("source").map_err(backend_error)?,
                            action: r.try_get("action").map_err(backend_error)?,
                            outcome: r.try_get("outcome").map_err(backend_error)?,
                            reason: r.try_get("reason").map_err(backend_error)?,
                            tenant_id: r.try_get("tenant_id").map_err(backend_error)?,
                            client_id: r.try_get("client_id").map_err(backend_error)?,
                            subject: r.try_get("subject").map_err(backend_error)?,
                            token_id: r.try_get("token_id").map_err(backend_error)?,
                            client_ip: r.try_get("client_ip").map_err(backend_error)?,
                            status: r.try_get("status").map_err(backend_error)?,
                            latency_us: r.try_get("latency_us").map_err(backend_error)?,
                            detail: r.try_get("detail").map_err(backend_error)?,
                        }
                        .into_event()
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_sql_store;

/// An App ID URI already taken (by any app of any tenant: they are unique across the store) is a
/// `Conflict` that names it.
pub(crate) fn identifier_uri_error(e: sqlx::Error, uri: &str) -> tokengate_core::store::StoreError {
    match crate::backend_error(e) {
        tokengate_core::store::StoreError::Conflict(_) => tokengate_core::store::StoreError::Conflict(format!(
            "the App ID URI '{uri}' is already used by another app (App ID URIs are unique across all tenants)"
        )),
        other => other,
    }
}

/// Names the sqlx database type behind each store, for executor bounds inside the macro.
pub(crate) trait StoreDb {
    type Db: sqlx::Database;
    /// Use `?` rather than `$n` in large generated statements.
    const POSITIONAL_PARAMETERS: bool;

    /// Held around every write. SQLite has one writer at a time; without this, concurrent
    /// writers collide on the database lock and sleep in SQLite's busy handler (1, 2, 5, 10 ms…),
    /// which under load costs far more than waiting in line. Postgres has row locks: no gate.
    fn write_gate(&self) -> Option<&tokio::sync::Mutex<()>>;
}

impl StoreDb for crate::SqliteStore {
    type Db = sqlx::Sqlite;
    const POSITIONAL_PARAMETERS: bool = true;

    fn write_gate(&self) -> Option<&tokio::sync::Mutex<()>> {
        Some(&self.write_gate)
    }
}

impl StoreDb for crate::PgStore {
    type Db = sqlx::Postgres;
    const POSITIONAL_PARAMETERS: bool = false;

    fn write_gate(&self) -> Option<&tokio::sync::Mutex<()>> {
        None
    }
}
