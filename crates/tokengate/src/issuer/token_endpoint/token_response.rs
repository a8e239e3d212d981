//! The one writer of successful token responses, v2 and v1 alike, from what any grant issued.
//! v2 is `TokenResponse`; v1 (ADAL-era clients) answers with string numbers,
//! `expires_on`/`not_before` and `resource`, as Entra does.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokengate_core::grants::delegated_issuance::client_info;
use tokengate_proto::TokenResponse;

use super::{Endpoint, Granted};
use crate::issuer::error_response::{add_request_ids, no_store, RequestIds};

/// What a response carries, whichever grant issued it.
struct Issued<'a> {
    access_token: &'a str,
    expires_in: u64,
    exp: i64,
    nbf: i64,
    aud: &'a str,
    /// v2's `scope`: what was asked for (client credentials) or granted (user grants).
    scope: String,
    /// v1's `scope`: the granted permissions by value (user grants only).
    v1_scope: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
    client_info: Option<String>,
}

/// `requested_scope` is what a client-credentials request asked for (its v2 answer repeats it).
pub fn token_response(granted: &Granted, endpoint: Endpoint, requested_scope: &str, ids: &RequestIds) -> Response {
    let issued = match granted {
        Granted::AppOnly(t) => Issued {
            access_token: &t.access_token,
            expires_in: t.expires_in.max(0) as u64,
            exp: t.claims.exp,
            nbf: t.claims.nbf,
            aud: &t.claims.aud,
            scope: requested_scope.to_owned(),
            v1_scope: None,
            refresh_token: None,
            id_token: None,
            client_info: None,
        },
        Granted::User { tokens, tenant_id, client_info: with_client_info } => {
            let t = &tokens.tokens;
            Issued {
                access_token: &t.access_token,
                expires_in: t.expires_in.max(0) as u64,
                exp: t.claims.exp,
                nbf: t.claims.nbf,
                aud: &t.claims.aud,
                scope: tokens.scope.clone(),
                v1_scope: Some(t.claims.scp.clone().unwrap_or_default()),
                refresh_token: t.refresh.as_ref().map(|(token, _)| token.clone()),
                id_token: t.id_token.clone(),
                client_info: with_client_info.then(|| client_info(tokens.user_id, *tenant_id)),
            }
        }
    };
    let body = match endpoint {
        Endpoint::V2 => serde_json::to_vec(&TokenResponse {
            token_type: "Bearer".into(),
            scope: issued.scope,
            expires_in: issued.expires_in,
            ext_expires_in: issued.expires_in,
            access_token: issued.access_token.to_owned(),
            refresh_token: issued.refresh_token,
            id_token: issued.id_token,
            client_info: issued.client_info,
        }),
        Endpoint::V1 => {
            let mut body = serde_json::json!({ "token_type": "Bearer" });
            if let Some(scope) = issued.v1_scope {
                body["scope"] = scope.into();
            }
            for (name, value) in [
                ("expires_in", issued.expires_in.to_string()),
                ("ext_expires_in", issued.expires_in.to_string()),
                ("expires_on", issued.exp.to_string()),
                ("not_before", issued.nbf.to_string()),
            ] {
                body[name] = value.into();
            }
            body["resource"] = issued.aud.into();
            body["access_token"] = issued.access_token.into();
            for (name, value) in [
                ("refresh_token", issued.refresh_token),
                ("id_token", issued.id_token),
                ("client_info", issued.client_info),
            ] {
                if let Some(v) = value {
                    body[name] = v.into();
                }
            }
            serde_json::to_vec(&body)
        }
    };
    let mut response = (StatusCode::OK, body.unwrap_or_default()).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    no_store(h);
    add_request_ids(h, ids);
    response
}
