//! The one place issuer errors become HTTP responses, in Entra's body shape: `error`,
//! `error_description` ("AADSTSnnn: ...\r\nTrace ID...\r\nCorrelation ID...\r\nTimestamp..."),
//! `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.

use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokengate_core::OAuthError;
use tokengate_proto::EntraErrorBody;
use uuid::Uuid;

/// Ids that tie a response to the logs: Entra echoes `client-request-id` as the correlation id.
#[derive(Debug, Clone)]
pub struct RequestIds {
    pub trace_id: Uuid,
    pub correlation_id: Uuid,
}

impl RequestIds {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let correlation_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::new_v4);
        RequestIds { trace_id: Uuid::new_v4(), correlation_id }
    }
}

pub fn entra_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    now.format(&format).unwrap_or_default()
}

pub fn error_body(e: &OAuthError, ids: &RequestIds, base_url: &str) -> EntraErrorBody {
    let timestamp = entra_timestamp();
    EntraErrorBody {
        error: e.error.to_owned(),
        error_description: format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            e.code, e.description, ids.trace_id, ids.correlation_id, timestamp
        ),
        error_codes: vec![e.code],
        timestamp,
        trace_id: ids.trace_id.to_string(),
        correlation_id: ids.correlation_id.to_string(),
        error_uri: format!("{base_url}/error?code={}", e.code),
    }
}

/// JSON error response with the no-store headers of the token endpoint.
pub fn oauth_error_response(e: &OAuthError, ids: &RequestIds, base_url: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, axum::Json(error_body(e, ids, base_url))).into_response();
    let headers = response.headers_mut();
    no_store(headers);
    add_request_ids(headers, ids);
    if let Some(secs) = e.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

pub fn add_request_ids(headers: &mut HeaderMap, ids: &RequestIds) {
    if let Ok(v) = HeaderValue::from_str(&ids.trace_id.to_string()) {
        headers.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ids.correlation_id.to_string()) {
        headers.insert("client-request-id", v);
    }
}

#[derive(Deserialize)]
pub struct ErrorPageQuery {
    code: Option<u32>,
}

/// Target of `error_uri`: a short text explanation.
pub async fn error_page(Query(q): Query<ErrorPageQuery>) -> impl IntoResponse {
    let text = match q.code {
        Some(code) => format!("AADSTS{code}: see error_description in the response that linked here; tokengate reproduces Entra ID error codes.\n"),
        None => "tokengate error reference\n".to_owned(),
    };
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text)
}

pub async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
}
