//! OAuth 2.0 grants, one file per grant.

pub mod client_credentials;
pub mod device_code;
pub mod token_families;

use crate::keys::KeyRing;
use crate::store::Store;
use crate::tokens::TokenSettings;

/// What every grant needs to mint tokens.
pub struct Issuer<'a> {
    pub store: &'a dyn Store,
    pub keys: &'a KeyRing,
    pub settings: &'a TokenSettings,
    /// `https://host:port` as clients reach the issuer.
    pub base_url: &'a str,
}
