//! Duplicates in words: a unique-constraint conflict reaches the store error with the database's
//! own message (table and column names), which a caller should never see; each operation says
//! instead what already exists.

use tokengate_core::directory_admin::AdminError;
use tokengate_core::store::StoreError;

use super::api_problem::ApiProblem;

/// The problem for `e`, a conflict worded as `duplicate`.
pub fn worded(e: AdminError, duplicate: impl FnOnce() -> String) -> ApiProblem {
    match e {
        AdminError::Store(StoreError::Conflict(_)) => ApiProblem::conflict(duplicate()),
        other => other.into(),
    }
}
