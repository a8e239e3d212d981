//! Discovery documents (v2.0 and v1.0), JWKS and MSAL instance discovery. Rendered once per
//! tenant and key generation, then served as precomputed bytes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokengate_core::tokens::{issuer_v1, issuer_v2};
use tokengate_core::OAuthError;
use tokengate_proto::discovery::{InstanceDiscovery, InstanceMetadata, OpenIdConfiguration, OpenIdConfigurationV1};

use super::error_response::{oauth_error_response, RequestIds};
use super::tenant_resolution::TenantSegment;
use crate::state::IssuerState;

const TENANT_TEMPLATE: &str = "{tenantid}";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Document {
    ConfigV2,
    ConfigV1,
    KeysV2,
    KeysV1,
}

pub async fn openid_configuration_v2(
    State(s): State<Arc<IssuerState>>,
    Path(t): Path<String>,
    h: HeaderMap,
) -> Response {
    serve(&s, &t, Document::ConfigV2, &h).await
}

pub async fn openid_configuration_v1(
    State(s): State<Arc<IssuerState>>,
    Path(t): Path<String>,
    h: HeaderMap,
) -> Response {
    serve(&s, &t, Document::ConfigV1, &h).await
}

pub async fn jwks_v2(State(s): State<Arc<IssuerState>>, Path(t): Path<String>, h: HeaderMap) -> Response {
    serve(&s, &t, Document::KeysV2, &h).await
}

pub async fn jwks_v1(State(s): State<Arc<IssuerState>>, Path(t): Path<String>, h: HeaderMap) -> Response {
    serve(&s, &t, Document::KeysV1, &h).await
}

