//! The one place gateway rejections become HTTP answers (RFC 6750 §3): `WWW-Authenticate`
//! challenges with a generic description (details go to the audit log, not to the caller).

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use tokengate_core::access::rejection::Answer;
use tokengate_core::access::{Rejection, VerifiedToken};
use tokengate_core::encoding::b64;

/// Seconds a client should wait when keys cannot be fetched.
pub const KEYS_RETRY_AFTER: u64 = 30;

fn with_challenge(status: StatusCode, challenge: String, body: &'static str) -> Response<Body> {
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

pub fn rejection_response(rejection: &Rejection) -> Response<Body> {
    const REALM: &str = "Bearer realm=\"tokengate\"";
    match rejection.answer() {
        Answer::Bare => with_challenge(StatusCode::UNAUTHORIZED, REALM.to_owned(), r#"{"error":"unauthorized"}"#),
        Answer::InvalidRequest => with_challenge(
            StatusCode::BAD_REQUEST,
            format!("{REALM}, error=\"invalid_request\", error_description=\"The request carries no single, well-formed bearer token\""),
            r#"{"error":"invalid_request"}"#,
        ),
        Answer::InvalidToken => with_challenge(
            StatusCode::UNAUTHORIZED,
            format!("{REALM}, error=\"invalid_token\", error_description=\"The access token is invalid\""),
            r#"{"error":"invalid_token"}"#,
        ),
        Answer::InsufficientScope => {
            let needed = match rejection {
                Rejection::Insufficient(s) => s.chars().filter(|c| *c != '"' && *c != '\\').collect::<String>(),
                _ => String::new(),
            };
            with_challenge(
                StatusCode::FORBIDDEN,
                format!("{REALM}, error=\"insufficient_scope\", error_description=\"The access token lacks a required permission\", scope=\"{needed}\""),
                r#"{"error":"insufficient_scope"}"#,
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
                format!("{REALM}, error=\"temporarily_unavailable\""),
                r#"{"error":"temporarily_unavailable"}"#,
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(KEYS_RETRY_AFTER));
            r
        }
    }
}

/// A revoked token from a CAE-capable client: 401 with an `insufficient_claims` challenge so the
/// client fetches a fresh token (Entra's continuous access evaluation).
pub fn cae_challenge(token: &VerifiedToken, now: i64) -> Response<Body> {
    let claims = format!(r#"{{"access_token":{{"nbf":{{"essential":true,"value":"{now}"}}}}}}"#);
    let authorization_uri = match token.iss.strip_suffix("/v2.0") {
        Some(base) => format!("{base}/oauth2/v2.0/authorize"),
        None => format!("{}/oauth2/authorize", token.iss.trim_end_matches('/')),
    };
    with_challenge(
        StatusCode::UNAUTHORIZED,
        format!(
            "Bearer realm=\"tokengate\", authorization_uri=\"{authorization_uri}\", error=\"insufficient_claims\", claims=\"{}\"",
            b64(claims)
        ),
        r#"{"error":"insufficient_claims"}"#,
    )
}

pub fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A request refused for its form before any token is looked at (path, `Host`, `Upgrade`): 400
/// naming the reason code, which is also the audit reason.
pub fn request_refused(reason: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(format!("bad request: {reason}\n")));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}
