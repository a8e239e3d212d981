//! The audit log's hash chain: every record's `chain_hash` is
//! `SHA-256(prev_chain_hash || canonical_bytes(seq, record))`, and the first record's previous
//! hash is 32 zero bytes. Changing, removing or reordering a record changes every hash after it,
//! so a verifier recomputing the chain names the first record that no longer matches.
//!
//! The canonical encoding is defined here once and never changes meaning (a new one gets a new
//! version tag): stores, exports and verifiers all hash these bytes, never a text rendering of
//! the row, so a dialect's column types or a JSON printer cannot change a hash.

use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::encoding::{hex_lower, sha256};

/// Prefixed to every record's bytes, so no other SHA-256 input of the product can collide with
/// an audit record's.
const RECORD_TAG: &[u8] = b"tokengate.audit.record.v1\0";

/// A SHA-256 chain hash, shown and stored as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The previous hash of the very first record.
    pub const GENESIS: ChainHash = ChainHash([0u8; 32]);

    pub fn to_hex(&self) -> String {
        hex_lower(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(ChainHash(out))
    }
}

impl std::fmt::Display for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ChainHash::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// An audit record as stored: its place in the log and the hashes that chain it. `prev_hash` and
/// `chain_hash` are `None` for records written before the chain existed (migration 0010).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainedRecord {
    pub seq: i64,
    pub prev_hash: Option<ChainHash>,
    pub chain_hash: Option<ChainHash>,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// The hash of the record at `seq` following `prev`.
pub fn link(prev: &ChainHash, seq: i64, event: &AuditEvent) -> ChainHash {
    link_with_detail(prev, seq, event, &detail_text(&event.detail))
}

/// `link`, given the record's `detail_text` already rendered: the store renders it once per
/// record, for the hash and for the row.
pub fn link_with_detail(prev: &ChainHash, seq: i64, event: &AuditEvent, detail: &str) -> ChainHash {
    let mut input = Vec::with_capacity(320);
    input.extend_from_slice(&prev.0);
    write_canonical(&mut input, seq, event, detail);
    ChainHash(sha256(&input))
}

/// A record's `detail` as compact JSON: what is hashed and what the store keeps. Rendered with
/// `serde_json::to_string`, which prints exactly what `Value`'s `Display` prints; `Display`
/// goes through `fmt::Formatter` a piece at a time and cost about a tenth of a recording
/// gateway's CPU (perf, issue #13).
pub fn detail_text(detail: &serde_json::Value) -> String {
    // Printing a `Value` cannot fail (its keys are strings); "null" keeps this total.
    serde_json::to_string(detail).unwrap_or_else(|_| "null".to_owned())
}

/// The record's bytes for hashing: the tag, then every field in declaration order. Integers are
/// 8-byte big-endian; text is a 4-byte big-endian length and UTF-8; an optional field is one
/// byte (0 absent, 1 present) before its value; `detail` is its compact JSON text (serde_json
/// prints a parsed value back identically, so a stored or exported record hashes the same).
pub fn canonical_bytes(seq: i64, e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(&mut out, seq, e, &detail_text(&e.detail));
    out
}

fn write_canonical(out: &mut Vec<u8>, seq: i64, e: &AuditEvent, detail: &str) {
    out.extend_from_slice(RECORD_TAG);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(e.id.as_bytes());
    out.extend_from_slice(&e.at_ms.to_be_bytes());
    text(out, e.source.as_str());
    text(out, &e.action);
    text(out, e.outcome.as_str());
    for field in [&e.reason, &e.tenant_id, &e.client_id, &e.subject, &e.token_id, &e.client_ip] {
        optional_text(out, field.as_deref());
    }
    optional_integer(out, e.status.map(i64::from));
    optional_integer(out, e.latency_us);
    text(out, detail);
}

fn text(out: &mut Vec<u8>, value: &str) {
    // Audit fields are far below 4 GiB; saturating keeps the encoding total without a panic.
    let len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn optional_text(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            text(out, v);
        }
    }
}

fn optional_integer(out: &mut Vec<u8>, value: Option<i64>) {
    match value {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditSource, Outcome};

    fn sample() -> AuditEvent {
        let mut e = AuditEvent::new(AuditSource::Gateway, "gateway.request", Outcome::Denied, 1_700_000_000_123);
        e.id = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        e.reason = Some("token_expired".into());
        e.client_id = Some("c1".into());
        e.status = Some(401);
        e.latency_us = Some(250);
        e.detail = serde_json::json!({"route": "orders", "method": "GET"});
        e
    }

    /// The encoding's test vector: an independent implementation must produce this hash, or it
    /// does not verify the same logs (cross-checked with a separate Python implementation; the
    /// detail's keys print sorted: `{"method":"GET","route":"orders"}`).
    #[test]
    fn canonical_encoding_and_hash_match_the_test_vector() {
        let bytes = canonical_bytes(7, &sample());
        let expected_prefix: Vec<u8> =
            [RECORD_TAG, &7i64.to_be_bytes(), &0x0123_4567_89ab_cdef_0123_4567_89ab_cdef_u128.to_be_bytes()].concat();
        assert!(bytes.starts_with(&expected_prefix));
        let hash = link(&ChainHash::GENESIS, 7, &sample());
        assert_eq!(hash.to_hex(), "9cc86677e7a57d52618aadf181125282ab1b80c7d7975fa0709ede6e94a08e53");
    }

    /// The store renders `detail` once with `detail_text` and the verifier with `link`: both must
    /// print what `Value`'s `Display` printed when the chain's records were written.
    #[test]
    fn detail_text_prints_what_display_prints() {
        let detail = serde_json::json!({
            "z": [1, 2.5, -3, null, true], "a": {"quote\"d": "tab\tnewline\n\u{1}", "é": "日本"},
            "big": 18_446_744_073_709_551_615u64, "empty": {}, "list": []
        });
        assert_eq!(detail_text(&detail), detail.to_string());
        assert_eq!(
            link(&ChainHash::GENESIS, 3, &sample()),
            link_with_detail(&ChainHash::GENESIS, 3, &sample(), &sample().detail.to_string())
        );
    }

    #[test]
    fn every_field_and_the_seq_change_the_hash() {
        let base = link(&ChainHash::GENESIS, 7, &sample());
        assert_ne!(base, link(&ChainHash::GENESIS, 8, &sample()));
        assert_ne!(base, link(&ChainHash([1; 32]), 7, &sample()));
        let mut moved = sample();
        moved.reason = None;
        moved.tenant_id = Some("token_expired".into());
        assert_ne!(base, link(&ChainHash::GENESIS, 7, &moved), "fields are positional, not concatenated");
        let mut other = sample();
        other.status = Some(200);
        assert_ne!(base, link(&ChainHash::GENESIS, 7, &other));
    }

    #[test]
    fn hashes_round_trip_through_hex_and_json() {
        let hash = link(&ChainHash::GENESIS, 1, &sample());
        assert_eq!(ChainHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(ChainHash::from_hex("zz"), None);
        assert_eq!(ChainHash::from_hex(&"+a".repeat(32)), None, "a sign is not a hex digit");
        let record =
            ChainedRecord { seq: 1, prev_hash: Some(ChainHash::GENESIS), chain_hash: Some(hash), event: sample() };
        let json = serde_json::to_string(&record).unwrap();
        let back: ChainedRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
        assert_eq!(link(&ChainHash::GENESIS, back.seq, &back.event), hash);
    }
}
