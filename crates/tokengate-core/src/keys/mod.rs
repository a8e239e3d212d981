//! Signing keys: RSA-2048 keys with self-signed certificates (`kid` = `x5t`, as Entra), the
//! in-memory key ring the issuer signs with, rotation, and encryption of private keys at rest.

pub mod key_encryption;
pub mod key_ring;
pub mod local_ca;
pub mod rotation;
pub mod signing_key;

pub use key_encryption::KeyEncryptionKey;
pub use key_ring::{KeyRing, KeySet, PublicKeyRing, PublishedKeys};
pub use signing_key::{KeyError, SigningKey};

use serde::{Deserialize, Serialize};

use crate::UnixTime;

/// Lifecycle of a signing key. Published = in JWKS; only `Active` signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    /// Published ahead of use so validators have it before the first token it signs.
    Next,
    /// Signs new tokens. Exactly one at a time.
    Active,
    /// No longer signs; stays published until `retire_after` so its tokens still validate.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "next" => Some(KeyState::Next),
            "active" => Some(KeyState::Active),
            "retired" => Some(KeyState::Retired),
            _ => None,
        }
    }
}

/// A signing key as the store keeps it: private key sealed with the key-encryption key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    pub kid: String,
    pub state: KeyState,
    pub sealed_private_key: Vec<u8>,
    pub cert_der: Vec<u8>,
    pub created_at: UnixTime,
    /// For `Retired` keys: when they leave the JWKS.
    pub retire_after: Option<UnixTime>,
}