async fn serve(state: &IssuerState, segment: &str, doc: Document, headers: &HeaderMap) -> Response {
    let ids = RequestIds::from_headers(headers);
    let resolved = match state.tenants.resolve(state.store.as_ref(), segment).await {
        Ok(Some(r)) => r,
        Ok(None) => {
            // Entra names this error `invalid_tenant` on metadata endpoints (`invalid_request`
            // on the token endpoint).
            let mut e = OAuthError::tenant_not_found(&printable(segment));
            e.error = "invalid_tenant";
            return oauth_error_response(&e, &ids, &state.base_url);
        }
        Err(e) => return oauth_error_response(&OAuthError::server_error(e.to_string()), &ids, &state.base_url),
    };
    // The tenant id (or alias) that appears in URLs and the issuer.
    let (path_tenant, issuer_tenant) = match &resolved {
        TenantSegment::Tenant(t) => (t.id.to_string(), t.id.to_string()),
        TenantSegment::MultiTenant(alias) => ((*alias).to_owned(), TENANT_TEMPLATE.to_owned()),
    };
    let generation = state.keys.current().generation;
    let cache_key = format!("{}:{}", doc as u8, path_tenant);
    // Copy out of the map before inserting: holding a DashMap read guard across an insert into
    // the same shard deadlocks.
    let cached = state.documents.get(&cache_key).filter(|entry| entry.0 == generation).map(|entry| entry.1.clone());
    let body = match cached {
        Some(body) => body,
        None => {
            let rendered = render(state, doc, &path_tenant, &issuer_tenant);
            state.documents.insert(cache_key, (generation, rendered.clone()));
            rendered
        }
    };
    let mut response = ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

fn render(state: &IssuerState, doc: Document, path_tenant: &str, issuer_tenant: &str) -> Bytes {
    let base = state.base_url.as_str();
    let json = match doc {
        Document::ConfigV2 => {
            serde_json::to_vec(&Extended::v2(config_v2(base, path_tenant, issuer_tenant), base, path_tenant))
        }
        Document::ConfigV1 => {
            serde_json::to_vec(&Extended::v1(config_v1(base, path_tenant, issuer_tenant), base, path_tenant))
        }
        Document::KeysV2 => serde_json::to_vec(&state.keys.current().jwks(Some(&issuer_v2(base, issuer_tenant)))),
        Document::KeysV1 => serde_json::to_vec(&state.keys.current().jwks(None)),
    };
    Bytes::from(json.unwrap_or_default())
}

/// tokengate's documented extensions to Entra's documents, under their RFC 8414 names: the
/// revocation (RFC 7009) and introspection (RFC 7662) endpoints Entra does not have. They follow
/// Entra's keys, which stay exactly as Entra's.
#[derive(Serialize)]
struct Extended<T> {
    #[serde(flatten)]
    entra: T,
    revocation_endpoint: String,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint: String,
    introspection_endpoint_auth_methods_supported: Vec<String>,
}

/// Confidential clients authenticate as at the token endpoint.
const CLIENT_AUTH_METHODS: [&str; 3] = ["client_secret_post", "private_key_jwt", "client_secret_basic"];
/// A public client may revoke what was issued to it, naming itself by `client_id` alone.
const REVOCATION_AUTH_METHODS: [&str; 4] = ["client_secret_post", "private_key_jwt", "client_secret_basic", "none"];

impl<T> Extended<T> {
    fn v2(entra: T, base: &str, t: &str) -> Extended<T> {
        Extended::at(entra, format!("{base}/{t}/oauth2/v2.0"))
    }

    fn v1(entra: T, base: &str, t: &str) -> Extended<T> {
        Extended::at(entra, format!("{base}/{t}/oauth2"))
    }

    fn at(entra: T, oauth2: String) -> Extended<T> {
        Extended {
            entra,
            revocation_endpoint: format!("{oauth2}/revoke"),
            revocation_endpoint_auth_methods_supported: strings(&REVOCATION_AUTH_METHODS),
            introspection_endpoint: format!("{oauth2}/introspect"),
            introspection_endpoint_auth_methods_supported: strings(&CLIENT_AUTH_METHODS),
        }
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn host_of(base: &str) -> &str {
    base.split_once("://").map(|(_, rest)| rest).unwrap_or(base)
}

fn config_v2(base: &str, t: &str, issuer_tenant: &str) -> OpenIdConfiguration {
    OpenIdConfiguration {
        token_endpoint: format!("{base}/{t}/oauth2/v2.0/token"),
        token_endpoint_auth_methods_supported: strings(&CLIENT_AUTH_METHODS),
        jwks_uri: format!("{base}/{t}/discovery/v2.0/keys"),
        response_modes_supported: strings(&["query", "fragment", "form_post"]),
        subject_types_supported: strings(&["pairwise"]),
        id_token_signing_alg_values_supported: strings(&["RS256"]),
        response_types_supported: strings(&["code", "id_token", "code id_token", "id_token token"]),
        scopes_supported: strings(&["openid", "profile", "email", "offline_access"]),
        issuer: issuer_v2(base, issuer_tenant),
        request_uri_parameter_supported: false,
        userinfo_endpoint: format!("{base}/oidc/userinfo"),
        authorization_endpoint: format!("{base}/{t}/oauth2/v2.0/authorize"),
        device_authorization_endpoint: format!("{base}/{t}/oauth2/v2.0/devicecode"),
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: format!("{base}/{t}/oauth2/v2.0/logout"),
        claims_supported: strings(&[
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ]),
        kerberos_endpoint: format!("{base}/{t}/kerberos"),
        tenant_region_scope: if issuer_tenant == TENANT_TEMPLATE { None } else { Some("NA".into()) },
        cloud_instance_name: host_of(base).to_owned(),
        cloud_graph_host_name: "graph.windows.net".into(),
        msgraph_host: "graph.microsoft.com".into(),
        rbac_url: "https://pas.windows.net".into(),
    }
}

fn config_v1(base: &str, t: &str, issuer_tenant: &str) -> OpenIdConfigurationV1 {
    let mut v2 = config_v2(base, t, issuer_tenant);
    v2.token_endpoint = format!("{base}/{t}/oauth2/token");
    v2.jwks_uri = format!("{base}/common/discovery/keys");
    v2.issuer = issuer_v1(base, issuer_tenant);
    v2.authorization_endpoint = format!("{base}/{t}/oauth2/authorize");
    v2.device_authorization_endpoint = format!("{base}/{t}/oauth2/devicecode");
    v2.end_session_endpoint = format!("{base}/{t}/oauth2/logout");
    v2.scopes_supported = strings(&["openid"]);
    v2.response_types_supported = strings(&["code", "id_token", "code id_token", "token id_token", "token"]);
    OpenIdConfigurationV1 { base: v2, check_session_iframe: format!("{base}/{t}/oauth2/checksession") }
}

#[derive(Deserialize)]
pub struct InstanceQuery {
    authorization_endpoint: Option<String>,
}

/// MSAL's instance discovery: maps an authority to its metadata and aliases.
pub async fn instance_discovery(
    State(state): State<Arc<IssuerState>>,
    Query(q): Query<InstanceQuery>,
    headers: HeaderMap,
) -> Response {
    let ids = RequestIds::from_headers(&headers);
    let Some(endpoint) = q.authorization_endpoint else {
        let e = OAuthError::invalid_request(
            tokengate_core::errors::codes::MISSING_PARAMETER,
            "The request must contain the following parameter: 'authorization_endpoint'.",
        );
        return oauth_error_response(&e, &ids, &state.base_url);
    };
    let tenant = endpoint
        .split_once("://")
        .and_then(|(_, rest)| rest.split('/').nth(1))
        .filter(|t| !t.is_empty())
        .unwrap_or("common");
    let host = host_of(&state.base_url).to_owned();
    let body = InstanceDiscovery {
        tenant_discovery_endpoint: format!(
            "{}/{}/v2.0/.well-known/openid-configuration",
            state.base_url,
            printable(tenant)
        ),
        api_version: "1.1".into(),
        metadata: vec![InstanceMetadata {
            preferred_network: host.clone(),
            preferred_cache: host.clone(),
            aliases: vec![host],
        }],
    };
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=86400, private"));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A tenant segment safe to echo in an error message.
fn printable(segment: &str) -> String {
    segment.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).take(64).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use crate::test_support::{body_text, directory, send};

    const EXTENSION_KEYS: [&str; 4] = [
        "revocation_endpoint",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint",
        "introspection_endpoint_auth_methods_supported",
    ];

    /// The served document minus the extension keys: exactly Entra's.
    fn without_extensions(mut served: serde_json::Value) -> serde_json::Value {
        for key in EXTENSION_KEYS {
            served.as_object_mut().unwrap().remove(key);
        }
        served
    }

    #[test]
    fn extensions_only_add_keys_to_entras_documents() {
        let base = "https://issuer.test";
        let v2 = serde_json::to_value(Extended::v2(config_v2(base, "t", "t"), base, "t")).unwrap();
        assert_eq!(v2["revocation_endpoint"], "https://issuer.test/t/oauth2/v2.0/revoke");
        assert_eq!(v2["introspection_endpoint"], "https://issuer.test/t/oauth2/v2.0/introspect");
        assert_eq!(v2["revocation_endpoint_auth_methods_supported"][3], "none", "public clients revoke their own");
        assert_eq!(v2["introspection_endpoint_auth_methods_supported"], v2["token_endpoint_auth_methods_supported"]);
        assert_eq!(without_extensions(v2), serde_json::to_value(config_v2(base, "t", "t")).unwrap());

        let v1 = serde_json::to_value(Extended::v1(config_v1(base, "t", "t"), base, "t")).unwrap();
        assert_eq!(v1["revocation_endpoint"], "https://issuer.test/t/oauth2/revoke");
        assert_eq!(v1["introspection_endpoint"], "https://issuer.test/t/oauth2/introspect");
        assert_eq!(without_extensions(v1), serde_json::to_value(config_v1(base, "t", "t")).unwrap());
    }

    #[tokio::test]
    async fn the_served_document_names_the_endpoints_the_router_answers() {
        let dir = directory().await;
        let tid = dir.tenant.id;
        let request = axum::http::Request::builder()
            .uri(format!("/{tid}/v2.0/.well-known/openid-configuration"))
            .body(axum::body::Body::empty())
            .unwrap();
        let response = send(crate::issuer::router(dir.issuer_state()), request).await;
        let doc: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        for (key, endpoint) in [("revocation_endpoint", "revoke"), ("introspection_endpoint", "introspect")] {
            assert_eq!(doc[key], format!("https://issuer.test/{tid}/oauth2/v2.0/{endpoint}"));
            let path = doc[key].as_str().unwrap().trim_start_matches("https://issuer.test").to_owned();
            let request = axum::http::Request::builder()
                .method("POST")
                .uri(path)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from("token=x"))
                .unwrap();
            let response = send(crate::issuer::router(dir.issuer_state()), request).await;
            assert_eq!(response.status(), 401, "{key}: routed, and asks the caller to authenticate");
        }
    }
}
