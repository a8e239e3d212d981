//! The admin listener's one error type: every refusal it answers with is decided here (the
//! admin API adds its `application/problem+json` cases to this type).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminError {
    /// Not serving yet or any more; the text says why (`stopping`, `waiting for issuer keys`).
    Unavailable(&'static str),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")).into_response(),
        }
    }
}
