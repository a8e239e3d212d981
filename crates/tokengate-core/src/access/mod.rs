//! The gateway's decisions, without HTTP: extracting a bearer token, verifying it against the
//! trusted issuers' keys, the per-route policy, the revocation set and the verified-token cache.
//! Every rejection carries a reason code for the audit log; none carries the token.

pub mod bearer;
pub mod claim_interner;
pub mod decision_facts;
pub mod denial_description;
pub mod policy;
pub mod policy_diff;
pub mod policy_document;
pub mod policy_explanation;
pub mod rejection;
pub mod request_path;
pub mod revocation;
pub mod token_validation;
pub mod trusted_issuer;
pub mod verified_cache;
pub mod verifying_keys;

pub use rejection::Rejection;
pub use token_validation::VerifiedToken;
