//! OpenID Connect discovery documents (v2.0 and v1.0) and MSAL's instance-discovery answer.

use serde::{Deserialize, Serialize};

/// `/{tenant}/v2.0/.well-known/openid-configuration`, field for field as Entra.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenIdConfiguration {
    pub token_endpoint: String,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub jwks_uri: String,
    pub response_modes_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub issuer: String,
    pub request_uri_parameter_supported: bool,
    pub userinfo_endpoint: String,
    pub authorization_endpoint: String,
    pub device_authorization_endpoint: String,
    pub http_logout_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub end_session_endpoint: String,
    pub claims_supported: Vec<String>,
    pub kerberos_endpoint: String,
    pub tenant_region_scope: Option<String>,
    pub cloud_instance_name: String,
    pub cloud_graph_host_name: String,
    pub msgraph_host: String,
    pub rbac_url: String,
}

/// `/{tenant}/.well-known/openid-configuration` (v1.0): same fields, plus `check_session_iframe`;
/// the issuer is `https://sts.windows.net/{tid}/`-shaped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenIdConfigurationV1 {
    #[serde(flatten)]
    pub base: OpenIdConfiguration,
    pub check_session_iframe: String,
}

/// One alias set in MSAL's instance-discovery metadata.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstanceMetadata {
    pub preferred_network: String,
    pub preferred_cache: String,
    pub aliases: Vec<String>,
}

/// `GET /common/discovery/instance?api-version=1.1&authorization_endpoint=...`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstanceDiscovery {
    pub tenant_discovery_endpoint: String,
    #[serde(rename = "api-version")]
    pub api_version: String,
    pub metadata: Vec<InstanceMetadata>,
}
