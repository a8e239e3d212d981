//! Who is calling, for any listener: a bearer token verified against the trusted issuers' keys
//! (cached per token, keys refetched on an unknown `kid`), then checked against the revocation
//! set and a set of requirements on every request. The gateway's HTTP routes use it, and so will
//! the admin API's bearer auth and listeners that speak other protocols: nothing here knows HTTP.
//! It sits below both the issuer and the gateway (the issuer verifies its own tokens with the
//! built-in issuer's key view from here).

pub mod authenticator;
pub mod builtin_issuer_keys;
pub mod issuer_trust;
pub mod remote_issuer_keys;

pub use authenticator::Authenticator;
pub use issuer_trust::{BuiltinKeys, IssuerTrust};
