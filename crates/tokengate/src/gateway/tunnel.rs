//! How long an upgraded (WebSocket) tunnel may live: no longer than the token that opened it —
//! it ends at the token's `exp` or within a second of the token's revocation, whichever comes
//! first. Tunnels of public routes have no token and live until either side closes.

use std::sync::Arc;
use std::time::Duration;

use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::VerifiedToken;
use tokengate_core::UnixTime;

/// How often an open tunnel consults the revocation set (the set itself is refreshed from the
/// store every 500 ms).
pub const REVOCATION_CHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelEnd {
    TokenExpired,
    TokenRevoked,
}

impl TunnelEnd {
    pub fn code(self) -> &'static str {
        match self {
            TunnelEnd::TokenExpired => "token_expired",
            TunnelEnd::TokenRevoked => "token_revoked",
        }
    }
}

type RevokedCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// The opening token's `exp` and a way to ask whether it has been revoked since.
#[derive(Clone, Default)]
pub struct TunnelLimit {
    bound: Option<(UnixTime, RevokedCheck)>,
}

impl TunnelLimit {
    /// The limit of a tunnel opened with `token` (none for public routes).
    pub fn for_token(token: Option<Arc<VerifiedToken>>, revocations: Arc<RevocationSet>) -> TunnelLimit {
        match token {
            Some(t) => TunnelLimit::new(t.exp, Arc::new(move || revocations.check(&t).is_some())),
            None => TunnelLimit::default(),
        }
    }

    fn new(exp: UnixTime, revoked: RevokedCheck) -> TunnelLimit {
        TunnelLimit { bound: Some((exp, revoked)) }
    }

    /// Whether the tunnel must end at `now`.
    pub fn check(&self, now: UnixTime) -> Option<TunnelEnd> {
        let (exp, revoked) = self.bound.as_ref()?;
        if now >= *exp {
            return Some(TunnelEnd::TokenExpired);
        }
        revoked().then_some(TunnelEnd::TokenRevoked)
    }

    /// Resolves when the tunnel must end; never for a tunnel without a token.
    pub async fn reached(&self) -> TunnelEnd {
        if self.bound.is_none() {
            return std::future::pending().await;
        }
        let mut tick = tokio::time::interval(REVOCATION_CHECK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Some(end) = self.check(crate::state::now()) {
                return end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn revocable(exp: UnixTime) -> (TunnelLimit, Arc<AtomicBool>) {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        (TunnelLimit::new(exp, Arc::new(move || seen.load(Ordering::SeqCst))), flag)
    }

    #[test]
    fn a_tunnel_ends_with_its_token() {
        let (limit, revoked) = revocable(1_000);
        assert_eq!(limit.check(999), None);
        assert_eq!(limit.check(1_000), Some(TunnelEnd::TokenExpired), "at exp, not after the skew");
        revoked.store(true, Ordering::SeqCst);
        assert_eq!(limit.check(999), Some(TunnelEnd::TokenRevoked));
        let public = TunnelLimit::for_token(None, Arc::new(RevocationSet::default()));
        assert_eq!(public.check(UnixTime::MAX), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_watch_fires_once_the_token_is_revoked() {
        let (limit, revoked) = revocable(UnixTime::MAX);
        let watch = tokio::spawn(async move { limit.reached().await });
        tokio::time::sleep(REVOCATION_CHECK * 3).await;
        assert!(!watch.is_finished(), "still valid");
        revoked.store(true, Ordering::SeqCst);
        assert_eq!(watch.await.unwrap(), TunnelEnd::TokenRevoked);
    }
}
