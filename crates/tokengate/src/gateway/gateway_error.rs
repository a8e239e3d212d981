//! The gateway's one error type, and the one place its answers get their HTTP status: 400 for a
//! request's form, 404 for no route, RFC 6750 §3 challenges for token problems (400/401/403, 431
//! for an oversized token, 503 while keys cannot be fetched), 413 for an oversized form body, 502
//! and 504 for upstream failures. A refused token's challenge carries the denial's description
//! (`denials`), and its JSON body the same plus the machine-readable reason code.

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use tokengate_core::access::denial_description::Denial;
use tokengate_core::access::rejection::Answer;
use tokengate_core::access::{Rejection, VerifiedToken};
use tokengate_core::audit::Outcome;
use tokengate_core::encoding::b64;
use tokengate_core::UnixTime;

use super::proxy::UpstreamFailure;
use crate::authentication::authenticator::Refusal;

/// Why the gateway answered a request itself instead of forwarding it (or what went wrong
/// forwarding it).
#[derive(Debug)]
pub enum GatewayError {
    /// Refused for its form before any token is looked at (path, `Host`, `Upgrade`); the
    /// reason code names what.
    BadRequest(&'static str),
    /// No route matches host, path and method.
    NoRoute,
    /// The bearer token is missing, invalid, revoked or lacks what the route requires.
    Refused(Refusal),
    /// A form body too large to screen for an `access_token` field.
    FormBodyTooLarge,
    /// The upstream failed, or the client's own body broke off while forwarding.
    Upstream(UpstreamFailure),
    /// This node's revocation set is older than `max_revocation_staleness_seconds` (or was never
    /// synced): a protected route is refused rather than served with possibly revoked tokens.
    RevocationsStale,
}

/// Seconds a client should wait after a 503 for stale revocations: the feed's poll retries
/// well within it.
const STALE_RETRY_AFTER: u32 = 5;

impl From<Rejection> for GatewayError {
    fn from(rejection: Rejection) -> Self {
        GatewayError::Refused(Refusal::from(rejection))
    }
}

impl GatewayError {
    /// The stable reason code for the audit log and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            GatewayError::BadRequest(reason) => reason,
            GatewayError::NoRoute => "no_route",
            GatewayError::Refused(r) => r.rejection.code(),
            GatewayError::FormBodyTooLarge => "form_body_too_large",
            GatewayError::Upstream(f) => f.code(),
            GatewayError::RevocationsStale => "revocations_stale",
        }
    }

    /// `error` when the upstream failed; `denied` for everything the caller caused.
    pub fn outcome(&self) -> Outcome {
        match self {
            GatewayError::Upstream(f) if !f.is_client_error() => Outcome::Error,
            GatewayError::RevocationsStale => Outcome::Error,
            _ => Outcome::Denied,
        }
    }

    /// The answer; `now` dates a continuous-access-evaluation challenge, `denial` says why a
    /// token was refused.
    pub fn answer(&self, now: UnixTime, denial: Option<&Denial>) -> Response<Body> {
        match self {
            GatewayError::BadRequest(reason) => {
                let mut r = plain(StatusCode::BAD_REQUEST, format!("bad request: {reason}\n"));
                // The connection may carry a request framed in a way we refused: do not reuse it.
                r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
            GatewayError::NoRoute => plain(StatusCode::NOT_FOUND, "not found: no route matches\n".into()),
            GatewayError::Refused(Refusal { rejection: Rejection::Revoked, token: Some(token) })
                if token.cae_capable =>
            {
                cae_challenge(token, now, denial)
            }
            GatewayError::Refused(r) => rejection_response(&r.rejection, denial),
            GatewayError::FormBodyTooLarge => plain(StatusCode::PAYLOAD_TOO_LARGE, "form body too large\n".into()),
            GatewayError::Upstream(failure) => upstream_failure_response(*failure),
            GatewayError::RevocationsStale => {
                let mut r = plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service unavailable: this node cannot confirm which tokens are revoked; retry shortly\n".into(),
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(STALE_RETRY_AFTER));
                r
            }
        }
    }
}

/// Seconds a client should wait when keys cannot be fetched.
pub const KEYS_RETRY_AFTER: u64 = 30;

