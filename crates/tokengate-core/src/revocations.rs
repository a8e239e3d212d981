//! The kill switch's stored model: every revocation is an append-only row on one feed, numbered
//! by a monotonic version that every node applies in order (see `store::RevocationStore`), and
//! the node heartbeats that tell an operator which nodes have applied which version.

use serde::{Deserialize, Serialize};

use crate::UnixTime;

/// How long after a user, client or key revocation its row is kept: every access token it can
/// cover was issued before the revocation, and no issuer we trust mints access tokens that live
/// longer than this (Entra's CAE tokens live up to 28 hours).
pub const MAX_ACCESS_TOKEN_LIFETIME: i64 = 30 * 3600;

/// What one revocation covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevocationTarget {
    /// One access token, by its `uti` (Entra, ours) or `jti` (other issuers).
    Token { token_id: String },
    /// Every token of a user issued before the revocation: access tokens (by `tid` + `oid`),
    /// refresh-token families, browser sessions, pending device approvals and codes.
    User { tenant_id: String, object_id: String },
    /// Every token a client app holds that was issued before the revocation (by `azp`/`appid`),
    /// and its refresh-token families; `disable_credentials` also deletes its secrets and
    /// certificates in the same transaction.
    Client { client_id: String, disable_credentials: bool },
    /// Every token signed with this key (`kid`); one of ours also leaves the JWKS.
    Key { kid: String },
    /// A refresh-token family (theft detected, code reused, or an operator): the family's
    /// refresh tokens and the access tokens minted for it (`token_ids`, their `uti`s).
    Family { family_id: String, token_ids: Vec<String> },
}

impl RevocationTarget {
    pub fn kind(&self) -> &'static str {
        match self {
            RevocationTarget::Token { .. } => "token",
            RevocationTarget::User { .. } => "user",
            RevocationTarget::Client { .. } => "client",
            RevocationTarget::Key { .. } => "key",
            RevocationTarget::Family { .. } => "family",
        }
    }

    /// The identifier the revocation names, for listings and audit records.
    pub fn subject(&self) -> &str {
        match self {
            RevocationTarget::Token { token_id } => token_id,
            RevocationTarget::User { object_id, .. } => object_id,
            RevocationTarget::Client { client_id, .. } => client_id,
            RevocationTarget::Key { kid } => kid,
            RevocationTarget::Family { family_id, .. } => family_id,
        }
    }
}

/// A revocation about to be written; the store assigns its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRevocation {
    pub target: RevocationTarget,
    /// Tokens issued (`iat`) before this second are covered (user and client kinds; the others
    /// cover every token they name). Rounded up from the revocation's moment: a token issued in
    /// the same second cannot be told apart and is refused (fail closed).
    pub issued_before: UnixTime,
    /// Who revoked: `cli`, an admin's `oid`, `reuse-detection`, a client id (RFC 7009).
    pub actor: String,
    pub reason: Option<String>,
    pub created_at_ms: i64,
    /// When every token it covers has expired: the row can be forgotten after this.
    pub forget_after: UnixTime,
}

impl NewRevocation {
    /// A revocation made at `now_ms` that covers tokens issued up to and including that second,
    /// kept as long as such a token can live.
    pub fn at(target: RevocationTarget, actor: impl Into<String>, reason: Option<String>, now_ms: i64) -> Self {
        let issued_before = now_ms.div_euclid(1000) + 1;
        NewRevocation {
            target,
            issued_before,
            actor: actor.into(),
            reason,
            created_at_ms: now_ms,
            forget_after: issued_before + MAX_ACCESS_TOKEN_LIFETIME,
        }
    }
}

/// A stored revocation: the feed's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Position on the feed: strictly increasing, assigned at commit order (a reader that has
    /// seen version N has seen every version below it).
    pub version: i64,
    #[serde(flatten)]
    pub revocation: NewRevocation,
}

/// What the store did beyond writing the row, for the operator and the audit record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationEffects {
    pub refresh_families_revoked: u64,
    pub sessions_ended: u64,
    pub device_codes_denied: u64,
    pub codes_deleted: u64,
    pub credentials_deleted: u64,
    pub signing_key_removed: bool,
}

/// A node's heartbeat: what it runs and how far it has applied the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeHeartbeat {
    pub node_id: String,
    /// `host:pid`, for people.
    pub name: String,
    /// `issuer`, `gateway`, `admin`, comma-separated.
    pub roles: String,
    /// tokengate's version.
    pub software_version: String,
    pub started_at_ms: i64,
    pub heartbeat_at_ms: i64,
    /// The highest feed version this node has applied (every version up to it).
    pub applied_revocation_version: i64,
    pub applied_policy_version: Option<String>,
    /// When the node last read the feed successfully (0: never).
    pub last_sync_ms: i64,
    /// Serving protected routes (synced and fresh).
    pub ready: bool,
}

impl NodeHeartbeat {
    pub fn runs(&self, role: &str) -> bool {
        self.roles.split(',').any(|r| r == role)
    }
}

/// A node whose heartbeat is older than this is reported gone and never waited on.
pub const NODE_GONE_AFTER_MS: i64 = 10_000;

/// What a node is, seen from `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeLiveness {
    Live,
    Gone,
}

pub fn liveness(node: &NodeHeartbeat, now_ms: i64) -> NodeLiveness {
    if now_ms - node.heartbeat_at_ms > NODE_GONE_AFTER_MS {
        NodeLiveness::Gone
    } else {
        NodeLiveness::Live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_covers_its_whole_second_and_lives_as_long_as_a_token() {
        let r = NewRevocation::at(RevocationTarget::Key { kid: "k".into() }, "cli", None, 1_700_000_000_250);
        assert_eq!(r.issued_before, 1_700_000_001, "a token issued in the same second is covered");
        assert_eq!(r.forget_after, 1_700_000_001 + MAX_ACCESS_TOKEN_LIFETIME);
        let exact = NewRevocation::at(RevocationTarget::Key { kid: "k".into() }, "cli", None, 1_700_000_000_000);
        assert_eq!(exact.issued_before, 1_700_000_001);
    }

    #[test]
    fn targets_serialize_with_their_kind() {
        let t = RevocationTarget::User { tenant_id: "t".into(), object_id: "o".into() };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["kind"], "user");
        assert_eq!(t.subject(), "o");
        let back: RevocationTarget = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn nodes_without_recent_heartbeats_are_gone() {
        let n = NodeHeartbeat {
            node_id: "n".into(),
            name: "h:1".into(),
            roles: "issuer,gateway".into(),
            software_version: "0".into(),
            started_at_ms: 0,
            heartbeat_at_ms: 1_000,
            applied_revocation_version: 0,
            applied_policy_version: None,
            last_sync_ms: 0,
            ready: true,
        };
        assert!(n.runs("gateway") && !n.runs("admin"));
        assert_eq!(liveness(&n, 1_000 + NODE_GONE_AFTER_MS), NodeLiveness::Live);
        assert_eq!(liveness(&n, 1_001 + NODE_GONE_AFTER_MS), NodeLiveness::Gone);
    }
}
