//! Server-generated client secrets: Entra-shaped (`abc8Q~...`, 40 characters), high-entropy, so a
//! SHA-256 hash is the right storage (a slow password hash would only cost throughput), compared in
//! constant time.

use subtle::ConstantTimeEq;

use crate::directory::ClientSecret;
use crate::encoding::sha256;
use crate::UnixTime;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~";

/// A fresh secret value, e.g. `xQz8Q~...` (3-char hint, Entra's `8Q~` marker, 34 random chars:
/// ~205 bits).
pub fn generate_secret() -> String {
    let bytes = crate::encoding::random_bytes::<37>();
    let mut out = String::with_capacity(40);
    for (i, b) in bytes.iter().enumerate() {
        if i == 3 {
            out.push_str("8Q~");
        }
        // The hint (first three characters) stays alphanumeric so a secret never starts with
        // '-' and reads as a flag on a command line. Modulo bias (< 1/4 bit per character) is
        // irrelevant at ~200 bits.
        let alphabet = if i < 3 { &ALPHABET[..62] } else { ALPHABET };
        out.push(alphabet[(*b as usize) % alphabet.len()] as char);
    }
    out
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    sha256(secret.as_bytes()).to_vec()
}

/// Outcome of checking a presented secret against an app's secrets.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretCheck {
    Valid,
    Expired,
    Wrong,
}

/// Compares against every stored secret without early exit, so timing does not tell which (or
/// whether any) matched.
pub fn check_secret(presented: &str, stored: &[ClientSecret], now: UnixTime) -> SecretCheck {
    let presented_hash = sha256(presented.as_bytes());
    let mut matched: Option<&ClientSecret> = None;
    for candidate in stored {
        if bool::from(candidate.secret_hash.as_slice().ct_eq(&presented_hash)) {
            matched = Some(candidate);
        }
    }
    match matched {
        Some(s) if s.expires_at <= now => SecretCheck::Expired,
        Some(_) => SecretCheck::Valid,
        None => SecretCheck::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn stored(value: &str, expires_at: UnixTime) -> ClientSecret {
        ClientSecret {
            key_id: Uuid::new_v4(),
            app_id: Uuid::nil(),
            display_name: "s".into(),
            hint: value[..3].to_string(),
            secret_hash: hash_secret(value),
            created_at: 0,
            expires_at,
        }
    }

    #[test]
    fn generated_secrets_are_entra_shaped_and_distinct() {
        let a = generate_secret();
        let b = generate_secret();
        assert_eq!(a.len(), 40);
        assert_eq!(&a[3..6], "8Q~");
        assert_ne!(a, b);
    }

    #[test]
    fn checks_valid_expired_wrong() {
        let s = generate_secret();
        let list = vec![stored("other-secret-value", 100), stored(&s, 100)];
        assert_eq!(check_secret(&s, &list, 50), SecretCheck::Valid);
        assert_eq!(check_secret(&s, &list, 100), SecretCheck::Expired);
        assert_eq!(check_secret("nope", &list, 50), SecretCheck::Wrong);
        assert_eq!(check_secret(&s, &[], 50), SecretCheck::Wrong);
    }
}
