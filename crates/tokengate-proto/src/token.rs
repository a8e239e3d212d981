//! Token endpoint success response (RFC 6749 §5.1 with Entra's extra fields).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub token_type: String,
    /// The requested scopes, echoed verbatim: MSAL's cache matches on this string.
    pub scope: String,
    pub expires_in: u64,
    pub ext_expires_in: u64,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id_token: Option<String>,
    /// base64url JSON `{"uid": oid, "utid": tid}`, only when the client sent `client_info=1`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_info: Option<String>,
}
