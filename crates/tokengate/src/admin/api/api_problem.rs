//! The admin API's one error type: every failure is an RFC 9457 `application/problem+json` body,
//! and 401/403 carry an RFC 6750 `WWW-Authenticate` challenge. Statuses are decided here only.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::access::rejection::Answer;
use tokengate_core::access::Rejection;
use tokengate_core::directory_admin::AdminError as DirectoryError;
use tokengate_core::store::StoreError;
use tokengate_proto::admin::Problem;

const REALM: &str = "Bearer realm=\"tokengate-admin\"";

#[derive(Debug)]
pub struct ApiProblem {
    status: StatusCode,
    title: &'static str,
    detail: String,
    challenge: Option<String>,
}

impl ApiProblem {
    fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> ApiProblem {
        ApiProblem { status, title, detail: detail.into(), challenge: None }
    }

    /// The bearer token is missing or does not admit the caller (RFC 6750 §3).
    pub fn unauthenticated(rejection: &Rejection) -> ApiProblem {
        let reason = rejection.code();
        match rejection.answer() {
            Answer::Bare => ApiProblem {
                challenge: Some(REALM.into()),
                ..ApiProblem::new(
                    StatusCode::UNAUTHORIZED,
                    "Authentication required",
                    "send `Authorization: Bearer <token>` with a token of the built-in issuer for the admin API holding the app role Tokengate.Admin or Tokengate.Auditor",
                )
            },
            Answer::InvalidRequest => ApiProblem {
                challenge: Some(format!("{REALM}, error=\"invalid_request\"")),
                ..ApiProblem::new(StatusCode::BAD_REQUEST, "Malformed authorization", format!("the Authorization header cannot be used ({reason})"))
            },
            Answer::TooLarge => ApiProblem::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "Token too large", "the bearer token is larger than 16 KB"),
            Answer::KeysUnavailable => ApiProblem::new(StatusCode::SERVICE_UNAVAILABLE, "Keys unavailable", "the issuer's keys cannot be read right now; retry shortly"),
            Answer::InsufficientScope => ApiProblem::forbidden(
                "the token holds neither Tokengate.Admin nor Tokengate.Auditor for the admin API",
            ),
            Answer::InvalidToken => ApiProblem {
                challenge: Some(format!("{REALM}, error=\"invalid_token\"")),
                ..ApiProblem::new(StatusCode::UNAUTHORIZED, "Invalid token", format!("the bearer token was refused ({reason}); get a new one for the admin API"))
            },
        }
    }

    /// Authenticated, but the role does not allow this operation.
    pub fn forbidden(detail: impl Into<String>) -> ApiProblem {
        ApiProblem {
            challenge: Some(format!("{REALM}, error=\"insufficient_scope\"")),
            ..ApiProblem::new(StatusCode::FORBIDDEN, "Forbidden", detail)
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::NOT_FOUND, "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::CONFLICT, "Conflict", detail)
    }

    /// `If-Match` named a version the object no longer has (RFC 9110 §13.1.1).
    pub fn precondition_failed(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::PRECONDITION_FAILED, "Precondition failed", detail)
    }

    /// 428: a change that must name the version it is based on did not (`If-Match`).
    pub fn precondition_required(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::PRECONDITION_REQUIRED, "Precondition required", detail)
    }

    pub fn gateway_timeout(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::GATEWAY_TIMEOUT, "Not applied everywhere in time", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> ApiProblem {
        ApiProblem::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", detail)
    }

    /// A refusal decided outside the handlers (axum's own rejections: 405, 413, 415, a path
    /// that is not UTF-8...), kept at its status and worded by it.
    pub fn with_status(status: StatusCode, detail: impl Into<String>) -> ApiProblem {
        let title = match status {
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "Body too large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
            other => other.canonical_reason().unwrap_or("Error"),
        };
        ApiProblem::new(status, title, detail)
    }

    /// A body the admin API could not read: too large (413) and not JSON at all (415) keep
    /// axum's status; every other reason the body cannot be used is a 400, as the handlers'
    /// own validation answers (so a client sees one status for "this body is wrong").
    pub fn unreadable_body(status: StatusCode, detail: impl Into<String>) -> ApiProblem {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiProblem::with_status(status, detail)
            }
            _ => ApiProblem::bad_request(detail),
        }
    }
}

impl From<StoreError> for ApiProblem {
    fn from(e: StoreError) -> ApiProblem {
        match e {
            StoreError::NotFound => ApiProblem::not_found("no such object"),
            StoreError::Conflict(what) => ApiProblem::conflict(format!("already exists: {what}")),
            StoreError::Invalid(what) => ApiProblem::bad_request(what),
            StoreError::Backend(what) => {
                tracing::error!(error = %what, "admin API: store failure");
                ApiProblem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Store failure",
                    "the store failed; see the server log",
                )
            }
        }
    }
}

impl From<DirectoryError> for ApiProblem {
    fn from(e: DirectoryError) -> ApiProblem {
        match e {
            DirectoryError::NotFound(what) => ApiProblem::not_found(format!("{what} not found")),
            DirectoryError::Invalid(what) => ApiProblem::bad_request(what),
            DirectoryError::Stale(what) => ApiProblem::precondition_failed(format!(
                "{what} changed since you read it (If-Match names an older ETag): read it again and retry"
            )),
            DirectoryError::Conflict(what) => ApiProblem::conflict(what),
            DirectoryError::Store(store) => store.into(),
        }
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let body = Problem {
            type_: "about:blank".into(),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// What every reading operation may answer about its caller (named in its `responses(...)`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: answers are built by `ApiProblem`
pub enum ReadRefusals {
    #[response(status = 401, description = "No or invalid token", content_type = "application/problem+json")]
    Unauthenticated(Problem),
    #[response(status = 403, description = "Neither admin role", content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// What every changing operation may answer about its caller.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: answers are built by `ApiProblem`
pub enum WriteRefusals {
    #[response(status = 401, description = "No or invalid token", content_type = "application/problem+json")]
    Unauthenticated(Problem),
    #[response(status = 403, description = "Not Tokengate.Admin", content_type = "application/problem+json")]
    Forbidden(Problem),
}
