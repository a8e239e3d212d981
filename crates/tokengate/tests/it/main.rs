//! Integration tests: real `tokengate` processes, real HTTPS, real SQLite.

mod harness;

mod bad_input;
mod client_assertion;
mod client_credentials;
mod discovery;
mod operations;
