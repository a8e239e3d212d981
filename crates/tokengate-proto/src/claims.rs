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
    pub rh: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roles: Option<Vec<String>>,
    /// Delegated tokens only; app-only tokens never carry `scp`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scp: Option<String>,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub xms_cc: Option<Vec<String>>,
}
