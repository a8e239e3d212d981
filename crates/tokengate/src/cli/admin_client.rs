//! The CLI's HTTP client of the admin API: gets a bearer token (client credentials against the
//! authority, or the one given), sends JSON with the wire types of `tokengate_proto::admin`, and
//! turns every failure into one `CliError` line: the API's problem `detail` with its status, or
//! "dev is not running" when a dev dir's listener refuses the connection. Never prints the token.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokengate_proto::admin::Problem;

use super::admin_target::{AdminTarget, Credentials};
use super::CliError;

/// Ordinary requests; `revoke --wait` and streams set their own.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct AdminClient {
    http: reqwest::Client,
    target: AdminTarget,
    token: String,
}

impl AdminClient {
    /// A client holding a token for `target`'s admin API.
    pub async fn connect(target: AdminTarget) -> Result<AdminClient, CliError> {
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT);
        if let Some(pem) = &target.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| CliError::Argument(format!("CA certificates: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| CliError::Argument(format!("HTTP client: {e}")))?;
        let mut client = AdminClient { http, target, token: String::new() };
        client.token = client.fetch_token().await?;
        Ok(client)
    }

    /// A fresh token (a long `audit tail` outlives the first one).
    pub async fn renew_token(&mut self) -> Result<(), CliError> {
        self.token = self.fetch_token().await?;
        Ok(())
    }

    async fn fetch_token(&self) -> Result<String, CliError> {
        let (authority, client_id, client_secret, scope) = match &self.target.credentials {
            Credentials::Bearer(token) => return Ok(token.clone()),
            Credentials::ClientCredentials { authority, client_id, client_secret, scope } => {
                (authority, client_id, client_secret, scope)
            }
        };
        let url = format!("{authority}/oauth2/v2.0/token");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("scope", scope.as_str()),
        ];
        let sent = self.http.post(&url).form(&form).timeout(REQUEST_TIMEOUT).send().await;
        let response = sent.map_err(|e| self.unreachable(authority, &e))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if let Some(token) = body.get("access_token").and_then(|t| t.as_str()).filter(|_| status.is_success()) {
            return Ok(token.to_owned());
        }
        // Entra's `error_description` runs on with trace and correlation ids: its first line says it.
        let detail = body
            .get("error_description")
            .and_then(|d| d.as_str())
            .and_then(|d| d.lines().next())
            .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_owned);
        Err(CliError::AdminToken { authority: authority.clone(), detail })
    }

    fn unreachable(&self, url: &str, e: &reqwest::Error) -> CliError {
        match &self.target.dev_dir {
            Some(dir) if e.is_connect() => CliError::DevNotRunning { dir: dir.clone() },
            _ => CliError::AdminUnreachable { url: url.to_owned(), reason: root_cause(e) },
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.target.admin_url)).bearer_auth(&self.token)
    }

    /// Sends `request`; any non-2xx answer becomes the API's problem as an error.
    async fn send(&self, request: RequestBuilder) -> Result<Response, CliError> {
        let response = request.send().await.map_err(|e| self.unreachable(&self.target.admin_url, &e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(problem(response).await)
    }

    async fn json<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, CliError> {
        let response = self.send(request.timeout(REQUEST_TIMEOUT)).await?;
        response.json().await.map_err(|e| CliError::Argument(format!("unexpected admin API answer: {e}")))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, CliError> {
        self.json(self.request(Method::GET, path).query(query)).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, CliError> {
        self.json(self.request(Method::POST, path).json(body)).await
    }

    /// A POST that may legitimately take `wait` long (the server bounds it; this is a backstop).
    pub async fn post_waiting<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        wait: Duration,
    ) -> Result<T, CliError> {
        let response = self.send(self.request(Method::POST, path).json(body).timeout(wait + REQUEST_TIMEOUT)).await?;
        response.json().await.map_err(|e| CliError::Argument(format!("unexpected admin API answer: {e}")))
    }

    /// A POST conditional on `If-Match` (publishing a policy version); `wait` as `post_waiting`.
    pub async fn post_if_match<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        if_match: &str,
        wait: Duration,
    ) -> Result<T, CliError> {
        let request = self.request(Method::POST, path).header("If-Match", if_match).json(body);
        let response = self.send(request.timeout(wait + REQUEST_TIMEOUT)).await?;
        response.json().await.map_err(|e| CliError::Argument(format!("unexpected admin API answer: {e}")))
    }

    /// A POST whose answer has no body (204).
    pub async fn post_no_content<B: Serialize>(&self, path: &str, body: &B) -> Result<(), CliError> {
        self.send(self.request(Method::POST, path).json(body).timeout(REQUEST_TIMEOUT)).await.map(|_| ())
    }

    /// A POST with no body (state transitions such as `/disable`).
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.json(self.request(Method::POST, path)).await
    }

    pub async fn delete(&self, path: &str) -> Result<(), CliError> {
        self.delete_with(path, &[]).await
    }

    /// A DELETE naming what goes in its query (a redirect URI, permissions).
    pub async fn delete_with(&self, path: &str, query: &[(&str, String)]) -> Result<(), CliError> {
        self.send(self.request(Method::DELETE, path).query(query).timeout(REQUEST_TIMEOUT)).await.map(|_| ())
    }

    /// A GET of an object with its `ETag` (for `If-Match` on a later `PATCH`).
    pub async fn get_tagged<T: DeserializeOwned>(&self, path: &str) -> Result<Tagged<T>, CliError> {
        let response = self.send(self.request(Method::GET, path).timeout(REQUEST_TIMEOUT)).await?;
        let etag = response.headers().get(reqwest::header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let value =
            response.json().await.map_err(|e| CliError::Argument(format!("unexpected admin API answer: {e}")))?;
        Ok(Tagged { value, etag })
    }

    /// A PATCH, conditional on `if_match` when given.
    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        if_match: Option<&str>,
    ) -> Result<T, CliError> {
        let mut request = self.request(Method::PATCH, path).json(body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        self.json(request).await
    }

    /// A streamed GET (export, tail): no overall timeout, the caller reads chunks.
    pub async fn stream(
        &self,
        path: &str,
        query: &[(&str, String)],
        last_event_id: Option<i64>,
    ) -> Result<Response, CliError> {
        let mut request = self.request(Method::GET, path).query(query);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        self.send(request).await
    }
}

/// An object as read, and the `ETag` naming its version.
pub struct Tagged<T> {
    pub value: T,
    pub etag: Option<String>,
}

/// `value` as one URL path segment (App ID URIs and scope values may hold `/` or `:`).
pub fn segment(value: &str) -> String {
    let mut url = match reqwest::Url::parse("http://segment/") {
        Ok(url) => url,
        Err(_) => return value.to_owned(),
    };
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(value);
    }
    url.path().trim_start_matches('/').to_owned()
}

/// The one line an error answer says: its problem `detail`, else its status.
async fn problem(response: Response) -> CliError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let detail = match serde_json::from_str::<Problem>(&text) {
        Ok(p) if !p.detail.is_empty() => p.detail,
        Ok(p) => p.title,
        Err(_) => status.canonical_reason().unwrap_or("error").to_ascii_lowercase(),
    };
    CliError::Api { status: status.as_u16(), detail }
}

/// Whether an API error is this status.
pub fn is_status(e: &CliError, status: StatusCode) -> bool {
    matches!(e, CliError::Api { status: s, .. } if *s == status.as_u16())
}

/// The innermost cause of a transport error (reqwest's own text only says "error sending request").
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(super::segment("api://reports/x y"), "api:%2F%2Freports%2Fx%20y");
        assert_eq!(super::segment("Orders.Read"), "Orders.Read");
    }
}
