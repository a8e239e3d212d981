//! `revoke token|user|client|key|family`, `revocations list` and `nodes`: the arguments, and the
//! direct-store implementation (used with `--config`/`--store`). `--wait` returns only when every
//! live gateway node has applied the revocation.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::revocations::{
    liveness, NodeHeartbeat, NodeLiveness, Revocation, RevocationEffects, RevocationTarget,
};
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;
use uuid::Uuid;

use super::CliError;
use crate::revoke::{self, Propagation};
use crate::state::{now, now_ms};

#[derive(Subcommand)]
pub enum RevokeCommand {
    /// One access token: the token itself (its `uti` or `jti` is read, unverified) or that id.
    Token {
        /// The token itself, or its `uti`/`jti`.
        // Token ids are base64url, so one may start with `-`: it is a value here, not a flag.
        #[arg(allow_hyphen_values = true)]
        token_or_id: String,
        #[command(flatten)]
        common: RevokeArgs,
    },
    /// Every token of a user issued before now, their refresh tokens, sessions and device
    /// approvals (Entra's revokeSignInSessions). By object id or user principal name; a user of
    /// another issuer (an Entra tenant) by object id with --tenant.
    User {
        /// Object id or user principal name.
        user: String,
        /// Tenant id, for a user tokengate does not hold.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        common: RevokeArgs,
    },
    /// Every token a client app holds that was issued before now, and its refresh tokens.
    Client {
        /// The client app's client id.
        client_id: String,
        /// Also delete its secrets and certificates: it cannot get new tokens.
        #[arg(long)]
        disable_credentials: bool,
        #[command(flatten)]
        common: RevokeArgs,
    },
    /// Every token signed with a key (emergency removal: one of ours leaves the JWKS; the active
    /// key is replaced by the next one).
    Key {
        /// The key id (`kid` in the token header).
        #[arg(allow_hyphen_values = true)]
        kid: String,
        #[command(flatten)]
        common: RevokeArgs,
    },
    /// A refresh-token family and the access tokens minted for it.
    Family {
        /// The family id (in the audit records of its refresh tokens).
        family_id: Uuid,
        #[command(flatten)]
        common: RevokeArgs,
    },
}

#[derive(Args)]
pub struct RevokeArgs {
    /// Why (kept with the revocation and in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Return only when every live gateway node has applied the revocation.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits before naming the nodes that lag (seconds, 1 to 60).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout: u64,
}

#[derive(Subcommand)]
pub enum RevocationsCommand {
    /// What is revoked now: by whom, why, and until when it is kept.
    List {
        /// Same as `-o json` (kept for scripts written before `-o`).
        #[arg(long, hide = true)]
        json: bool,
    },
}

