//! tokengate: Entra ID token-based access control for APIs — issuer, gateway, control plane.

mod admin;
mod allocator_settings;
mod audit_checkpoints;
mod audit_writer;
mod audit_writer_metrics;
mod authentication;
mod cli;
mod client_address;
mod config;
mod connection_caps;
mod dashboard;
mod dev;
mod dev_dashboard_client;
mod dev_data_dir;
mod dev_error;
mod gateway;
mod idle_connection;
mod issuer;
#[cfg(test)]
mod layering_tests;
mod listener_limits;
mod listener_metrics;
mod per_core_listeners;
mod periodic;
mod policy_publishing;
mod revocation_feed;
mod revoke;
mod runtime;
mod server;
mod signing_keys;
mod state;
#[cfg(test)]
mod test_support;
mod web;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: measured under gateway load, glibc malloc's arena locking and consolidation were a
/// visible share of CPU with many small per-request allocations on two worker threads. Its
/// settings are in `allocator_settings.rs`; built with `no_thp`, it never asks for huge pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    allocator_settings::apply();
    let args = cli::Cli::parse();
    cli::init_logging(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        // One line a person can act on: each error's text already includes its cause, so the
        // `source` chain is not printed again.
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
