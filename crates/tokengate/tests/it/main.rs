//! Integration tests: real `tokengate` processes, real HTTPS, real SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

mod browser;
mod cluster;
mod harness;
mod upstream;

mod admin_api;
mod api_permissions;
mod audit_log;
mod bad_input;
mod cli_crud;
mod cli_on_api;
mod client_assertion;
mod client_credentials;
mod data_dir_safety;
mod delegated_flows;
mod device_code_flow;
mod discovery;
mod gateway;
mod gateway_remote_issuer;
mod gateway_requests;
mod gateway_token_shapes;
mod issuer_metrics;
mod key_removal;
mod kill_switch;
mod listener_limits;
mod on_behalf_of;
mod operations;
mod policy_versions;
mod refresh_durability;
mod refresh_grace_race;
mod sessions_and_lockout;
mod spa_and_hybrid_clients;
mod token_cli;
