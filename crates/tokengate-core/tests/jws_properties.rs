//! Property tests for the compact-JWS parser (`tokengate_core::jws`): whatever a client sends,
//! parsing answers with a value or a precise error, never a panic, and never accepts a token the
//! module's contract (three unpadded base64url segments, unique top-level members, bounded size)
//! forbids. Case counts are bounded so the file runs in a few seconds under `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Map, Number, Value};
use tokengate_core::encoding::b64url;
use tokengate_core::jws::{parse_compact, BadClaim, JwsAlgorithm, JwsError, MAX_JWS_LEN};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported in the test output; no regression files written into src/.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn token_of(header: &str, payload: &str, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64url(header), b64url(payload), b64url(signature))
}

/// JSON values that survive a serialise/parse round trip exactly: floats are small dyadic
/// fractions (short decimal forms, no rounding in serde_json's fast float path).
fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1_000_000_000i64..1_000_000_000, 0u32..8).prop_map(|(m, k)| {
            let f = m as f64 / f64::from(1u32 << k);
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }),
        any::<String>().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A JSON object (unique member names by construction) with no `crit` member.
fn json_object() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map(
        prop_oneof!["[a-z]{1,6}", Just("alg".to_string()), Just("exp".to_string()), any::<String>()],
        json_value(),
        0..8,
    )
    .prop_map(|mut m| {
        m.remove("crit");
        m
    })
}

fn object_text(members: &BTreeMap<String, Value>) -> String {
    serde_json::to_string(members).unwrap()
}

/// A member name written as JSON, either plainly or with every UTF-16 unit `\u`-escaped: both
/// spellings name the same member.
fn key_text(name: &str, escaped: bool) -> String {
    if escaped {
        let mut out = String::from("\"");
        for unit in name.encode_utf16() {
            out.push_str(&format!("\\u{unit:04x}"));
        }
        out.push('"');
        out
    } else {
        serde_json::to_string(name).unwrap()
    }
}

fn b64url_char() -> impl Strategy<Value = char> {
    prop::sample::select("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".chars().collect::<Vec<_>>())
}

/// What `UniqueObject::numeric_date` must answer for a JSON number spelled `text`, computed
/// independently of serde_json: `None` = rejected, `Some(secs)` = accepted (truncated).
/// Integers accepted are every `i64` (the method does not range-check integers); other numbers
/// must be finite and strictly within ±1e15.
fn numeric_date_oracle(text: &str) -> Option<i64> {
    let integral = !text.contains(['.', 'e', 'E']);
    if integral {
        if let Ok(i) = text.parse::<i64>() {
            // Same bound as floats: larger dates would only overflow `exp + skew` downstream.
            return (-1_000_000_000_000_000..1_000_000_000_000_000).contains(&i).then_some(i);
        }
    }
    let f: f64 = text.parse().ok()?;
    (f.is_finite() && f > -1e15 && f < 1e15).then_some(f as i64)
}

/// JSON number literals: short and long mantissas, fractions, exponents up to ±999 (serde_json
/// rejects literals that overflow f64), `-0`, integers just past the i64/u64 limits.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        any::<u64>().prop_map(|u| u.to_string()),
        Just("-0".to_string()),
        Just("-0.0".to_string()),
        Just("9223372036854775808".to_string()),
        Just("-9223372036854775809".to_string()),
        Just("18446744073709551616".to_string()),
        Just("999999999999999.9".to_string()),
        Just("1e15".to_string()),
        Just("-1e15".to_string()),
        Just("1e999".to_string()),
        Just("-1e999".to_string()),
        Just("1e-999".to_string()),
        (any::<bool>(), "[1-9][0-9]{0,24}", prop::option::of("[0-9]{1,12}"), prop::option::of(-40i32..40)).prop_map(
            |(neg, int, frac, exp)| {
                let mut s = String::new();
                if neg {
                    s.push('-');
                }
                s.push_str(&int);
                if let Some(frac) = frac {
                    s.push('.');
                    s.push_str(&frac);
                }
                if let Some(exp) = exp {
                    s.push_str(&format!("e{exp}"));
                }
                s
            }
        ),
        (any::<bool>(), -999i32..999).prop_map(|(neg, e)| format!("{}1.5e{e}", if neg { "-" } else { "" })),
    ]
}