pub async fn revoke(
    store: &Arc<dyn Store>,
    kek: Option<KeyEncryptionKey>,
    command: RevokeCommand,
) -> Result<(), CliError> {
    let store = store.as_ref();
    let (row, effects, common) = match command {
        RevokeCommand::Token { token_or_id, common } => {
            let token_id = token_id_of(&token_or_id)?;
            let (row, effects) =
                revoke::revoke(store, RevocationTarget::Token { token_id }, "cli", common.reason.clone()).await?;
            (row, effects, common)
        }
        RevokeCommand::User { user, tenant, common } => {
            let target = user_target(store, &user, tenant).await?;
            let (row, effects) = revoke::revoke(store, target, "cli", common.reason.clone()).await?;
            (row, effects, common)
        }
        RevokeCommand::Client { client_id, disable_credentials, common } => {
            let target = RevocationTarget::Client { client_id: client_id.to_ascii_lowercase(), disable_credentials };
            let (row, effects) = revoke::revoke(store, target, "cli", common.reason.clone()).await?;
            (row, effects, common)
        }
        RevokeCommand::Key { kid, common } => {
            let ours = store.signing_keys().await?.iter().any(|k| k.kid == kid);
            if ours {
                // Our key: removed from the store (and replaced if active) by the key service.
                let kek = kek.as_ref().ok_or(CliError::NeedsKeyEncryptionKey)?;
                let max_age = TokenSettings::default().max_token_age();
                let row = crate::signing_keys::remove(store, kek, &kid, common.reason.clone(), max_age, now()).await?;
                let effects = RevocationEffects { signing_key_removed: true, ..Default::default() };
                (row, effects, common)
            } else {
                let (row, effects) =
                    revoke::revoke(store, RevocationTarget::Key { kid }, "cli", common.reason.clone()).await?;
                (row, effects, common)
            }
        }
        RevokeCommand::Family { family_id, common } => {
            let target = RevocationTarget::Family { family_id: family_id.to_string(), token_ids: vec![] };
            let (row, effects) = revoke::revoke(store, target, "cli", common.reason.clone()).await?;
            (row, effects, common)
        }
    };
    println!("{}", describe(&row, &effects));
    if common.wait {
        let state = revoke::wait_for_gateways(store, row.version, Duration::from_secs(common.timeout)).await?;
        println!("{}", describe_propagation(&state, row.version));
        if !state.complete() {
            return Err(CliError::NotPropagated {
                version: row.version,
                lagging: state.lagging.iter().map(|n| n.name.clone()).collect(),
            });
        }
    }
    Ok(())
}

/// The `uti` (Entra, ours) or `jti` of a compact JWS, read without verifying it (revoking an
/// unverified token only ever denies more); anything that is not a JWS is taken as the id.
pub fn token_id_of(text: &str) -> Result<String, CliError> {
    let text = text.trim();
    let mut parts = text.split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        if text.is_empty() {
            return Err(CliError::Argument("token or token id must not be empty".into()));
        }
        return Ok(text.to_owned());
    };
    let claims: serde_json::Value = tokengate_core::encoding::b64url_decode(payload)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| CliError::Argument("the token's payload is not base64url JSON".into()))?;
    ["uti", "jti"]
        .iter()
        .find_map(|c| claims.get(*c).and_then(|v| v.as_str()).filter(|v| !v.is_empty()))
        .map(str::to_owned)
        .ok_or_else(|| {
            CliError::Argument("the token has neither `uti` nor `jti`: revoke its user, client or key".into())
        })
}

/// A user of ours by object id or UPN, or another issuer's user by object id and tenant.
async fn user_target(store: &dyn Store, user: &str, tenant: Option<String>) -> Result<RevocationTarget, CliError> {
    let found = if user.contains('@') {
        store.user_by_upn(user).await?
    } else {
        match Uuid::parse_str(user) {
            Ok(id) => store.user(id).await?,
            Err(_) => {
                return Err(CliError::Argument(format!("'{user}' is neither an object id nor a user principal name")))
            }
        }
    };
    match (found, tenant) {
        (Some(u), _) => {
            Ok(RevocationTarget::User { tenant_id: u.tenant_id.to_string(), object_id: u.object_id.to_string() })
        }
        (None, Some(tenant)) if !user.contains('@') => {
            Ok(RevocationTarget::User { tenant_id: tenant.to_ascii_lowercase(), object_id: user.to_ascii_lowercase() })
        }
        (None, _) => Err(CliError::Argument(format!(
            "no user '{user}' here; to revoke another issuer's user give its object id and --tenant"
        ))),
    }
}

