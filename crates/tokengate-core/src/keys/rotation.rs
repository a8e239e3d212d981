//! Key rotation as Entra does it: the next key is published before it signs anything, the old
//! active key stays published until every token it signed has expired, emergency removal drops a
//! key at once.

use super::{KeyState, StoredSigningKey};
use crate::UnixTime;

/// What a rotation changes, for the store to apply in one transaction.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct RotationPlan {
    /// kid to promote from `Next` to `Active`; `None` means a fresh key must be made active.
    pub promote: Option<String>,
    /// Currently active kids to retire, published until `retire_after`.
    pub retire: Vec<String>,
    pub retire_after: UnixTime,
    /// Retired keys whose tokens have all expired.
    pub drop: Vec<String>,
    /// Always true: after a rotation a new `Next` key is published.
    pub publish_new_next: bool,
}

/// `max_token_lifetime` is the longest lifetime of anything the active key may have signed,
/// plus clock skew.
pub fn plan_rotation(keys: &[StoredSigningKey], now: UnixTime, max_token_lifetime: i64) -> RotationPlan {
    let next = keys.iter().filter(|k| k.state == KeyState::Next).max_by_key(|k| k.created_at);
    RotationPlan {
        promote: next.map(|k| k.kid.clone()),
        retire: keys.iter().filter(|k| k.state == KeyState::Active).map(|k| k.kid.clone()).collect(),
        retire_after: now + max_token_lifetime,
        drop: expired_retired(keys, now),
        publish_new_next: true,
    }
}

/// Retired keys past their publication window.
pub fn expired_retired(keys: &[StoredSigningKey], now: UnixTime) -> Vec<String> {
    keys.iter()
        .filter(|k| k.state == KeyState::Retired && k.retire_after.is_some_and(|t| t <= now))
        .map(|k| k.kid.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, state: KeyState, created_at: UnixTime, retire_after: Option<UnixTime>) -> StoredSigningKey {
        StoredSigningKey {
            kid: kid.into(),
            state,
            sealed_private_key: vec![],
            cert_der: vec![],
            created_at,
            retire_after,
        }
    }

    #[test]
    fn promotes_next_retires_active_drops_expired() {
        let keys = vec![
            key("old", KeyState::Retired, 1, Some(50)),
            key("still", KeyState::Retired, 2, Some(500)),
            key("a", KeyState::Active, 3, None),
            key("n", KeyState::Next, 4, None),
        ];
        let plan = plan_rotation(&keys, 100, 5700);
        assert_eq!(plan.promote.as_deref(), Some("n"));
        assert_eq!(plan.retire, vec!["a".to_string()]);
        assert_eq!(plan.retire_after, 5800);
        assert_eq!(plan.drop, vec!["old".to_string()]);
        assert!(plan.publish_new_next);
    }

    #[test]
    fn without_next_key_a_fresh_key_is_needed() {
        let plan = plan_rotation(&[key("a", KeyState::Active, 3, None)], 100, 10);
        assert_eq!(plan.promote, None);
    }
}