proptest! {
    #![proptest_config(config(2000))]

    /// (a) Any string — arbitrary Unicode, or text drawn from the token alphabet so that the
    /// splitting and base64 layers are exercised — is answered without a panic; an accepted token
    /// satisfies the structural contract.
    #[test]
    fn arbitrary_strings_never_panic(
        text in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9_=+/. -]{0,200}",
            "(eyJ[A-Za-z0-9_-]{0,40}\\.){1,4}[A-Za-z0-9_=-]{0,40}",
        ],
        max_len in prop_oneof![Just(MAX_JWS_LEN), 0usize..256],
    ) {
        if let Ok(jws) = parse_compact(&text, max_len) {
            prop_assert!(text.len() <= max_len);
            let segments: Vec<&str> = text.split('.').collect();
            prop_assert_eq!(segments.len(), 3);
            prop_assert_eq!(jws.signing_input, &text[..segments[0].len() + 1 + segments[1].len()]);
            // Strict decoding is canonical: the signature re-encodes to exactly its segment.
            prop_assert_eq!(b64url(&jws.signature), segments[2]);
            prop_assert!(jws.header.get("crit").is_none());
            let _ = jws.algorithm(&[JwsAlgorithm::Rs256, JwsAlgorithm::Ps256]);
            let _ = jws.claims.numeric_date("exp");
            let _ = jws.claims.str("iss");
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// (b) Three base64url segments of JSON objects parse back to the same members, signature
    /// bytes and signing input.
    #[test]
    fn valid_segments_round_trip(
        header in json_object(),
        claims in json_object(),
        signature in prop::collection::vec(any::<u8>(), 1..300),
    ) {
        let token = token_of(&object_text(&header), &object_text(&claims), &signature);
        let jws = parse_compact(&token, usize::MAX).unwrap();
        prop_assert_eq!(&jws.header.0, &header);
        prop_assert_eq!(&jws.claims.0, &claims);
        prop_assert_eq!(&jws.signature, &signature);
        let dot = token.rfind('.').unwrap();
        prop_assert_eq!(jws.signing_input, &token[..dot]);
    }

    /// (c) A member name given twice at the top level of the header or the payload is always
    /// rejected, wherever the two occurrences sit, whatever the values, and also when the two
    /// spellings differ only by `\u` escapes.
    #[test]
    fn duplicate_member_names_are_rejected(
        others in json_object(),
        name in prop_oneof!["[a-z]{1,6}", Just("alg".to_string()), any::<String>()],
        first in json_value(),
        second in json_value(),
        escape_first in any::<bool>(),
        escape_second in any::<bool>(),
        positions in (0usize..16, 0usize..16),
        in_header in any::<bool>(),
    ) {
        let mut members: Vec<String> = others
            .iter()
            .filter(|(k, _)| **k != name)
            .map(|(k, v)| format!("{}:{}", key_text(k, false), serde_json::to_string(v).unwrap()))
            .collect();
        let a = format!("{}:{}", key_text(&name, escape_first), serde_json::to_string(&first).unwrap());
        let b = format!("{}:{}", key_text(&name, escape_second), serde_json::to_string(&second).unwrap());
        let i = positions.0 % (members.len() + 1);
        members.insert(i, a);
        let j = i + 1 + positions.1 % (members.len() - i);
        members.insert(j, b);
        let object = format!("{{{}}}", members.join(","));
        let token = if in_header {
            token_of(&object, "{}", b"sig")
        } else {
            token_of(r#"{"alg":"RS256"}"#, &object, b"sig")
        };
        let result = parse_compact(&token, usize::MAX);
        prop_assert!(matches!(result, Err(JwsError::Json(_))), "{object} gave {result:?}");
    }

    /// (d) A token longer than `max_len` is `TooLarge` whatever it contains (checked first, before
    /// any decoding); one of exactly `max_len` bytes is not.
    #[test]
    fn oversized_tokens_are_too_large(
        header in json_object(),
        claims in json_object(),
        max_len in 0usize..400,
        junk in "[A-Za-z0-9_=.+/-]{0,64}",
    ) {
        let token = token_of(&object_text(&header), &object_text(&claims), b"sig");
        if token.len() > max_len {
            prop_assert_eq!(parse_compact(&token, max_len).err(), Some(JwsError::TooLarge));
        } else {
            prop_assert!(parse_compact(&token, max_len).is_ok());
            prop_assert!(parse_compact(&token, token.len()).is_ok());
        }
        let longer = format!("{token}{junk}x");
        prop_assert_eq!(parse_compact(&longer, longer.len() - 1).err(), Some(JwsError::TooLarge));
        // The default limit, reached with otherwise valid padding-free base64url.
        let big = format!("{}.{}.{}", b64url("{}"), "A".repeat(MAX_JWS_LEN), b64url("s"));
        prop_assert_eq!(parse_compact(&big, MAX_JWS_LEN).err(), Some(JwsError::TooLarge));
    }

    /// (e) Fewer or more than three segments, or an empty one among three, is `Segments` even
    /// when every segment is valid base64url of a JSON object. (No size limit here: the size
    /// check comes first and is property (d).)
    #[test]
    fn wrong_segment_count_is_segments(
        count in (0usize..9).prop_filter("not three", |n| *n != 3),
        header in json_object(),
        empty in 0usize..3,
    ) {
        let segment = b64url(object_text(&header));
        let token = vec![segment.as_str(); count].join(".");
        prop_assert_eq!(parse_compact(&token, usize::MAX).err(), Some(JwsError::Segments));
        let mut three = [segment.as_str(); 3];
        three[empty] = "";
        prop_assert_eq!(
            parse_compact(&three.join("."), usize::MAX).err(),
            Some(JwsError::Segments)
        );
    }

    /// (f) Padding (`=`), the standard alphabet's `+` and `/`, whitespace, or a stray `%` in any
    /// segment is `Base64`; so is a segment with a non-canonical length (4n+1).
    #[test]
    fn non_base64url_segments_are_base64_errors(
        header in json_object(),
        claims in json_object(),
        signature in prop::collection::vec(any::<u8>(), 1..64),
        which in 0usize..3,
        damage in prop::sample::select(vec!["=", "==", "+", "/", " ", "\n", "%", "A"]),
        at in any::<prop::sample::Index>(),
        filler in prop::collection::vec(b64url_char(), 0..3),
    ) {
        let token = token_of(&object_text(&header), &object_text(&claims), &signature);
        let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
        let segment = &mut segments[which];
        if damage.starts_with('=') {
            // Padding appended after the data, as a padding encoder would.
            segment.push_str(damage);
        } else if damage == "A" {
            // Grow the segment to a length no base64 encoding has (4n+1).
            let mut filler = filler.iter().copied().chain(std::iter::repeat('A'));
            while segment.len() % 4 != 1 {
                segment.extend(filler.next());
            }
        } else {
            let i = at.index(segment.len() + 1);
            segment.insert_str(i, damage);
        }
        let damaged = segments.join(".");
        prop_assert_eq!(parse_compact(&damaged, usize::MAX).err(), Some(JwsError::Base64));
    }

    /// (g) `numeric_date` never panics, accepts exactly integers (any i64) and finite numbers
    /// strictly within ±1e15 (truncated toward zero), and rejects every other type. Numeric
    /// literals that overflow f64 (1e999) do not parse at all.
    #[test]
    fn numeric_date_accepts_exactly_numbers_in_range(literal in number_literal()) {
        let token = token_of("{}", &format!(r#"{{"exp":{literal}}}"#), b"s");
        let parsed = parse_compact(&token, MAX_JWS_LEN);
        let exact: f64 = literal.parse().unwrap();
        if !exact.is_finite() {
            prop_assert!(matches!(parsed, Err(JwsError::Json(_))), "{literal}: {parsed:?}");
            return Ok(());
        }
        let jws = parsed.unwrap();
        let got = jws.claims.numeric_date("exp");
        match (numeric_date_oracle(&literal), got) {
            (Some(want), Ok(Some(secs))) => {
                // serde_json's default float parser may be an ulp off the correctly rounded
                // value for long literals (so truncation may land one second off); short
                // literals must be exact.
                let tolerance = if literal.len() < 16 { 0 } else { 1 };
                prop_assert!((want - secs).abs() <= tolerance, "{literal}: want {want}, got {secs}");
            }
            (None, Err(BadClaim)) => {}
            (want, got) => {
                // Only a literal within an ulp of the ±1e15 bound may disagree.
                let near_bound = ((exact.abs() - 1e15).abs()) <= 1e15 * 4.0 * f64::EPSILON;
                prop_assert!(near_bound, "{literal}: oracle {want:?}, numeric_date {got:?}");
            }
        }
    }

    /// (g, continued) Non-numbers are malformed claims, absent ones are `None`.
    #[test]
    fn numeric_date_rejects_non_numbers(value in json_value()) {
        let mut claims = Map::new();
        claims.insert("exp".into(), value.clone());
        let token = token_of("{}", &serde_json::to_string(&claims).unwrap(), b"s");
        let jws = parse_compact(&token, usize::MAX).unwrap();
        prop_assert_eq!(jws.claims.numeric_date("absent"), Ok(None));
        let got = jws.claims.numeric_date("exp");
        if !value.is_number() {
            prop_assert_eq!(got, Err(BadClaim));
        }
        let iss = jws.claims.str("exp");
        prop_assert_eq!(iss.is_ok(), value.is_string());
    }

    /// `verify_rsa` with arbitrary key bytes and signatures answers `Signature`, never panics.
    #[test]
    fn verify_rsa_with_garbage_keys_fails_cleanly(
        key in prop::collection::vec(any::<u8>(), 0..600),
        signature in prop::collection::vec(any::<u8>(), 1..600),
    ) {
        let token = token_of(r#"{"alg":"RS256"}"#, "{}", &signature);
        let jws = parse_compact(&token, MAX_JWS_LEN).unwrap();
        for alg in [JwsAlgorithm::Rs256, JwsAlgorithm::Ps256] {
            prop_assert_eq!(jws.verify_rsa(alg, &key), Err(JwsError::Signature));
        }
    }
}

/// (h) Deeply nested input filling the 16 KB limit is a JSON error (serde_json's recursion limit
/// of 128), not a stack overflow. Run on a deliberately small stack so that unbounded recursion
/// would abort the test binary instead of passing by luck on a big main-thread stack.
#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    // base64url grows text by 4/3: 12,000 bytes of brackets is 16,000 characters.
    let depth = 5_990;
    let shapes = [
        format!(r#"{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth)),
        format!(r#"{{"a":{}"#, "[".repeat(depth)),
        format!(r#"{}1{}"#, r#"{"a":"#.repeat(depth / 5), "}".repeat(depth / 5)),
        format!(r#"{{"a":{}"#, r#"[{"b":"#.repeat(depth / 6)),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for shape in &shapes {
                for (header, payload) in [(shape.as_str(), "{}"), ("{}", shape.as_str())] {
                    let token = format!("{}.{}.{}", b64url(header), b64url(payload), b64url("s"));
                    assert!(token.len() <= MAX_JWS_LEN, "{} bytes", token.len());
                    let result = parse_compact(&token, MAX_JWS_LEN);
                    assert!(matches!(result, Err(JwsError::Json(_))), "{result:?} for {}…", &shape[..40]);
                }
            }
        })
        .unwrap();
    handle.join().unwrap();
}

/// Nesting just inside serde_json's limit still parses (the limit is not lower than documented).
#[test]
fn moderate_nesting_parses() {
    let depth = 100;
    let payload = format!(r#"{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    let token = token_of("{}", &payload, b"s");
    assert!(parse_compact(&token, MAX_JWS_LEN).is_ok());
}
