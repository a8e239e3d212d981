//! The one place where backend failures become `StoreError`s: driver errors (a unique violation
//! is a `Conflict`, everything else `Backend`) and stored values that do not read back. The
//! caller's own mistakes (`Invalid`) and absent rows (`NotFound`) are decided where they happen.

use std::fmt::Display;

use tokengate_core::store::StoreError;

pub(crate) fn backend_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// A stored value this code cannot read back: written by something else, or damaged.
pub(crate) fn corrupt(what: impl Display) -> StoreError {
    StoreError::Backend(format!("corrupt {what}"))
}

/// Reads back a stored name (a state, a kind) with `parse`; a name it refuses is corrupt.
pub(crate) fn parse_stored<T>(
    what: &str,
    stored: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(stored).ok_or_else(|| corrupt(format_args!("{what} {stored:?}")))
}
