//! Updates guarded by `If-Match`: the CLI reads the object (with its `ETag`), builds the change,
//! and sends it conditional on that version, so a change someone else made in between is refused
//! (412) instead of silently overwritten. A refusal is one line naming the object and what to do.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::admin_client::{is_status, AdminClient, Tagged};
use super::CliError;

/// `path` as read now, with its `ETag` (the API tags every object an update may change).
pub async fn read<T: DeserializeOwned>(api: &AdminClient, path: &str) -> Result<Tagged<T>, CliError> {
    api.get_tagged(path).await
}

/// PATCH `body` to `path` if the object is still at `etag`; `target` (kind, name as given) names
/// it in the refusal.
pub async fn patch<B: Serialize, T: DeserializeOwned>(
    api: &AdminClient,
    target: (&'static str, &str),
    path: &str,
    body: &B,
    etag: Option<&str>,
) -> Result<T, CliError> {
    let (kind, name) = target;
    api.patch(path, body, etag).await.map_err(|e| {
        if is_status(&e, StatusCode::PRECONDITION_FAILED) {
            CliError::Changed { kind, name: name.to_owned(), etag: etag.unwrap_or_default().to_owned() }
        } else {
            e
        }
    })
}

/// The tag to send: `--if-match` when given, else the one just read.
pub fn tag_to_send<'a>(given: Option<&'a str>, read: &'a Tagged<impl Sized>) -> Option<&'a str> {
    given.or(read.etag.as_deref())
}
