//! `GET|POST /oidc/userinfo` (OpenID Connect Core §5.3): the signed-in user's profile, for the
//! access token a sign-in with only OpenID scopes returns. RFC 6750 errors like the gateway's.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::access::bearer::{bearer_token, DEFAULT_MAX_TOKEN_LEN};
use tokengate_core::access::Rejection;
use tokengate_core::grants::delegated_issuance::USERINFO_AUDIENCE;
use tokengate_core::tokens::delegated_token::pairwise_subject;
use uuid::Uuid;

use crate::state::{now, IssuerState};

/// Why userinfo refused a request: an RFC 6750 challenge, decided in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserinfoError {
    /// No bearer token: a bare challenge.
    NoToken,
    /// More than one token, or a malformed `Authorization` header.
    InvalidRequest,
    /// Not a live token of ours for userinfo, or its user is gone or disabled.
    InvalidToken,
}

impl IntoResponse for UserinfoError {
    fn into_response(self) -> Response {
        let (status, challenge) = match self {
            UserinfoError::NoToken => (StatusCode::UNAUTHORIZED, "Bearer realm=\"tokengate\""),
            UserinfoError::InvalidRequest => {
                (StatusCode::BAD_REQUEST, "Bearer realm=\"tokengate\", error=\"invalid_request\"")
            }
            UserinfoError::InvalidToken => {
                (StatusCode::UNAUTHORIZED, "Bearer realm=\"tokengate\", error=\"invalid_token\"")
            }
        };
        (status, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
    }
}

pub async fn userinfo(State(state): State<Arc<IssuerState>>, headers: HeaderMap) -> Result<Response, UserinfoError> {
    let values: Vec<&[u8]> = headers.get_all(header::AUTHORIZATION).iter().map(HeaderValue::as_bytes).collect();
    let token = bearer_token(&values, false, DEFAULT_MAX_TOKEN_LEN).map_err(|r| match r {
        Rejection::NoToken => UserinfoError::NoToken,
        _ => UserinfoError::InvalidRequest,
    })?;
    let verified = state.own_tokens.verify(token, now()).await.ok_or(UserinfoError::InvalidToken)?;
    let (Some(oid), Some(client), Some(tid)) =
        (verified.oid.as_deref(), verified.client_id.as_deref(), verified.tid.as_deref())
    else {
        return Err(UserinfoError::InvalidToken);
    };
    // As at Entra, userinfo takes the token minted for it (asked for with OpenID scopes only), not
    // a token for some API: an API's token stays with that API.
    if verified.is_app_only() || !verified.aud.iter().any(|a| &**a == USERINFO_AUDIENCE) {
        return Err(UserinfoError::InvalidToken);
    }
    let user = match Uuid::parse_str(oid) {
        Ok(id) => state.store.user(id).await.ok().flatten().filter(|u| u.enabled),
        Err(_) => None,
    };
    let user = user.ok_or(UserinfoError::InvalidToken)?;
    let body = serde_json::json!({
        "sub": pairwise_subject(oid, client, tid),
        "oid": oid,
        "tid": tid,
        "name": user.display_name,
        "preferred_username": user.user_principal_name,
        "email": user.user_principal_name,
    });
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
