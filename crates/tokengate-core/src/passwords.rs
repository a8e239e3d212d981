//! User passwords: Argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane), stored as PHC
//! strings. Unknown users are checked against a dummy hash so that timing does not reveal
//! which user names exist; hashes made with weaker parameters are flagged for rehashing.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password must be 8 to 256 characters")]
    Length,
    #[error("hashing failed: {0}")]
    Hash(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    Valid,
    /// Valid, but hashed with older/weaker parameters: store this new hash.
    ValidRehashed(String),
    Wrong,
}

fn hasher() -> Result<Argon2<'static>, PasswordError> {
    let params =
        Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < 8 || password.len() > 256 {
        return Err(PasswordError::Length);
    }
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// A valid hash of a random password, computed once, verified against for unknown users.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::encoding::b64url(crate::encoding::random_bytes::<24>());
        hash_password(&random).unwrap_or_default()
    })
}

/// Checks `presented` against `stored` (`None` for an unknown user: same work, always `Wrong`).
pub fn check_password(presented: &str, stored: Option<&str>) -> PasswordCheck {
    let (phc, known) = match stored {
        Some(s) => (s, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return PasswordCheck::Wrong;
    };
    // Verify with the parameters the hash records; upgrade afterwards if they are weaker.
    if Argon2::default().verify_password(presented.as_bytes(), &parsed).is_err() || !known {
        return PasswordCheck::Wrong;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() >= MEMORY_KIB && p.t_cost() >= ITERATIONS && p.p_cost() >= PARALLELISM);
    if current {
        return PasswordCheck::Valid;
    }
    match hash_password(presented) {
        Ok(new_hash) => PasswordCheck::ValidRehashed(new_hash),
        Err(_) => PasswordCheck::Valid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_check_and_rehash() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_eq!(check_password("correct horse battery", Some(&h)), PasswordCheck::Valid);
        assert_eq!(check_password("wrong", Some(&h)), PasswordCheck::Wrong);
        assert_eq!(check_password("correct horse battery", None), PasswordCheck::Wrong);
        assert_eq!(check_password("x", Some("not a phc string")), PasswordCheck::Wrong);
        assert_eq!(hash_password("short"), Err(PasswordError::Length));

        // A hash with weaker parameters verifies and comes back upgraded.
        let weak_params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, weak_params)
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        match check_password("correct horse battery", Some(&weak)) {
            PasswordCheck::ValidRehashed(new) => assert!(new.contains("m=19456,t=2,p=1")),
            other => panic!("expected a rehash, got {other:?}"),
        }
    }
}
