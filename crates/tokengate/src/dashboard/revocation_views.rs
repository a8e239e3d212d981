//! What the revocations pages show, in words: each revocation's target with the name behind it,
//! each gateway's standing against the feed, and what a revocation did at once in the store.

use std::collections::HashMap;

use tokengate_proto::admin::{NodeView, RevocationEffectsView, RevocationTargetView, RevocationView};

/// One revocation in force.
pub struct RevokedRow {
    pub version: i64,
    pub kind: &'static str,
    pub target: String,
    pub actor: String,
    pub reason: String,
    pub created_at: String,
    pub kept_until: String,
}

/// One gateway node against the feed.
pub struct GatewayRow {
    pub name: String,
    pub state: String,
    pub applied_version: i64,
    pub lag: i64,
    pub caught_up: bool,
    pub last_sync: String,
}

/// The revocations, newest first, with names where known (the target's, and who revoked: a
/// person by object id, an app by client id).
pub fn revoked_rows(rows: Vec<RevocationView>, names: &HashMap<String, String>) -> Vec<RevokedRow> {
    let named = |id: &str| match names.get(id) {
        Some(name) => format!("{name} — {id}"),
        None => id.to_owned(),
    };
    let mut out: Vec<RevokedRow> = rows
        .into_iter()
        .map(|r| {
            let (kind, target) = match &r.target {
                RevocationTargetView::Token { token_id } => ("token", token_id.clone()),
                RevocationTargetView::User { object_id, .. } => ("user", named(object_id)),
                RevocationTargetView::Client { client_id, disable_credentials } => (
                    "client",
                    format!("{}{}", named(client_id), if *disable_credentials { " (credentials deleted)" } else { "" }),
                ),
                RevocationTargetView::Key { kid } => ("key", kid.clone()),
                RevocationTargetView::Family { family_id, .. } => ("refresh-token family", family_id.clone()),
            };
            RevokedRow {
                version: r.version,
                kind,
                target,
                actor: named(&r.actor),
                reason: r.reason.unwrap_or_default(),
                created_at: r.created_at,
                kept_until: r.kept_until,
            }
        })
        .collect();
    out.sort_by_key(|r| std::cmp::Reverse(r.version));
    out
}

/// The nodes running a gateway, each against `feed_version`.
pub fn gateway_rows(nodes: &[NodeView], feed_version: i64) -> Vec<GatewayRow> {
    nodes
        .iter()
        .filter(|n| n.roles.iter().any(|r| r == "gateway"))
        .map(|n| GatewayRow {
            name: n.name.clone(),
            state: n.state.clone(),
            applied_version: n.applied_revocation_version,
            lag: n.lag,
            caught_up: n.applied_revocation_version >= feed_version,
            last_sync: n.last_sync.clone().unwrap_or_else(|| "never".into()),
        })
        .collect()
}

/// What the store did at once, in sentences (the counts that matter for the kind).
pub fn effect_lines(target: &RevocationTargetView, e: &RevocationEffectsView) -> Vec<String> {
    let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match target {
        RevocationTargetView::User { .. } => vec![
            count(e.refresh_families_revoked, "refresh-token family revoked", "refresh-token families revoked"),
            count(e.sessions_ended, "browser sign-in session ended", "browser sign-in sessions ended"),
            count(
                e.device_approvals_withdrawn,
                "pending device approval withdrawn",
                "pending device approvals withdrawn",
            ),
            count(
                e.authorization_codes_deleted,
                "unused authorization code deleted",
                "unused authorization codes deleted",
            ),
        ],
        RevocationTargetView::Client { .. } => vec![
            count(e.refresh_families_revoked, "refresh-token family revoked", "refresh-token families revoked"),
            count(
                e.authorization_codes_deleted,
                "unused authorization code deleted",
                "unused authorization codes deleted",
            ),
            count(e.credentials_deleted, "credential deleted", "credentials deleted"),
        ],
        RevocationTargetView::Key { .. } if e.signing_key_removed => {
            vec!["The signing key was removed from the issuer and its published keys (JWKS).".into()]
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revocation(version: i64, object_id: &str, actor: &str) -> RevocationView {
        RevocationView {
            version,
            target: RevocationTargetView::User { tenant_id: "t".into(), object_id: object_id.into() },
            issued_before: 0,
            actor: actor.into(),
            reason: None,
            created_at: String::new(),
            kept_until: String::new(),
        }
    }

    #[test]
    fn targets_and_the_people_who_revoked_them_are_named_where_known_newest_first() {
        let names = HashMap::from([
            ("u1".to_owned(), "Demo User (user@demo.example)".to_owned()),
            ("admin".to_owned(), "Demo Admin (admin@demo.example)".to_owned()),
        ]);
        let rows = revoked_rows(vec![revocation(1, "u1", "admin"), revocation(2, "u2", "gone-app")], &names);
        assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(rows[1].target, "Demo User (user@demo.example) — u1");
        assert_eq!(rows[1].actor, "Demo Admin (admin@demo.example) — admin");
        assert_eq!((rows[0].target.as_str(), rows[0].actor.as_str()), ("u2", "gone-app"), "unknown ids stay bare");
    }
}
