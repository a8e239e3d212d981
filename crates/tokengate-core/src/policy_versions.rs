//! Versions of the gateway policy: immutable documents numbered 1, 2, 3… with author, message,
//! time and content hash, and one published pointer that every gateway node follows. Publishing
//! is conditional (`If-Match` on the published version), so two operators never overwrite each
//! other's change unseen; a rollback publishes an older version's document as a new version, so
//! history stays a straight line that says who changed what and when.

use serde::{Deserialize, Serialize};

use crate::access::policy_document::PolicyDocument;
use crate::encoding::sha256;
use crate::UnixTime;

/// A version about to be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPolicyVersion {
    pub document: PolicyDocument,
    /// The TOML text as the author wrote it (comments included), when it came from a file.
    pub source: Option<String>,
    /// Who published: an admin caller's name or object id, `cli`, or `file:<path>`.
    pub author: String,
    pub message: String,
    /// Where it came from: `api`, or `file:<absolute path>` for a node's watched policy file
    /// (a node compares its file with the last version of that origin, see `policy_publishing`).
    pub origin: String,
    /// A rollback: the version whose document this one repeats.
    pub rollback_of: Option<i64>,
    pub created_at: UnixTime,
}

/// A stored version without its document: a line of `policy history`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionSummary {
    pub version: i64,
    pub content_hash: String,
    pub author: String,
    pub message: String,
    pub origin: String,
    pub rollback_of: Option<i64>,
    pub created_at: UnixTime,
}

/// A stored version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub summary: PolicyVersionSummary,
    pub document: PolicyDocument,
    pub source: Option<String>,
}

/// What the published pointer must be for a publish to go ahead (HTTP `If-Match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishPrecondition {
    /// `If-Match: *`: whatever is published (or nothing).
    Any,
    /// Nothing is published yet (a node importing its policy file on first start).
    NothingPublished,
    /// The published version is exactly this one.
    Published(i64),
}

impl PublishPrecondition {
    pub fn holds(self, published: Option<i64>) -> bool {
        match self {
            PublishPrecondition::Any => true,
            PublishPrecondition::NothingPublished => published.is_none(),
            PublishPrecondition::Published(v) => published == Some(v),
        }
    }
}

/// A publish refused because the pointer moved: what is published now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishConflict {
    pub published: Option<i64>,
}

/// `sha256:` and the first 16 hex digits of the document's JSON (field order is the struct's,
/// so equal documents hash equal on every node).
pub fn content_hash(document: &PolicyDocument) -> String {
    let json = serde_json::to_vec(document).unwrap_or_default();
    let digest = sha256(&json);
    format!("sha256:{}", crate::encoding::hex_lower(&digest[..8]))
}

/// How nodes, audit records and `tokengate nodes` name a published version.
pub fn version_label(version: i64) -> String {
    format!("v{version}")
}

/// The version number in a label (`v7` or `7`).
pub fn parse_version_label(label: &str) -> Option<i64> {
    label.strip_prefix('v').unwrap_or(label).parse().ok().filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions() {
        assert!(PublishPrecondition::Any.holds(None));
        assert!(PublishPrecondition::Any.holds(Some(3)));
        assert!(PublishPrecondition::NothingPublished.holds(None));
        assert!(!PublishPrecondition::NothingPublished.holds(Some(1)));
        assert!(PublishPrecondition::Published(3).holds(Some(3)));
        assert!(!PublishPrecondition::Published(3).holds(Some(4)));
        assert!(!PublishPrecondition::Published(3).holds(None));
    }

    #[test]
    fn equal_documents_hash_equal_and_a_change_changes_the_hash() {
        let a = PolicyDocument::default();
        let mut b = PolicyDocument::default();
        assert_eq!(content_hash(&a), content_hash(&b));
        b.settings.clock_skew += 1;
        assert_ne!(content_hash(&a), content_hash(&b));
        assert!(content_hash(&a).starts_with("sha256:") && content_hash(&a).len() == 23);
    }

    #[test]
    fn labels_round_trip() {
        assert_eq!(version_label(7), "v7");
        assert_eq!(parse_version_label("v7"), Some(7));
        assert_eq!(parse_version_label("7"), Some(7));
        assert_eq!(parse_version_label("v0"), None);
        assert_eq!(parse_version_label("sha256:00"), None);
    }
}
