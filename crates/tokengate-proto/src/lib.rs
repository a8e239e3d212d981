//! Wire types of tokengate: what goes over HTTP between OAuth 2.0 / OpenID Connect clients and
//! the issuer, shaped exactly as Microsoft Entra ID shapes them. No behaviour lives here: this
//! crate is serde types only, so every other crate and the tests can share them.

pub mod admin;
pub mod claims;
pub mod discovery;
pub mod error;
pub mod jwk;
pub mod token;

pub use claims::AccessTokenClaims;
pub use error::EntraErrorBody;
pub use jwk::{Jwk, JwkSet};
pub use token::TokenResponse;