fn describe(row: &Revocation, effects: &RevocationEffects) -> String {
    let r = &row.revocation;
    let mut text = format!("revoked {} {} (feed version {})", r.target.kind(), r.target.subject(), row.version);
    let mut also = Vec::new();
    for (n, what) in [
        (effects.refresh_families_revoked, "refresh-token families revoked"),
        (effects.sessions_ended, "sign-in sessions ended"),
        (effects.device_codes_denied, "device approvals withdrawn"),
        (effects.codes_deleted, "authorization codes deleted"),
        (effects.credentials_deleted, "credentials deleted"),
    ] {
        if n > 0 {
            also.push(format!("{n} {what}"));
        }
    }
    if effects.signing_key_removed {
        also.push("key removed from the JWKS".into());
    }
    if let RevocationTarget::Family { token_ids, .. } = &r.target {
        also.push(format!("{} access token(s) denied", token_ids.len()));
    }
    if !also.is_empty() {
        text.push_str(&format!("; {}", also.join(", ")));
    }
    text
}

fn describe_propagation(state: &Propagation, version: i64) -> String {
    let mut lines = vec![format!(
        "{} of {} live gateway node(s) applied version {version}",
        state.applied.len(),
        state.applied.len() + state.lagging.len()
    )];
    for n in &state.lagging {
        lines.push(format!("  lagging: {} (applied {})", n.name, n.applied_revocation_version));
    }
    for n in &state.gone {
        lines.push(format!("  gone (no heartbeat, not waited on): {}", n.name));
    }
    lines.join("\n")
}

pub async fn revocations(store: &Arc<dyn Store>, command: RevocationsCommand) -> Result<(), CliError> {
    match command {
        RevocationsCommand::List { json } => {
            let read = store.revocations_after(0, now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&read.rows).unwrap_or_default());
                return Ok(());
            }
            if read.rows.is_empty() {
                println!("nothing is revoked (feed version {})", read.head);
            }
            for row in &read.rows {
                let r = &row.revocation;
                println!(
                    "{:>6}  {:<6}  {}  by {}  at {}  kept until {}{}",
                    row.version,
                    r.target.kind(),
                    r.target.subject(),
                    r.actor,
                    time_text(r.created_at_ms / 1000),
                    time_text(r.forget_after),
                    r.reason.as_deref().map(|x| format!("  reason: {x}")).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

pub async fn nodes(store: &Arc<dyn Store>, json: bool) -> Result<(), CliError> {
    let head = store.feed_head().await?;
    let nodes = store.nodes().await?;
    let now = now_ms();
    if json {
        let rows: Vec<serde_json::Value> = nodes.iter().map(|n| node_json(n, head, now)).collect();
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
        return Ok(());
    }
    if nodes.is_empty() {
        println!("no node has heartbeated into this store");
    }
    println!("feed version {head}");
    for n in &nodes {
        let state = match liveness(n, now) {
            NodeLiveness::Gone => "gone".to_owned(),
            NodeLiveness::Live if n.ready => "ready".to_owned(),
            NodeLiveness::Live => "NOT READY".to_owned(),
        };
        println!(
            "{:<28} {:<22} {:<9} lag {:>4}  last sync {}  policy {}",
            n.name,
            n.roles,
            state,
            (head - n.applied_revocation_version).max(0),
            sync_age(n, now),
            n.applied_policy_version.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn node_json(n: &NodeHeartbeat, head: i64, now: i64) -> serde_json::Value {
    serde_json::json!({
        "node_id": n.node_id,
        "name": n.name,
        "roles": n.roles,
        "state": match liveness(n, now) { NodeLiveness::Gone => "gone", NodeLiveness::Live if n.ready => "ready", NodeLiveness::Live => "not_ready" },
        "applied_revocation_version": n.applied_revocation_version,
        "lag": (head - n.applied_revocation_version).max(0),
        "applied_policy_version": n.applied_policy_version,
        "last_sync_ms": n.last_sync_ms,
        "heartbeat_at_ms": n.heartbeat_at_ms,
        "software_version": n.software_version,
    })
}

fn sync_age(n: &NodeHeartbeat, now: i64) -> String {
    if n.last_sync_ms == 0 {
        "never".into()
    } else {
        format!("{:.1}s ago", (now - n.last_sync_ms) as f64 / 1000.0)
    }
}

fn time_text(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}
