//! The device authorization grant (RFC 8628) as Entra runs it: a device asks for a code pair,
//! a person enters the short `user_code` on the verification page, signs in and consents, and the
//! device polls the token endpoint with the long `device_code` until the decision is made.
//!
//! Both codes are stored only as SHA-256 hashes. User codes are 9 characters from a 27-letter
//! alphabet (≈ 42.8 bits), single use, and the verification page rate-limits wrong guesses.

use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::encoding::sha256;
use crate::UnixTime;

/// Entra's device codes live 15 minutes.
pub const DEVICE_CODE_LIFETIME: i64 = 900;
/// Entra asks devices to poll every 5 seconds.
pub const DEVICE_POLL_INTERVAL: i64 = 5;
/// RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
pub const SLOW_DOWN_STEP: i64 = 5;
/// No vowels (no words spelled by accident), no 0/O/1/I/L look-alikes.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKMNPQRSTVWXZ23456789";
pub const USER_CODE_LENGTH: usize = 9;

/// log2(27^9) ≈ 42.8 bits; the issue asks for at least 34.
pub fn user_code_entropy_bits() -> f64 {
    (USER_CODE_ALPHABET.len() as f64).log2() * USER_CODE_LENGTH as f64
}

pub fn new_user_code() -> String {
    let mut rng = rand::thread_rng();
    (0..USER_CODE_LENGTH).map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char).collect()
}

/// What people type is forgiven: case, spaces and dashes. Anything else cannot be a code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

pub fn user_code_hash(normalized: &str) -> Vec<u8> {
    sha256(normalized.as_bytes()).to_vec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceCodeStatus {
    /// Waiting for a person to enter the code.
    Pending,
    /// Approved by `user_id`; the next poll redeems it.
    Approved,
    Declined,
    /// Exchanged for tokens (single use).
    Redeemed,
}

impl DeviceCodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceCodeStatus::Pending => "pending",
            DeviceCodeStatus::Approved => "approved",
            DeviceCodeStatus::Declined => "declined",
            DeviceCodeStatus::Redeemed => "redeemed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeviceCodeStatus::Pending),
            "approved" => Some(DeviceCodeStatus::Approved),
            "declined" => Some(DeviceCodeStatus::Declined),
            "redeemed" => Some(DeviceCodeStatus::Redeemed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code_hash: Vec<u8>,
    pub user_code_hash: Vec<u8>,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    /// Scopes as requested (including `openid`, `offline_access`).
    pub scopes: Vec<String>,
    pub status: DeviceCodeStatus,
    /// Who approved (or declined).
    pub user_id: Option<Uuid>,
    pub auth_time: Option<UnixTime>,
    /// Seconds the device must wait between polls; grows by `SLOW_DOWN_STEP` on each `slow_down`.
    pub interval: i64,
    /// Milliseconds, so that a poll exactly one interval after the last is never "too fast".
    pub last_poll_ms: Option<i64>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A person's decision on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision {
    Approve { user_id: Uuid, auth_time: UnixTime },
    Decline { user_id: Uuid },
}

/// What one poll found. Only `Approved` consumes the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    Pending,
    /// Polled sooner than `interval` after the last poll; the interval is now `interval`.
    SlowDown { interval: i64 },
    /// Approved and now redeemed: mint the tokens.
    Approved(Box<DeviceAuthorization>),
    Declined,
    Expired,
    /// Redeemed before (single use).
    AlreadyRedeemed,
    /// The code belongs to another client (nothing was changed).
    WrongClient,
    NotFound,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_enough_entropy_and_normalize() {
        assert!(user_code_entropy_bits() >= 34.0);
        let code = new_user_code();
        assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
        let typed = format!(" {}-{} ", code[..4].to_lowercase(), &code[4..]);
        assert_eq!(normalize_user_code(&typed), Some(code.clone()));
        assert_eq!(normalize_user_code("AAAAAAAAA"), None, "vowels are not in the alphabet");
        assert_eq!(normalize_user_code("BCDFGHJK"), None, "too short");
        assert_eq!(normalize_user_code("BCDFGHJKMN"), None, "too long");
        assert_eq!(normalize_user_code("BCDFGHJK\u{0}"), None);
        assert_ne!(new_user_code(), new_user_code());
    }
}
