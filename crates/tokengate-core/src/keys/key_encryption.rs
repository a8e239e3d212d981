//! Private signing keys are sealed with AES-256-GCM before they reach the store, so a database
//! dump holds nothing usable. The key-encryption key comes from config or the environment.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::encoding::random_bytes;

/// Format tag so the sealing scheme can change later without guessing.
const VERSION: u8 = 1;

pub struct KeyEncryptionKey {
    key: LessSafeKey,
    /// Root of the keys derived for other purposes (browser cookies, signed form state), so
    /// that every node sharing this key accepts what another node handed out.
    derivation_root: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("key-encryption key must be 32 bytes")]
    BadKeyLength,
    #[error("sealed key is malformed or was sealed with another key-encryption key")]
    Open,
    #[error("sealing failed")]
    Seal,
}

impl KeyEncryptionKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadKeyLength)?;
        let root = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes),
            b"tokengate derived keys v1",
        );
        let mut derivation_root = [0u8; 32];
        derivation_root.copy_from_slice(root.as_ref());
        Ok(KeyEncryptionKey { key: LessSafeKey::new(unbound), derivation_root })
    }

    /// A 256-bit key for `purpose`, independent of the sealing key and of other purposes.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let tag = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.derivation_root),
            purpose.as_bytes(),
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub fn generate_bytes() -> [u8; 32] {
        random_bytes::<32>()
    }

    /// `version || nonce || ciphertext+tag`; `label` (the kid) is bound as associated data so a
    /// sealed key cannot be swapped onto another row.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(label.as_bytes()), &mut buf)
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(SealError::Open);
        }
        let mut nonce_bytes = [0u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let plain = self
            .key
            .open_in_place(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(label.as_bytes()), &mut buf)
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_tamper() {
        let kek = KeyEncryptionKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = kek.seal("kid1", b"private").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(kek.open("kid1", &sealed).unwrap(), b"private");
        assert_eq!(kek.open("kid2", &sealed), Err(SealError::Open), "label is bound");
        let other = KeyEncryptionKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(other.open("kid1", &sealed), Err(SealError::Open));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(kek.open("kid1", &tampered), Err(SealError::Open));
        assert!(KeyEncryptionKey::from_bytes(&[1u8; 16]).is_err());
    }
}
