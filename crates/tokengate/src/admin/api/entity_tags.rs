//! `ETag`/`If-Match` for the directory objects an update may change (apps, users, groups,
//! tenants): the tag is a hash of the object's view as `GET` shows it, so any change anyone makes
//! gives a new tag. An update whose `If-Match` names none of the current tags answers 412 and
//! writes nothing (the check runs on the row the store is about to change); an update without
//! `If-Match` proceeds, last writer wins.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tokengate_core::directory_admin::Precondition;
use tokengate_core::encoding::{hex_upper, sha256};

use super::api_problem::ApiProblem;

/// The strong entity tag of a view: quoted, as the header carries it.
pub fn entity_tag<T: Serialize>(view: &T) -> String {
    let json = serde_json::to_vec(view).unwrap_or_default();
    format!("\"{}\"", hex_upper(&sha256(&json)[..16]).to_ascii_lowercase())
}

/// A JSON answer carrying the view's `ETag`.
pub fn tagged<T: Serialize>(view: T) -> Response {
    let tag = entity_tag(&view);
    let mut response = Json(view).into_response();
    if let Ok(value) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// The request's `If-Match` (RFC 9110 §13.1.1), if it sent one.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// Whether `current` (a quoted tag) satisfies the header: `*` matches any existing object;
    /// weak tags (`W/"..."`) never match, as strong comparison requires.
    pub fn admits(&self, current: &str) -> bool {
        match &self.0 {
            None => true,
            Some(list) => list.split(',').map(str::trim).any(|tag| tag == "*" || tag == current),
        }
    }

    /// The store-side precondition for `check` (which should call `admits`), or none without
    /// the header.
    pub fn precondition<'a, T>(&self, check: &'a (dyn Fn(&T) -> bool + Send + Sync)) -> Precondition<'a, T> {
        self.0.as_ref().map(|_| check)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiProblem> {
        let mut values = parts.headers.get_all(header::IF_MATCH).iter();
        let Some(first) = values.next() else { return Ok(IfMatch(None)) };
        let mut list = first.to_str().map_err(|_| ApiProblem::bad_request("If-Match must be ASCII"))?.to_owned();
        for more in values {
            list.push(',');
            list.push_str(more.to_str().map_err(|_| ApiProblem::bad_request("If-Match must be ASCII"))?);
        }
        Ok(IfMatch(Some(list)))
    }
}
