//! Every decision tokengate makes, with no HTTP framework and no SQL: signing keys and token
//! minting, JWS parsing, client authentication, grants (one file per grant), the directory model,
//! audit events and the store traits. Functions that depend on time take `now` (unix seconds).

pub mod access;
pub mod api_permissions;
pub mod audit;
pub mod audit_chain;
pub mod audit_checkpoint;
pub mod audit_records;
pub mod audit_verify;
pub mod client_auth;
pub mod directory;
pub mod directory_admin;
pub mod directory_removals;
pub mod directory_updates;
pub mod encoding;
pub mod errors;
pub mod grants;
pub mod jws;
pub mod keys;
pub mod passwords;
pub mod pkce;
pub mod policy_versions;
pub mod rate_limit;
pub mod redirect_uri;
pub mod revocations;
pub mod scope;
pub mod secrets;
pub mod sign_in_lockout;
pub mod store;
pub mod tokens;

pub use errors::OAuthError;

/// Unix time in seconds. Passed in everywhere so tests control the clock.
pub type UnixTime = i64;
