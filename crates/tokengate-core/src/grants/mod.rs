//! OAuth 2.0 grants, one file per grant.

pub mod client_credentials;
