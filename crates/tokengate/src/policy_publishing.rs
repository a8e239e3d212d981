//! Publishing gateway policy versions: validate, skip what would change nothing, write the next
//! version under the caller's `If-Match`, audit who and why. Used by the admin API (`policy
//! apply`, rollback) and by nodes whose config names a policy file: the file is the declarative
//! form, published when it changes (see `import_policy_file`).

use std::path::Path;

use serde_json::json;
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_core::audit::AuditEvent;
use tokengate_core::policy_versions::{
    content_hash, NewPolicyVersion, PolicyVersionSummary, PublishConflict, PublishPrecondition,
};
use tokengate_core::store::{Store, StoreError};

use crate::gateway::policy_file::{self, PolicyFile};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the policy is not valid:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
    #[error("{}", conflict_text(.0))]
    Conflict(PublishConflict),
    #[error("policy version {0} does not exist (see `tokengate policy history`)")]
    NoSuchVersion(i64),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

fn conflict_text(conflict: &PublishConflict) -> String {
    match conflict.published {
        Some(v) => format!(
            "the published policy is now version {v}, not the one this change was based on: \
             review `tokengate policy diff` against version {v} and publish again"
        ),
        None => "no policy is published yet: publish without a version precondition".to_owned(),
    }
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A new version, now published.
    New(PolicyVersionSummary),
    /// The document equals the published version's: nothing was written.
    Unchanged(PolicyVersionSummary),
}

impl Published {
    pub fn summary(&self) -> &PolicyVersionSummary {
        match self {
            Published::New(s) | Published::Unchanged(s) => s,
        }
    }
}

/// A document to publish and who publishes it.
pub struct Publication {
    pub document: PolicyDocument,
    pub source: Option<String>,
    pub author: String,
    pub message: String,
    pub origin: String,
    pub rollback_of: Option<i64>,
}

/// Validates (files named by the document are resolved against `base_dir`) and publishes.
pub async fn publish(
    store: &dyn Store,
    publication: Publication,
    precondition: PublishPrecondition,
    base_dir: &Path,
    now: i64,
) -> Result<Published, PublishError> {
    let problems = policy_file::validate(&publication.document, base_dir);
    if !problems.is_empty() {
        return Err(PublishError::Invalid(problems));
    }
    let published = store.published_policy_version().await?;
    if !precondition.holds(published) {
        return Err(PublishError::Conflict(PublishConflict { published }));
    }
    if let Some(current) = published {
        if let Some(stored) = store.policy_version(current).await? {
            if stored.summary.content_hash == content_hash(&publication.document) {
                return Ok(Published::Unchanged(stored.summary));
            }
        }
    }
    let hash = content_hash(&publication.document);
    let mut audit = AuditEvent::admin(
        "policy.published",
        None,
        json!({
            "actor": publication.author,
            "message": publication.message,
            "origin": publication.origin,
            "content_hash": hash,
            "rollback_of": publication.rollback_of,
            "previous_version": published,
        }),
        now,
    );
    audit.reason = publication.rollback_of.map(|_| "rollback".to_owned());
    let new = NewPolicyVersion {
        document: publication.document,
        source: publication.source,
        author: publication.author,
        message: publication.message,
        origin: publication.origin,
        rollback_of: publication.rollback_of,
        created_at: now,
    };
    match store.publish_policy(&new, precondition, &audit).await? {
        Ok(summary) => Ok(Published::New(summary)),
        Err(conflict) => Err(PublishError::Conflict(conflict)),
    }
}

/// Publishes version `to`'s document again, as a new version that says it is a rollback.
pub async fn rollback(
    store: &dyn Store,
    to: i64,
    author: String,
    message: Option<String>,
    precondition: PublishPrecondition,
    base_dir: &Path,
    now: i64,
) -> Result<Published, PublishError> {
    let old = store.policy_version(to).await?.ok_or(PublishError::NoSuchVersion(to))?;
    let publication = Publication {
        document: old.document,
        source: old.source,
        author,
        message: message.unwrap_or_else(|| format!("rollback to version {to}")),
        origin: "api".to_owned(),
        rollback_of: Some(to),
    };
    publish(store, publication, precondition, base_dir, now).await
}

/// The origin a node's policy file publishes under.
pub fn file_origin(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file:{}", absolute.display())
}

/// A node's policy file, at start or after an edit: published when its content differs from
/// the last version published from this file. So an edited file always takes effect, while an
/// unchanged file does not undo what was published since through the API (`policy apply`).
pub async fn import_policy_file(
    store: &dyn Store,
    file: &PolicyFile,
    node: &str,
    now: i64,
) -> Result<Option<Published>, PublishError> {
    let origin = file_origin(&file.path);
    let hash = content_hash(&file.document);
    let published = store.published_policy_version().await?;
    let last_of_file = store.latest_policy_of_origin(&origin).await?;
    if published.is_some() && last_of_file.as_ref().is_some_and(|v| v.content_hash == hash) {
        return Ok(None);
    }
    let publication = Publication {
        document: file.document.clone(),
        source: Some(file.text.clone()),
        author: format!("node {node}"),
        message: match &last_of_file {
            None => format!("imported from {}", file.path.display()),
            Some(_) => format!("{} changed", file.path.display()),
        },
        origin,
        rollback_of: None,
    };
    let base = file.path.parent().unwrap_or(Path::new("."));
    // Any: the file is the declarative source for this node; two nodes' files racing each
    // other publish in turn, each audited.
    publish(store, publication, PublishPrecondition::Any, base, now).await.map(Some)
}
