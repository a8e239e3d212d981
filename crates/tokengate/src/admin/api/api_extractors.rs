//! JSON bodies, query strings and path segments whose rejections are problem documents too
//! (axum's own answer is plain text), so a client of the admin API only ever parses one error
//! shape. A body that is too large stays 413 and one that is not `application/json` stays 415;
//! every other unreadable input is a 400.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;

use super::api_problem::ApiProblem;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiProblem> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(|e| ApiProblem::unreadable_body(e.status(), e.body_text()))
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiProblem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiProblem::bad_request(e.body_text()))
    }
}

/// Path segments (`/apps/{app_id}`): one that is not UTF-8 once percent-decoded, or does not
/// parse, is a 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiProblem> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(value)| ApiPath(value)).map_err(|e| {
            let status = e.status();
            if status.is_server_error() {
                // A route and its handler disagree on the parameters: a bug, logged, never the caller's.
                tracing::error!(error = %e.body_text(), "admin API: path parameters do not fit the handler");
                ApiProblem::with_status(status, "the path parameters do not fit this operation; see the server log")
            } else {
                ApiProblem::bad_request(e.body_text())
            }
        })
    }
}