fn with_challenge(status: StatusCode, challenge: String, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The JSON body of a refusal: the challenge's error and description, and the reason code for
/// scripts (the description's words may change; the code does not).
fn json_body(error: &str, rejection: &Rejection, denial: Option<&Denial>) -> String {
    let mut body = serde_json::json!({ "error": error, "reason": rejection.code() });
    if let Some(d) = denial {
        body["error_description"] = d.description.as_str().into();
    }
    body.to_string()
}

/// `, error_description="..."` (the description is header-safe by construction), or nothing.
fn description_param(denial: Option<&Denial>) -> String {
    denial.map(|d| format!(", error_description=\"{}\"", d.description)).unwrap_or_default()
}

fn rejection_response(rejection: &Rejection, denial: Option<&Denial>) -> Response<Body> {
    const REALM: &str = "Bearer realm=\"tokengate\"";
    let described = description_param(denial);
    match rejection.answer() {
        // RFC 6750 §3.1: a request without credentials gets no error in its challenge; the
        // body still says what to send.
        Answer::Bare => {
            with_challenge(StatusCode::UNAUTHORIZED, REALM.to_owned(), json_body("unauthorized", rejection, denial))
        }
        Answer::InvalidRequest => with_challenge(
            StatusCode::BAD_REQUEST,
            format!("{REALM}, error=\"invalid_request\"{described}"),
            json_body("invalid_request", rejection, denial),
        ),
        Answer::InvalidToken => with_challenge(
            StatusCode::UNAUTHORIZED,
            format!("{REALM}, error=\"invalid_token\"{described}"),
            json_body("invalid_token", rejection, denial),
        ),
        Answer::InsufficientScope => {
            let needed = match rejection {
                Rejection::Insufficient(s) => s.chars().filter(|c| *c != '"' && *c != '\\').collect::<String>(),
                _ => String::new(),
            };
            with_challenge(
                StatusCode::FORBIDDEN,
                format!("{REALM}, error=\"insufficient_scope\"{described}, scope=\"{needed}\""),
                json_body("insufficient_scope", rejection, denial),
            )
        }
        Answer::TooLarge => {
            let mut r = Response::new(Body::from("request header fields too large\n"));
            *r.status_mut() = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
            r
        }
        Answer::KeysUnavailable => {
            let mut r = with_challenge(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{REALM}, error=\"temporarily_unavailable\"{described}"),
                json_body("temporarily_unavailable", rejection, denial),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(KEYS_RETRY_AFTER));
            r
        }
    }
}

/// A revoked token from a CAE-capable client: 401 with an `insufficient_claims` challenge so the
/// client fetches a fresh token (Entra's continuous access evaluation).
fn cae_challenge(token: &VerifiedToken, now: i64, denial: Option<&Denial>) -> Response<Body> {
    // A revocation covers tokens issued up to the end of its second (`NewRevocation::at`), so
    // only a token issued from the next second on is certainly newer.
    let not_before = now + 1;
    let claims = format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{not_before}"}}}}}}"#);
    let authorization_uri = match token.iss.strip_suffix("/v2.0") {
        Some(base) => format!("{base}/oauth2/v2.0/authorize"),
        None => format!("{}/oauth2/authorize", token.iss.trim_end_matches('/')),
    };
    with_challenge(
        StatusCode::UNAUTHORIZED,
        format!(
            "Bearer realm=\"tokengate\", authorization_uri=\"{authorization_uri}\", error=\"insufficient_claims\"{}, claims=\"{}\"",
            description_param(denial),
            b64(claims)
        ),
        json_body("insufficient_claims", &Rejection::Revoked, denial),
    )
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Never a 401: the caller's token was fine.
fn upstream_failure_response(failure: UpstreamFailure) -> Response<Body> {
    let text = match failure {
        UpstreamFailure::Unavailable => "bad gateway: the upstream could not be reached\n",
        UpstreamFailure::TimedOut => "gateway timeout: the upstream did not answer in time\n",
        UpstreamFailure::ClientBody => "bad request: the request body was malformed or incomplete\n",
    };
    let status = match failure {
        UpstreamFailure::Unavailable => StatusCode::BAD_GATEWAY,
        UpstreamFailure::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        UpstreamFailure::ClientBody => StatusCode::BAD_REQUEST,
    };
    plain(status, text.into())
}

impl From<super::form_body_token::FormBodyRefusal> for GatewayError {
    fn from(refusal: super::form_body_token::FormBodyRefusal) -> Self {
        use super::form_body_token::FormBodyRefusal;
        match refusal {
            FormBodyRefusal::TokenInBody(rejection) => GatewayError::from(rejection),
            FormBodyRefusal::TooLarge => GatewayError::FormBodyTooLarge,
            FormBodyRefusal::ClientBody => GatewayError::Upstream(UpstreamFailure::ClientBody),
        }
    }
}
