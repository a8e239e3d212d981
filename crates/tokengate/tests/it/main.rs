//! Integration tests: real `tokengate` processes, real HTTPS, real SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod browser;
mod harness;
mod upstream;

mod bad_input;
mod client_assertion;
mod client_credentials;
mod delegated_flows;
mod device_code_flow;
mod discovery;
mod gateway;
mod gateway_remote_issuer;
mod on_behalf_of;
mod operations;
mod refresh_durability;
mod sessions_and_lockout;
