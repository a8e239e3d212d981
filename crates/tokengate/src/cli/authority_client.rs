//! The CLI's client of an Entra-compatible authority's v2.0 endpoints (tokengate's issuer or
//! `https://login.microsoftonline.com/{tenant}`): token requests for client credentials, refresh
//! and device code, and the device authorization request. Reads answers leniently (numbers as
//! strings, missing optional fields) and turns a refusal into Entra's `error` plus the first line
//! of its `error_description`. Never logs or prints a token, secret or assertion.

use std::time::Duration;

use serde::Deserialize;

use super::client_assertion_builder::ClientCertificate;
use super::CliError;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How the client proves itself at the token endpoint.
pub enum ClientAuth {
    /// A public client (device code): no credential.
    Public,
    Secret(String),
    Certificate(ClientCertificate),
}

/// A token endpoint's success answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    pub expires_in: i64,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
}

/// The device authorization answer (RFC 8628 §3.2, Entra's field names).
#[derive(Deserialize)]
pub struct DeviceCodeAnswer {
    pub device_code: String,
    pub user_code: String,
    #[serde(alias = "verification_url")]
    pub verification_uri: String,
    #[serde(deserialize_with = "number_or_string")]
    pub expires_in: i64,
    #[serde(default = "default_interval", deserialize_with = "number_or_string")]
    pub interval: i64,
    #[serde(default)]
    pub message: Option<String>,
}

fn bearer() -> String {
    "Bearer".into()
}

fn default_interval() -> i64 {
    5
}

/// Some authorities send `expires_in` as a string.
fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Number(n) => Ok(n),
        Either::Text(t) => t.trim().parse().map_err(serde::de::Error::custom),
    }
}

/// Why the authority gave no token.
#[derive(Debug)]
pub enum AuthorityError {
    /// An OAuth error answer: `error` and one line saying why (with the AADSTS code when sent).
    Refused {
        error: String,
        line: String,
    },
    Unreachable(String),
    /// Neither a token nor an OAuth error.
    Unexpected(String),
}

impl AuthorityError {
    pub fn into_cli(self, authority: &str) -> CliError {
        match self {
            AuthorityError::Refused { error, line } => {
                CliError::TokenRefused { authority: authority.to_owned(), detail: format!("{line} ({error})") }
            }
            AuthorityError::Unreachable(reason) => CliError::AdminUnreachable { url: authority.to_owned(), reason },
            AuthorityError::Unexpected(what) => {
                CliError::TokenRefused { authority: authority.to_owned(), detail: what }
            }
        }
    }
}

/// An authority, e.g. `https://login.microsoftonline.com/{tenant}` (no trailing slash).
pub struct AuthorityClient {
    http: reqwest::Client,
    pub authority: String,
}

impl AuthorityClient {
    /// `ca_pem`: extra CA certificates to trust besides the public roots (a private CA).
    pub fn new(authority: &str, ca_pem: Option<&[u8]>) -> Result<AuthorityClient, CliError> {
        let authority = authority.trim().trim_end_matches('/').to_owned();
        if !authority.starts_with("https://") {
            return Err(CliError::Argument(format!(
                "--authority {authority}: an authority is an https:// URL, e.g. https://login.microsoftonline.com/TENANT_ID"
            )));
        }
        let mut builder = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT);
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| CliError::Argument(format!("CA certificates: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| CliError::Argument(format!("HTTP client: {e}")))?;
        Ok(AuthorityClient { http, authority })
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority)
    }

    pub async fn client_credentials(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        scope: &str,
        now: i64,
    ) -> Result<TokenAnswer, AuthorityError> {
        let form = vec![("grant_type", "client_credentials".to_owned()), ("scope", scope.to_owned())];
        self.token(client_id, auth, form, now).await
    }

