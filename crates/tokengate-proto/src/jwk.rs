//! JSON Web Keys (RFC 7517) as Entra publishes them: RSA, `use` sig, `kid` = `x5t`, the
//! self-signed certificate in `x5c`, and the `issuer` the key signs for.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    pub x5t: String,
    pub n: String,
    pub e: String,
    pub x5c: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}
