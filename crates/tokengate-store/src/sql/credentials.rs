//! Client credentials of an app: secrets (stored as hashes, never usable) and certificates.

use tokengate_core::audit::AuditEvent;
use tokengate_core::directory::{ClientCertificate, ClientSecret};
use tokengate_core::store::{CredentialStore, StoreResult};
use uuid::Uuid;

use super::audit::{delete_audited, write_audit};
use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};

forward_to_sql! {
    CredentialStore {
        async fn insert_secret(&self, secret: &ClientSecret, audit: &AuditEvent) -> StoreResult<()>;
        async fn secrets(&self, app_id: Uuid) -> StoreResult<Vec<ClientSecret>>;
        async fn delete_secret(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
        async fn insert_certificate(&self, cert: &ClientCertificate, audit: &AuditEvent) -> StoreResult<()>;
        async fn certificates(&self, app_id: Uuid) -> StoreResult<Vec<ClientCertificate>>;
        async fn delete_certificate(&self, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()>;
    }
}

async fn insert_secret<S: SqlStore>(store: &S, s: &ClientSecret, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query(
        "INSERT INTO client_secrets (key_id, app_id, display_name, hint, secret_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.key_id.to_string())
    .bind(s.app_id.to_string())
    .bind(&s.display_name)
    .bind(&s.hint)
    .bind(&s.secret_hash)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn secrets<S: SqlStore>(store: &S, app_id: Uuid) -> StoreResult<Vec<ClientSecret>> {
    query(
        "SELECT key_id, app_id, display_name, hint, secret_hash, created_at, expires_at FROM client_secrets \
         WHERE app_id = $1 ORDER BY created_at, key_id",
    )
    .bind(app_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(secret_from_row)
    .collect()
}

async fn delete_secret<S: SqlStore>(store: &S, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    let sql = "DELETE FROM client_secrets WHERE app_id = $1 AND key_id = $2";
    delete_audited(store, sql, &[&app_id.to_string(), &key_id.to_string()], audit).await
}

async fn insert_certificate<S: SqlStore>(store: &S, c: &ClientCertificate, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    query(
        "INSERT INTO client_certificates (key_id, app_id, display_name, der, thumbprint_sha1, thumbprint_sha256, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.key_id.to_string())
    .bind(c.app_id.to_string())
    .bind(&c.display_name)
    .bind(&c.der)
    .bind(&c.thumbprint_sha1)
    .bind(&c.thumbprint_sha256)
    .bind(c.created_at)
    .bind(c.expires_at)
    .execute(&mut tx)
    .await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn certificates<S: SqlStore>(store: &S, app_id: Uuid) -> StoreResult<Vec<ClientCertificate>> {
    query(
        "SELECT key_id, app_id, display_name, der, thumbprint_sha1, thumbprint_sha256, created_at, expires_at \
         FROM client_certificates WHERE app_id = $1 ORDER BY created_at, key_id",
    )
    .bind(app_id.to_string())
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(certificate_from_row)
    .collect()
}

async fn delete_certificate<S: SqlStore>(store: &S, app_id: Uuid, key_id: Uuid, audit: &AuditEvent) -> StoreResult<()> {
    let sql = "DELETE FROM client_certificates WHERE app_id = $1 AND key_id = $2";
    delete_audited(store, sql, &[&app_id.to_string(), &key_id.to_string()], audit).await
}

fn secret_from_row(row: &impl SqlRow) -> StoreResult<ClientSecret> {
    Ok(ClientSecret {
        key_id: row.uuid("key_id")?,
        app_id: row.uuid("app_id")?,
        display_name: row.read("display_name")?,
        hint: row.read("hint")?,
        secret_hash: row.read("secret_hash")?,
        created_at: row.read("created_at")?,
        expires_at: row.read("expires_at")?,
    })
}

fn certificate_from_row(row: &impl SqlRow) -> StoreResult<ClientCertificate> {
    Ok(ClientCertificate {
        key_id: row.uuid("key_id")?,
        app_id: row.uuid("app_id")?,
        display_name: row.read("display_name")?,
        der: row.read("der")?,
        thumbprint_sha1: row.read("thumbprint_sha1")?,
        thumbprint_sha256: row.read("thumbprint_sha256")?,
        created_at: row.read("created_at")?,
        expires_at: row.read("expires_at")?,
    })
}
