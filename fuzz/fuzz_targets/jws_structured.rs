//! Structured tokens: JSON-ish headers and payloads (deep nesting, duplicate and escaped member
//! names, huge numbers, invalid UTF-8) and broken encodings (padding, standard alphabet, extra
//! segments), base64url-encoded, parsed, and checked against the outcome the structure predicts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|spec: tokengate_fuzz::TokenSpec| {
    let _ = tokengate_fuzz::check_spec(&spec);
});
