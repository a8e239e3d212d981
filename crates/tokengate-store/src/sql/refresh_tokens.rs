//! Refresh tokens and their families: storing and reading tokens (as hashes), revoking a whole
//! family, remembering the access tokens minted for a family (so revoking it revokes them), and
//! purging what expired. Rotation is in `refresh_token_rotation.rs`, codes in
//! `authorization_codes.rs`, how a family's revocation reaches the revocation feed in
//! `family_revocation.rs`; the `DelegatedTokenStore` impl for all of them is here.

use sqlx::Transaction;
use tokengate_core::audit::AuditEvent;
use tokengate_core::grants::client_binding::ClientBinding;
use tokengate_core::grants::token_families::{
    AuthorizationCode, CodeRedemption, MintedAccessToken, RefreshState, RefreshToken, ReusePolicy, RotationOutcome,
};
use tokengate_core::store::{DelegatedTokenStore, StoreResult};
use uuid::Uuid;

use super::audit::{with_detail, write_audit};
use super::authorization_codes::{insert_code, redeem_code};
use super::backend::Backend;
use super::family_revocation::{remember_access_token, revoke_family_onto_feed};
use super::refresh_token_rotation::rotate_refresh_token;
use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::{forward_to_sql, SqlStore};
use crate::error::parse_stored;

pub(super) const REFRESH_COLUMNS: &str = "token_hash, family_id, tenant_id, client_id, user_id, scopes, state, \
     issued_at, expires_at, rotated_at, parent_hash, session_id, client_binding";

forward_to_sql! {
    DelegatedTokenStore {
        async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()>;
        async fn redeem_code(&self, code_hash: &[u8], now: i64) -> StoreResult<CodeRedemption>;
        async fn insert_refresh_token(&self, token: &RefreshToken, audit: &AuditEvent) -> StoreResult<()>;
        async fn refresh_token(&self, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>>;
        async fn rotate_refresh_token(
            &self,
            presented_hash: &[u8],
            successor: &RefreshToken,
            minted: &MintedAccessToken,
            policy: ReusePolicy,
            now: i64,
            audit: &AuditEvent,
        ) -> StoreResult<RotationOutcome>;
        async fn revoke_family(&self, family_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<()>;
        async fn record_family_access_token(&self, family_id: Uuid, uti: &str, expires_at: i64) -> StoreResult<()>;
        async fn purge_expired_tokens(&self, now: i64) -> StoreResult<u64>;
    }
}

async fn insert_refresh_token<S: SqlStore>(store: &S, token: &RefreshToken, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    insert_refresh(&mut tx, token).await?;
    write_audit(&mut tx, audit).await?;
    commit(tx).await
}

async fn refresh_token<S: SqlStore>(store: &S, token_hash: &[u8]) -> StoreResult<Option<RefreshToken>> {
    // One statement: the token and whether its family was revoked.
    let row = query(&format!(
        "SELECT {REFRESH_COLUMNS}, (SELECT COUNT(*) FROM revoked_families f \
         WHERE f.family_id = refresh_tokens.family_id) AS family_revoked FROM refresh_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let mut token = refresh_from_row(&row)?;
    if row.read::<i64>("family_revoked")? > 0 {
        token.state = RefreshState::Revoked;
    }
    Ok(Some(token))
}

async fn revoke_family<S: SqlStore>(store: &S, family_id: Uuid, now: i64, audit: &AuditEvent) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // The issuer revokes families on reuse, operators through `revoke`: the audit record says
    // which (its source and action).
    let appended = revoke_family_onto_feed(
        &mut tx,
        &family_id.to_string(),
        now,
        audit.source.as_str(),
        Some(audit.action.clone()),
    )
    .await?;
    let mut extra = serde_json::Map::new();
    if let Some(row) = &appended {
        extra.insert("version".into(), row.version.into());
    }
    write_audit(&mut tx, &with_detail(audit, extra)).await?;
    commit(tx).await
}

async fn record_family_access_token<S: SqlStore>(
    store: &S,
    family_id: Uuid,
    uti: &str,
    expires_at: i64,
) -> StoreResult<()> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    remember_access_token(&mut tx, &family_id.to_string(), uti, expires_at).await?;
    commit(tx).await
}

async fn purge_expired_tokens<S: SqlStore>(store: &S, now: i64) -> StoreResult<u64> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    let mut deleted = 0;
    for statement in [
        "DELETE FROM authorization_codes WHERE expires_at < $1",
        // An expired refresh token is refused whatever its state; reuse detection no longer
        // needs it.
        "DELETE FROM refresh_tokens WHERE expires_at < $1",
        "DELETE FROM family_access_tokens WHERE expires_at < $1",
        "DELETE FROM device_codes WHERE expires_at < $1",
        "DELETE FROM revoked_families WHERE revoked_at < $1 \
         AND family_id NOT IN (SELECT family_id FROM refresh_tokens) \
         AND family_id NOT IN (SELECT family_id FROM family_access_tokens)",
    ] {
        deleted += query(statement).bind(now).execute(&mut tx).await?;
    }
    commit(tx).await?;
    Ok(deleted)
}

pub(super) async fn insert_refresh<DB: Backend>(tx: &mut Transaction<'_, DB>, t: &RefreshToken) -> StoreResult<()> {
    query(&format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
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
    .execute(tx)
    .await?;
    Ok(())
}

pub(super) fn refresh_from_row(row: &impl SqlRow) -> StoreResult<RefreshToken> {
    let state = row.text("state")?;
    let binding: Option<String> = row.read("client_binding")?;
    Ok(RefreshToken {
        token_hash: row.read("token_hash")?,
        family_id: row.uuid("family_id")?,
        tenant_id: row.uuid("tenant_id")?,
        client_id: row.uuid("client_id")?,
        user_id: row.uuid("user_id")?,
        scopes: row.scopes("scopes")?,
        state: parse_stored("refresh state", &state, RefreshState::parse)?,
        issued_at: row.read("issued_at")?,
        expires_at: row.read("expires_at")?,
        rotated_at: row.read("rotated_at")?,
        parent_hash: row.read("parent_hash")?,
        session_id: row.optional_uuid("session_id")?,
        client_binding: match binding.as_deref() {
            None => None,
            Some(b) => Some(parse_stored("client binding", b, ClientBinding::parse)?),
        },
    })
}
