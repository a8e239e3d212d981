//! Access-token claims, v1.0 and v2.0, in Entra's field order. One struct serves both versions:
//! fields absent in a version are `None` and not serialized.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct AccessTokenClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aio: String,
    /// v1 only: client id of the caller.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub appid: Option<String>,
    /// v1 only: how the caller authenticated (0 public, 1 secret, 2 certificate).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub appidacr: Option<String>,
    /// v2 only: client id of the caller.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub azp: Option<String>,
    /// v2 only: how the caller authenticated (0 public, 1 secret, 2 certificate).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub azpacr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub idtyp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    pub oid: String,
    /// v2 delegated tokens: the user's sign-in name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub preferred_username: Option<String>,
    pub rh: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<String>>,
    /// Delegated tokens only; app-only tokens never carry `scp`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scp: Option<String>,
    pub sub: String,
    pub tid: String,
    /// v1 delegated tokens: the user's name as `unique_name` and `upn`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unique_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub upn: Option<String>,
    pub uti: String,
    pub ver: String,
    /// Group object ids, when the app asks for them and there are at most 200.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub groups: Option<Vec<String>>,
    /// Entra's overage form when there are more groups than fit in a token.
    #[serde(rename = "_claim_names", skip_serializing_if = "Option::is_none", default)]
    pub claim_names: Option<serde_json::Value>,
    #[serde(rename = "_claim_sources", skip_serializing_if = "Option::is_none", default)]
    pub claim_sources: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xms_cc: Option<Vec<String>>,
}

/// ID token claims (OpenID Connect Core §2 as Entra's v2.0 endpoint issues them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct IdTokenClaims {
    /// The client id of the app that signed the user in.
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub aio: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    pub oid: String,
    pub preferred_username: String,
    pub rh: String,
    /// Session id (for front-channel logout).
    pub sid: String,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
}
