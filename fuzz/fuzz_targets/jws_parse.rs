//! Arbitrary bytes as a compact JWS: parsing and everything a caller does next must not panic,
//! and an accepted token must satisfy the parser's contract (see `tokengate_fuzz::check_token`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tokengate_fuzz::check_bytes(data));
