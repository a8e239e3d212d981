//! Reading a result row: one typed getter whose failures are `StoreError`s, and the column
//! conversions every aggregate shares (ids, optional ids, scope lists, ids to match).

use sqlx::{ColumnIndex, Decode, Row, Type};
use tokengate_core::store::StoreResult;
use uuid::Uuid;

use crate::error::{backend_error, corrupt};

/// Column `name` of this row can be read as a `T` (use `SqlRow::read`).
pub(crate) trait Column<T> {
    fn read_column(&self, name: &str) -> StoreResult<T>;
}

impl<R: Row, T> Column<T> for R
where
    T: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    fn read_column(&self, name: &str) -> StoreResult<T> {
        self.try_get(name).map_err(backend_error)
    }
}

/// A result row of either backend: every column type the SQL reads, plus shared conversions.
pub(crate) trait SqlRow
where
    Self: Column<String> + Column<Option<String>> + Column<i64> + Column<Option<i64>>,
    Self: Column<Vec<u8>> + Column<Option<Vec<u8>>> + Column<bool>,
{
    /// Column `name`, as the type its use asks for.
    fn read<T>(&self, name: &str) -> StoreResult<T>
    where
        Self: Column<T>,
    {
        self.read_column(name)
    }

    /// A text column, where nothing else says the type.
    fn text(&self, name: &str) -> StoreResult<String> {
        self.read(name)
    }

    /// An id stored as text.
    fn uuid(&self, name: &str) -> StoreResult<Uuid> {
        uuid(&self.text(name)?)
    }

    /// An id stored as text, or NULL.
    fn optional_uuid(&self, name: &str) -> StoreResult<Option<Uuid>> {
        let text: Option<String> = self.read(name)?;
        text.as_deref().map(uuid).transpose()
    }

    /// A scope list stored space-separated.
    fn scopes(&self, name: &str) -> StoreResult<Vec<String>> {
        let text: String = self.read(name)?;
        Ok(text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
    }
}

impl<R> SqlRow for R where
    R: Column<String>
        + Column<Option<String>>
        + Column<i64>
        + Column<Option<i64>>
        + Column<Vec<u8>>
        + Column<Option<Vec<u8>>>
        + Column<bool>
{
}

/// An id as the store writes it, for matching one a person typed (`{...}`, upper case, no
/// hyphens): ids are stored as `Uuid::to_string` writes them. Anything else is matched as given.
pub(crate) fn stored_id(text: &str) -> String {
    Uuid::parse_str(text).map(|id| id.to_string()).unwrap_or_else(|_| text.to_owned())
}

pub(crate) fn uuid(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| corrupt(format_args!("id {text:?}: {e}")))
}
