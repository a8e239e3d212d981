//! Authorization codes: stored as hashes, redeemed at most once (a compare-and-set on
//! `redeemed_at`), kept after redemption so a replay can name the family to revoke.

use tokengate_core::directory::RedirectPlatform;
use tokengate_core::grants::token_families::{AuthorizationCode, CodeRedemption};
use tokengate_core::pkce::ChallengeMethod;
use tokengate_core::store::StoreResult;

use super::row::SqlRow;
use super::statement::{begin, commit, query};
use super::SqlStore;
use crate::error::parse_stored;

const CODE_COLUMNS: &str = "code_hash, tenant_id, client_id, user_id, redirect_uri, scopes, nonce, pkce_challenge, \
     pkce_method, auth_time, created_at, expires_at, redeemed_at, family_id, session_id, redirect_platform";

pub(super) async fn insert_code<S: SqlStore>(store: &S, c: &AuthorizationCode) -> StoreResult<()> {
    let _writer = store.writer().await;
    query(&format!(
        "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $14, $15)"
    ))
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
    .execute(store.pool())
    .await?;
    Ok(())
}

pub(super) async fn redeem_code<S: SqlStore>(store: &S, code_hash: &[u8], now: i64) -> StoreResult<CodeRedemption> {
    let _writer = store.writer().await;
    let mut tx = begin(store).await?;
    // The compare-and-set that makes redemption single-use under concurrency.
    let spent = query(
        "UPDATE authorization_codes SET redeemed_at = $1 \
         WHERE code_hash = $2 AND redeemed_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(code_hash)
    .execute(&mut tx)
    .await?;
    let row = query(&format!("SELECT {CODE_COLUMNS} FROM authorization_codes WHERE code_hash = $1"))
        .bind(code_hash)
        .fetch_optional(&mut tx)
        .await?;
    commit(tx).await?;
    let Some(row) = row else { return Ok(CodeRedemption::NotFound) };
    let (code, redeemed_at) = code_from_row(&row)?;
    Ok(if spent == 1 {
        CodeRedemption::Redeemed(Box::new(code))
    } else if redeemed_at.is_some() {
        CodeRedemption::AlreadyRedeemed(Box::new(code))
    } else {
        CodeRedemption::NotFound
    })
}

/// The code and when it was redeemed (if it was).
fn code_from_row(row: &impl SqlRow) -> StoreResult<(AuthorizationCode, Option<i64>)> {
    let method: Option<String> = row.read("pkce_method")?;
    let platform: Option<String> = row.read("redirect_platform")?;
    Ok((
        AuthorizationCode {
            code_hash: row.read("code_hash")?,
            tenant_id: row.uuid("tenant_id")?,
            client_id: row.uuid("client_id")?,
            user_id: row.uuid("user_id")?,
            redirect_uri: row.read("redirect_uri")?,
            scopes: row.scopes("scopes")?,
            nonce: row.read("nonce")?,
            pkce_challenge: row.read("pkce_challenge")?,
            pkce_method: match method.as_deref() {
                None => None,
                Some(m) => Some(parse_stored("PKCE method", m, |m| ChallengeMethod::parse(Some(m)))?),
            },
            auth_time: row.read("auth_time")?,
            created_at: row.read("created_at")?,
            expires_at: row.read("expires_at")?,
            family_id: row.optional_uuid("family_id")?,
            session_id: row.optional_uuid("session_id")?,
            redirect_platform: match platform.as_deref() {
                None => None,
                Some(p) => Some(parse_stored("redirect platform", p, parse_platform)?),
            },
        },
        row.read("redeemed_at")?,
    ))
}

/// How a redirect platform is stored.
fn platform_name(p: RedirectPlatform) -> &'static str {
    match p {
        RedirectPlatform::Web => "web",
        RedirectPlatform::Spa => "spa",
        RedirectPlatform::PublicClient => "public_client",
    }
}

fn parse_platform(s: &str) -> Option<RedirectPlatform> {
    match s {
        "web" => Some(RedirectPlatform::Web),
        "spa" => Some(RedirectPlatform::Spa),
        "public_client" => Some(RedirectPlatform::PublicClient),
        _ => None,
    }
}
