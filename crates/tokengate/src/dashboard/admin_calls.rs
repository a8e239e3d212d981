//! The dashboard does nothing the admin API does not: every page reads and writes through the
//! API's own operations, called in process with the signed-in person's access token. The API
//! authenticates, authorizes (an auditor's write is refused there too), validates and audits
//! exactly as for the CLI; the dashboard only renders.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tower::ServiceExt;

use crate::client_address::PeerAddr;

/// The most an API answer read by a page may hold (the audit export is streamed, never read here).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The admin API, callable in process.
#[derive(Clone)]
pub struct AdminCalls {
    api: Router,
}

/// What a call failed with, in words for the person: the API's problem `detail` (or title).
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub message: String,
}

impl std::fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A successful answer: its body and `ETag` (for the next conditional update).
pub struct ApiAnswer<T> {
    pub value: T,
    pub etag: Option<String>,
}

/// Who makes a call and from where: the session's access token and the browser's address (so the
/// API's audit records name the person's address, not the node's).
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub access_token: &'a str,
    pub peer: Option<PeerAddr>,
}

impl AdminCalls {
    pub fn new(api: Router) -> AdminCalls {
        AdminCalls { api }
    }

    pub async fn get<T: DeserializeOwned>(&self, caller: Caller<'_>, path: &str) -> Result<T, ApiFailure> {
        Ok(self.send(caller, Method::GET, path, None, None).await?.value)
    }

    /// `GET` keeping the `ETag`, for a form that updates what it shows.
    pub async fn get_tagged<T: DeserializeOwned>(
        &self,
        caller: Caller<'_>,
        path: &str,
    ) -> Result<ApiAnswer<T>, ApiFailure> {
        self.send(caller, Method::GET, path, None, None).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        caller: Caller<'_>,
        path: &str,
        body: &B,
    ) -> Result<T, ApiFailure> {
        Ok(self.send(caller, Method::POST, path, Some(json(body)?), None).await?.value)
    }

    /// A `POST` or `PATCH` guarded by `If-Match` (412 if the object changed since it was read).
    pub async fn send_if_match<B: Serialize, T: DeserializeOwned>(
        &self,
        caller: Caller<'_>,
        method: Method,
        path: &str,
        body: &B,
        if_match: &str,
    ) -> Result<T, ApiFailure> {
        Ok(self.send(caller, method, path, Some(json(body)?), Some(if_match)).await?.value)
    }

    /// `DELETE`; the API answers 204 with no body.
    pub async fn delete(&self, caller: Caller<'_>, path: &str, if_match: Option<&str>) -> Result<(), ApiFailure> {
        self.send::<serde_json::Value>(caller, Method::DELETE, path, None, if_match).await.map(|_| ())
    }

    /// The API's response as it is (status, headers, streamed body), for answers a page relays
    /// rather than reads: the audit export and live tail.
    pub async fn raw(&self, caller: Caller<'_>, method: Method, path: &str) -> Response {
        let request = request(caller, method, path, None, None);
        match self.api.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        caller: Caller<'_>,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        if_match: Option<&str>,
    ) -> Result<ApiAnswer<T>, ApiFailure> {
        let response = match self.api.clone().oneshot(request(caller, method, path, body, if_match)).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let etag = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES).await.map_err(|e| ApiFailure {
            status: StatusCode::BAD_GATEWAY,
            message: format!("the admin API's answer could not be read: {e}"),
        })?;
        if !status.is_success() {
            return Err(failure(status, &bytes));
        }
        let bytes = if bytes.is_empty() { &b"null"[..] } else { &bytes[..] };
        let value = serde_json::from_slice(bytes).map_err(|e| ApiFailure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the admin API answered something this dashboard does not understand: {e}"),
        })?;
        Ok(ApiAnswer { value, etag })
    }
}

fn json<B: Serialize>(body: &B) -> Result<Vec<u8>, ApiFailure> {
    serde_json::to_vec(body)
        .map_err(|e| ApiFailure { status: StatusCode::INTERNAL_SERVER_ERROR, message: format!("request body: {e}") })
}

fn request(
    caller: Caller<'_>,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
    if_match: Option<&str>,
) -> Request<Body> {
    let mut request = Request::new(body.clone().map(Body::from).unwrap_or_else(Body::empty));
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().unwrap_or_else(|_| axum::http::Uri::from_static("/admin/v1/invalid-path"));
    let headers = request.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {}", caller.access_token)) {
        headers.insert(header::AUTHORIZATION, v);
    }
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    if body.is_some() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    if let Some(tag) = if_match.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert(header::IF_MATCH, tag);
    }
    if let Some(peer) = caller.peer {
        request.extensions_mut().insert(peer);
    }
    request
}

/// A refused `raw` answer in the person's words (its problem document read, at most 1 MB).
pub async fn refusal(response: Response) -> ApiFailure {
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1024 * 1024).await.unwrap_or_default();
    failure(status, &body)
}

/// The problem document's `detail`, else its `title`, else the status.
fn failure(status: StatusCode, body: &[u8]) -> ApiFailure {
    let problem: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let text = |key: &str| problem.as_ref().and_then(|p| p.get(key)).and_then(|v| v.as_str()).map(str::to_owned);
    let message = text("detail").or_else(|| text("title")).unwrap_or_else(|| status.to_string());
    ApiFailure { status, message }
}

/// A path segment or query value, percent-encoded.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
