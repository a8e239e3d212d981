//! Signed checkpoints of the audit chain's head. A checkpoint pins `(seq, chain_hash)` at a
//! time: deleting the newest records (which leaves a shorter chain that still links) is caught
//! because a checkpoint names a seq that no longer exists or a hash that no longer matches.
//!
//! Signed with HMAC-SHA256 under a key derived from the key-encryption key: the issuer nodes that
//! write checkpoints already hold it, nothing new needs distributing, and a database-only
//! attacker cannot forge one. The price is that verifying needs the key-encryption key too
//! (operators verify with `--dev-dir` or `--config`), unlike a public-key signature.

use serde::{Deserialize, Serialize};

use crate::audit_chain::ChainHash;
use crate::encoding::hex_lower;
use crate::keys::KeyEncryptionKey;

/// Prefixed to every checkpoint's signed bytes, so a signature over anything else never verifies.
const CHECKPOINT_TAG: &[u8] = b"tokengate.audit.checkpoint.v1\0";

/// The `KeyEncryptionKey::derive` purpose of the checkpoint key.
const KEY_PURPOSE: &str = "audit-checkpoint";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The seq of the newest record when the checkpoint was taken.
    pub seq: i64,
    pub chain_hash: ChainHash,
    pub at_ms: i64,
    /// HMAC-SHA256 over the tag, seq, hash and time, as lowercase hex.
    pub signature: String,
}

/// The key checkpoints are signed and verified with.
pub struct CheckpointKey(aws_lc_rs::hmac::Key);

impl CheckpointKey {
    pub fn from_kek(kek: &KeyEncryptionKey) -> Self {
        CheckpointKey(aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &kek.derive(KEY_PURPOSE)))
    }

    pub fn sign(&self, seq: i64, chain_hash: ChainHash, at_ms: i64) -> Checkpoint {
        let tag = aws_lc_rs::hmac::sign(&self.0, &signed_bytes(seq, &chain_hash, at_ms));
        Checkpoint { seq, chain_hash, at_ms, signature: hex_lower(tag.as_ref()) }
    }

    /// Whether `checkpoint` was signed with this key (constant-time comparison).
    pub fn verifies(&self, checkpoint: &Checkpoint) -> bool {
        let Some(signature) = ChainHash::from_hex(&checkpoint.signature) else {
            return false;
        };
        let bytes = signed_bytes(checkpoint.seq, &checkpoint.chain_hash, checkpoint.at_ms);
        aws_lc_rs::hmac::verify(&self.0, &bytes, &signature.0).is_ok()
    }
}

fn signed_bytes(seq: i64, chain_hash: &ChainHash, at_ms: i64) -> Vec<u8> {
    [CHECKPOINT_TAG, &seq.to_be_bytes(), &chain_hash.0, &at_ms.to_be_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CheckpointKey {
        CheckpointKey::from_kek(&KeyEncryptionKey::from_bytes(&[byte; 32]).unwrap())
    }

    #[test]
    fn a_checkpoint_verifies_under_its_key_only_and_unchanged() {
        let checkpoint = key(1).sign(42, ChainHash([9; 32]), 1_000);
        assert!(key(1).verifies(&checkpoint));
        assert!(!key(2).verifies(&checkpoint));
        for changed in [
            Checkpoint { seq: 43, ..checkpoint.clone() },
            Checkpoint { chain_hash: ChainHash([8; 32]), ..checkpoint.clone() },
            Checkpoint { at_ms: 1_001, ..checkpoint.clone() },
            Checkpoint { signature: "00".into(), ..checkpoint.clone() },
        ] {
            assert!(!key(1).verifies(&changed), "{changed:?}");
        }
    }
}
