//! tokengate: Entra ID token-based access control for APIs — issuer, gateway, control plane.

mod admin;
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
/// visible share of CPU with many small per-request allocations on two worker threads. Built
/// with `no_thp` (it does not ask for huge pages), and see `without_transparent_huge_pages`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Transparent huge pages off for this process. mimalloc's arenas are huge-page aligned, so with
/// THP every touched 2 MiB of heap became resident whole: measured, 56 MB idle and 148 MB with
/// 100,000 cached tokens, against 45 and 119 MB without (bench/gateway_memory.sh), at the same
/// request rate. `no_thp` covers hosts where THP is `madvise` (Debian's default); this covers
/// `always` (RHEL's), from here on.
fn without_transparent_huge_pages() {
    // Failing (a kernel before 3.15) only leaves the host's setting in force.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
}

fn main() -> ExitCode {
    without_transparent_huge_pages();
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
