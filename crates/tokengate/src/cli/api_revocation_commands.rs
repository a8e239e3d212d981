//! `revoke ...`, `revocations list`, `nodes` and `keys list|remove` through the admin API. The
//! kill switch is `POST /admin/v1/revocations`; with `--wait` the server answers once every live
//! gateway applied it (or 504 naming the laggards, which exits non-zero here).

use std::time::Duration;

use tokengate_proto::admin::{
    KeyRotationView, NewRevocationRequest, NodeView, RevocationCreated, RevocationEffectsView, RevocationPage,
    RevocationTargetView, RevocationView, SigningKeyView,
};

use super::admin_client::AdminClient;
use super::admin_target::TargetArgs;
use super::key_commands::KeyCommand;
use super::revocation_commands::{token_id_of, RevocationsCommand, RevokeArgs, RevokeCommand};
use super::table::{emit, opt, Table};
use super::{api_session, name_resolution, CliError};

pub async fn revoke(args: &TargetArgs, command: RevokeCommand) -> Result<(), CliError> {
    let api = api_session(args).await?;
    let (target, common) = match command {
        RevokeCommand::Token { token_or_id, common } => {
            (RevocationTargetView::Token { token_id: token_id_of(&token_or_id)? }, common)
        }
        RevokeCommand::User { user, tenant, common } => (user_target(&api, &user, tenant).await?, common),
        RevokeCommand::Client { client_id, disable_credentials, common } => {
            (RevocationTargetView::Client { client_id, disable_credentials }, common)
        }
        RevokeCommand::Key { kid, common } => (RevocationTargetView::Key { kid }, common),
        RevokeCommand::Family { family_id, common } => {
            (RevocationTargetView::Family { family_id: family_id.to_string(), token_ids: vec![] }, common)
        }
    };
    let created = send(&api, target, &common).await?;
    emit(args.output, &created, |c| {
        println!("{}{}", describe(&c.revocation), describe_effects(&c.effects));
        if common.wait {
            println!("{}", describe_propagation(c));
        }
    })
}

async fn send(
    api: &AdminClient,
    target: RevocationTargetView,
    common: &RevokeArgs,
) -> Result<RevocationCreated, CliError> {
    let request = NewRevocationRequest {
        target,
        reason: common.reason.clone(),
        wait: common.wait,
        timeout_seconds: common.wait.then_some(common.timeout),
    };
    api.post_waiting("/admin/v1/revocations", &request, Duration::from_secs(common.timeout)).await
}

/// A user of ours by object id or UPN, or another issuer's user by object id and `--tenant`.
async fn user_target(api: &AdminClient, user: &str, tenant: Option<String>) -> Result<RevocationTargetView, CliError> {
    match (name_resolution::find_user(api, user).await?, tenant) {
        (Some(u), _) => Ok(RevocationTargetView::User { tenant_id: u.tenant_id, object_id: u.object_id }),
        (None, Some(tenant)) if !user.contains('@') => {
            Ok(RevocationTargetView::User { tenant_id: tenant, object_id: user.to_owned() })
        }
        (None, _) => Err(CliError::Argument(format!(
            "no user '{user}' here; to revoke another issuer's user give its object id and --tenant"
        ))),
    }
}

fn kind_and_subject(target: &RevocationTargetView) -> (&'static str, &str) {
    match target {
        RevocationTargetView::Token { token_id } => ("token", token_id),
        RevocationTargetView::User { object_id, .. } => ("user", object_id),
        RevocationTargetView::Client { client_id, .. } => ("client", client_id),
        RevocationTargetView::Key { kid } => ("key", kid),
        RevocationTargetView::Family { family_id, .. } => ("family", family_id),
    }
}

fn describe(r: &RevocationView) -> String {
    let (kind, subject) = kind_and_subject(&r.target);
    let mut text = format!("revoked {kind} {subject} (feed version {})", r.version);
    match &r.target {
        RevocationTargetView::Family { token_ids, .. } => {
            text.push_str(&format!("; {} access token(s) denied", token_ids.len()))
        }
        RevocationTargetView::Key { .. } => text.push_str("; a key of this issuer leaves the JWKS"),
        RevocationTargetView::Client { disable_credentials: true, .. } => text.push_str("; credentials deleted"),
        _ => {}
    }
    text
}