    /// Redeems a refresh token (the answer carries the rotated one).
    pub async fn refresh(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        scope: &str,
        refresh_token: &str,
        now: i64,
    ) -> Result<TokenAnswer, AuthorityError> {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.to_owned()),
            ("scope", scope.to_owned()),
        ];
        self.token(client_id, auth, form, now).await
    }

    /// One poll of the device code grant.
    pub async fn poll_device_code(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        device_code: &str,
        now: i64,
    ) -> Result<TokenAnswer, AuthorityError> {
        let form = vec![("grant_type", DEVICE_CODE_GRANT.to_owned()), ("device_code", device_code.to_owned())];
        self.token(client_id, auth, form, now).await
    }

    pub async fn start_device_code(&self, client_id: &str, scope: &str) -> Result<DeviceCodeAnswer, AuthorityError> {
        let url = format!("{}/oauth2/v2.0/devicecode", self.authority);
        let form = [("client_id", client_id), ("scope", scope)];
        self.post(&url, &form).await
    }

    async fn token(
        &self,
        client_id: &str,
        auth: &ClientAuth,
        mut form: Vec<(&'static str, String)>,
        now: i64,
    ) -> Result<TokenAnswer, AuthorityError> {
        form.push(("client_id", client_id.to_owned()));
        match auth {
            ClientAuth::Public => {}
            ClientAuth::Secret(secret) => form.push(("client_secret", secret.clone())),
            ClientAuth::Certificate(cert) => {
                let assertion = cert
                    .assertion(client_id, &self.token_endpoint(), now)
                    .map_err(|e| AuthorityError::Unexpected(e.to_string()))?;
                form.push(("client_assertion_type", JWT_BEARER.to_owned()));
                form.push(("client_assertion", assertion));
            }
        }
        self.post(&self.token_endpoint(), &form).await
    }

    async fn post<F: serde::Serialize + ?Sized, T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        form: &F,
    ) -> Result<T, AuthorityError> {
        let response =
            self.http.post(url).form(form).send().await.map_err(|e| AuthorityError::Unreachable(root_cause(&e)))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| AuthorityError::Unreachable(root_cause(&e)))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                AuthorityError::Unexpected(format!("HTTP {} answer not understood: {e}", status.as_u16()))
            });
        }
        Err(refusal(status.as_u16(), &body))
    }
}

/// An error answer as one line: the AADSTS code and the first line of `error_description`.
pub fn refusal(status: u16, body: &[u8]) -> AuthorityError {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return AuthorityError::Unexpected(format!("HTTP {status} without an OAuth error body"));
    };
    let Some(error) = value.get("error").and_then(|e| e.as_str()) else {
        return AuthorityError::Unexpected(format!("HTTP {status} without an OAuth error body"));
    };
    let first_line = value
        .get("error_description")
        .and_then(|d| d.as_str())
        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("")
        .to_owned();
    let code = value.get("error_codes").and_then(|c| c.get(0)).and_then(serde_json::Value::as_u64);
    let line = match code {
        Some(code) if !first_line.starts_with("AADSTS") => format!("AADSTS{code}: {first_line}"),
        _ if first_line.is_empty() => format!("HTTP {status}"),
        _ => first_line,
    };
    AuthorityError::Refused { error: error.to_owned(), line: line.trim_end_matches([':', ' ']).to_owned() }
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
    use super::*;

    fn refused(body: &str) -> (String, String) {
        match refusal(400, body.as_bytes()) {
            AuthorityError::Refused { error, line } => (error, line),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_entra_error_is_its_code_and_the_first_line_of_its_description() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is the client secret value.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2026-01-09 02:02:12Z","error_codes":[7000215]}"#;
        let (error, line) = refused(body);
        assert_eq!(error, "invalid_client");
        assert_eq!(
            line,
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is the client secret value."
        );
        let cli = refusal(401, body.as_bytes()).into_cli("https://login.example/t").to_string();
        assert_eq!(cli.lines().count(), 1, "{cli}");
        assert!(cli.contains("AADSTS7000215") && cli.contains("invalid_client"), "{cli}");
    }

    #[test]
    fn a_code_only_in_error_codes_is_put_in_front_and_other_authorities_are_read_too() {
        assert_eq!(
            refused(r#"{"error":"invalid_scope","error_description":"bad scope","error_codes":[70011]}"#).1,
            "AADSTS70011: bad scope"
        );
        assert_eq!(refused(r#"{"error":"invalid_grant","error_description":"expired"}"#).1, "expired");
        assert_eq!(refused(r#"{"error":"invalid_grant"}"#).1, "HTTP 400");
        assert!(matches!(refusal(502, b"<html>"), AuthorityError::Unexpected(t) if t.contains("502")));
    }

    #[test]
    fn answers_with_numbers_as_strings_are_read() {
        let a: TokenAnswer = serde_json::from_str(r#"{"access_token":"x","expires_in":"3599"}"#).unwrap();
        assert_eq!((a.expires_in, a.token_type.as_str()), (3599, "Bearer"));
        let d: DeviceCodeAnswer = serde_json::from_str(
            r#"{"device_code":"d","user_code":"U","verification_url":"https://v","expires_in":900}"#,
        )
        .unwrap();
        assert_eq!((d.interval, d.verification_uri.as_str()), (5, "https://v"));
    }

    #[test]
    fn an_authority_must_be_https() {
        assert!(AuthorityClient::new("http://login.example/t", None).is_err());
        let a = AuthorityClient::new("https://login.example/t/", None).unwrap();
        assert_eq!(a.token_endpoint(), "https://login.example/t/oauth2/v2.0/token");
    }
}
