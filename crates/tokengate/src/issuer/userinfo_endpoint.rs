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

pub async fn userinfo(State(state): State<Arc<IssuerState>>, headers: HeaderMap) -> Response {
    let values: Vec<&[u8]> = headers.get_all(header::AUTHORIZATION).iter().map(HeaderValue::as_bytes).collect();
    let token = match bearer_token(&values, false, DEFAULT_MAX_TOKEN_LEN) {
        Ok(t) => t,
        Err(Rejection::NoToken) => return challenge(None),
        Err(_) => return challenge(Some("invalid_request")),
    };
    let Some(verified) = state.own_tokens.verify(token, now()).await else {
        return challenge(Some("invalid_token"));
    };
    let (Some(oid), Some(client), Some(tid)) =
        (verified.oid.as_deref(), verified.client_id.as_deref(), verified.tid.as_deref())
    else {
        return challenge(Some("invalid_token"));
    };
    // As at Entra, userinfo takes the token minted for it (asked for with OpenID scopes only), not
    // a token for some API: an API's token stays with that API.
    if verified.is_app_only() || !verified.aud.iter().any(|a| &**a == USERINFO_AUDIENCE) {
        return challenge(Some("invalid_token"));
    }
    let user = match Uuid::parse_str(oid) {
        Ok(id) => state.store.user(id).await.ok().flatten().filter(|u| u.enabled),
        Err(_) => None,
    };
    let Some(user) = user else { return challenge(Some("invalid_token")) };
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
    response
}

fn challenge(error: Option<&str>) -> Response {
    let value = match error {
        Some(e) => format!("Bearer realm=\"tokengate\", error=\"{e}\""),
        None => "Bearer realm=\"tokengate\"".to_owned(),
    };
    let status = match error {
        Some("invalid_request") => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNAUTHORIZED,
    };
    let mut response = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}