/// `; 2 refresh-token families revoked, 1 sign-in sessions ended`, or nothing.
pub fn describe_effects(e: &RevocationEffectsView) -> String {
    let also: Vec<String> = [
        (e.refresh_families_revoked, "refresh-token families revoked"),
        (e.sessions_ended, "sign-in sessions ended"),
        (e.device_approvals_withdrawn, "device approvals withdrawn"),
        (e.authorization_codes_deleted, "authorization codes deleted"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if also.is_empty() {
        String::new()
    } else {
        format!("; {}", also.join(", "))
    }
}

fn describe_propagation(c: &RevocationCreated) -> String {
    let p = &c.propagation;
    let mut lines = vec![format!(
        "{} of {} live gateway node(s) applied version {}",
        p.applied.len(),
        p.applied.len() + p.lagging.len(),
        p.version
    )];
    lines.extend(p.lagging.iter().map(|n| format!("  lagging: {n}")));
    lines.extend(p.gone.iter().map(|n| format!("  gone (no heartbeat, not waited on): {n}")));
    lines.join("\n")
}

pub async fn revocations(args: &TargetArgs, command: RevocationsCommand) -> Result<(), CliError> {
    let RevocationsCommand::List { json } = command;
    let api = api_session(args).await?;
    // Every page: what is revoked now is bounded by token lifetimes, not by history.
    let mut page: RevocationPage = api.get("/admin/v1/revocations", &[("limit", "1000".into())]).await?;
    while let Some(cursor) = page.next_cursor.take() {
        let next: RevocationPage =
            api.get("/admin/v1/revocations", &[("limit", "1000".into()), ("cursor", cursor)]).await?;
        page.items.extend(next.items);
        page.next_cursor = next.next_cursor;
        page.feed_version = next.feed_version;
    }
    emit(super::output_of(args, json), &page, |page| {
        if page.items.is_empty() {
            println!("nothing is revoked (feed version {})", page.feed_version);
            return;
        }
        let mut table = Table::new(&["VERSION", "KIND", "SUBJECT", "ACTOR", "CREATED", "KEPT UNTIL", "REASON"]);
        for r in &page.items {
            let (kind, subject) = kind_and_subject(&r.target);
            table.row(vec![
                r.version.to_string(),
                kind.to_owned(),
                subject.to_owned(),
                r.actor.clone(),
                r.created_at.clone(),
                r.kept_until.clone(),
                opt(r.reason.as_deref()),
            ]);
        }
        table.print();
    })
}

pub async fn nodes(args: &TargetArgs, json: bool) -> Result<(), CliError> {
    let nodes: Vec<NodeView> = api_session(args).await?.get("/admin/v1/nodes", &[]).await?;
    emit(super::output_of(args, json), &nodes, |nodes| {
        if nodes.is_empty() {
            println!("no node has heartbeated into this store");
            return;
        }
        let mut table =
            Table::new(&["NAME", "ROLES", "STATE", "LAG", "LAST SYNC", "LAST HEARTBEAT", "POLICY", "VERSION"]);
        for n in nodes {
            table.row(vec![
                n.name.clone(),
                n.roles.join(","),
                n.state.clone(),
                n.lag.to_string(),
                opt(n.last_sync.as_deref()),
                n.last_heartbeat.clone(),
                opt(n.applied_policy_version.as_deref()),
                n.software_version.clone(),
            ]);
        }
        table.print();
    })
}

pub async fn keys(args: &TargetArgs, command: KeyCommand) -> Result<(), CliError> {
    match command {
        KeyCommand::List => {
            let keys: Vec<SigningKeyView> = api_session(args).await?.get("/admin/v1/keys", &[]).await?;
            emit(args.output, &keys, |keys| {
                let mut table = Table::new(&["KID", "STATE", "CREATED", "PUBLISHED UNTIL"]);
                for k in keys {
                    table.row(vec![
                        k.kid.clone(),
                        k.state.clone(),
                        k.created_at.clone(),
                        opt(k.published_until.as_deref()),
                    ]);
                }
                table.print();
            })
        }
        // Emergency removal is a key revocation: the API removes one of ours from the store.
        KeyCommand::Remove { kid } => {
            let api = api_session(args).await?;
            // A typo must not become a revocation of a key nobody has: only ours are removed here.
            let keys: Vec<SigningKeyView> = api.get("/admin/v1/keys", &[]).await?;
            if !keys.iter().any(|k| k.kid == kid) {
                return Err(CliError::Argument(format!(
                    "no signing key '{kid}' (see `tokengate keys list`); another issuer's key: `tokengate revoke key`"
                )));
            }
            let common = RevokeArgs { reason: None, wait: false, timeout: 10 };
            let created = send(&api, RevocationTargetView::Key { kid: kid.clone() }, &common).await?;
            emit(args.output, &created, |c| println!("key {kid} removed (feed version {})", c.revocation.version))
        }
        KeyCommand::Rotate => {
            let rotated: KeyRotationView = api_session(args).await?.post_empty("/admin/v1/keys/rotate").await?;
            emit(args.output, &rotated, |r| {
                println!(
                    "rotated: {} is now active; running issuers pick it up within their reload period",
                    r.active_kid
                )
            })
        }
        // Recovery of a lost key-encryption key works on the store by nature (mod.rs routes it).
        KeyCommand::Reset { .. } => {
            Err(CliError::Argument("keys reset works on the store: pass --dev-dir or --config".into()))
        }
    }
}
