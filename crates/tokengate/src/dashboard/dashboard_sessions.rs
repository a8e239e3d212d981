//! The dashboard's signed-in browsers and sign-ins in progress, held in this node's memory (a
//! restart signs people out; the issuer's SSO session signs them back in without a password).
//! Both maps are bounded: a full map drops its oldest entry instead of growing.

use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use tokengate_core::encoding::{b64url, random_bytes};

use crate::admin::api::AdminRole;

/// How many browsers may be signed in at once on one node.
pub const MAX_SESSIONS: usize = 10_000;
/// How many sign-ins may be in progress at once (an unfinished one is forgotten after
/// `SIGN_IN_LIFETIME_S`).
pub const MAX_PENDING_SIGN_INS: usize = 10_000;
/// A session ends this long after sign-in, whatever happens.
pub const SESSION_LIFETIME_S: i64 = 12 * 3600;
/// A session ends after this long without a request.
pub const SESSION_IDLE_S: i64 = 2 * 3600;
/// A sign-in must come back from the issuer within this.
pub const SIGN_IN_LIFETIME_S: i64 = 600;

/// A signed-in browser. The tokens never leave the server: the browser holds only the id.
pub struct DashboardSession {
    pub id: String,
    pub user_name: String,
    pub user_principal_name: String,
    pub role: AdminRole,
    pub created: i64,
    pub tokens: Mutex<SessionTokens>,
    /// One message for the next page this browser shows ("App created").
    pub flash: Mutex<Option<Flash>>,
    pub last_seen: Mutex<i64>,
}

/// The admin API access token the session acts with, and what renews it.
#[derive(Clone)]
pub struct SessionTokens {
    pub access_token: String,
    pub access_expires: i64,
    pub refresh_token: Option<String>,
}

/// A one-time message shown at the top of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Done,
    Failed,
}

impl FlashKind {
    pub fn css_class(self) -> &'static str {
        match self {
            FlashKind::Done => "flash done",
            FlashKind::Failed => "flash failed",
        }
    }
}

/// A sign-in sent to the issuer and not yet back: what the callback checks and needs.
pub struct PendingSignIn {
    /// The random value of this browser's sign-in cookie: the callback must come from the
    /// browser that started the sign-in (login CSRF).
    pub browser_binding: String,
    pub code_verifier: String,
    pub nonce: String,
    /// A dashboard path to return to (always starts with `/dashboard`).
    pub return_to: String,
    pub created: i64,
}

#[derive(Default)]
pub struct DashboardSessions {
    sessions: DashMap<String, Arc<DashboardSession>>,
    /// Keyed by the `state` parameter sent to the issuer.
    pending: DashMap<String, PendingSignIn>,
}

/// A fresh unguessable identifier (32 random bytes, base64url).
pub fn random_id() -> String {
    b64url(random_bytes::<32>())
}

impl DashboardSessions {
    pub fn new() -> DashboardSessions {
        DashboardSessions::default()
    }

    /// Remembers a sign-in in progress under a new `state` value, which it returns.
    pub fn begin_sign_in(&self, pending: PendingSignIn) -> String {
        if self.pending.len() >= MAX_PENDING_SIGN_INS {
            let now = pending.created;
            self.pending.retain(|_, p| now - p.created < SIGN_IN_LIFETIME_S);
            if self.pending.len() >= MAX_PENDING_SIGN_INS {
                drop_oldest(&self.pending, |p| p.created);
            }
        }
        let state = random_id();
        self.pending.insert(state.clone(), pending);
        state
    }

    /// The sign-in `state` names, once (a replayed callback finds nothing), if it is still fresh.
    pub fn finish_sign_in(&self, state: &str, now: i64) -> Option<PendingSignIn> {
        let (_, pending) = self.pending.remove(state)?;
        (now - pending.created < SIGN_IN_LIFETIME_S).then_some(pending)
    }

    pub fn create(
        &self,
        user_name: String,
        user_principal_name: String,
        role: AdminRole,
        tokens: SessionTokens,
        now: i64,
    ) -> Arc<DashboardSession> {
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions.retain(|_, s| s.live(now));
            if self.sessions.len() >= MAX_SESSIONS {
                drop_oldest(&self.sessions, |s| s.created);
            }
        }
        let session = Arc::new(DashboardSession {
            id: random_id(),
            user_name,
            user_principal_name,
            role,
            created: now,
            tokens: Mutex::new(tokens),
            flash: Mutex::new(None),
            last_seen: Mutex::new(now),
        });
        self.sessions.insert(session.id.clone(), session.clone());
        session
    }

    /// The live session `id` names (and marks it seen); an ended one is forgotten.
    pub fn find(&self, id: &str, now: i64) -> Option<Arc<DashboardSession>> {
        let session = self.sessions.get(id).map(|s| s.clone())?;
        if !session.live(now) {
            self.sessions.remove(id);
            return None;
        }
        if let Ok(mut seen) = session.last_seen.lock() {
            *seen = now;
        }
        Some(session)
    }

    /// Whether `id` names a live session, without counting this as activity (a long-lived
    /// stream asks this, and must not keep an idle session alive).
    pub fn is_live(&self, id: &str, now: i64) -> bool {
        self.sessions.get(id).is_some_and(|s| s.live(now))
    }

    pub fn end(&self, id: &str) {
        self.sessions.remove(id);
    }
}

impl DashboardSession {
    fn live(&self, now: i64) -> bool {
        let seen = self.last_seen.lock().map(|s| *s).unwrap_or(self.created);
        now - self.created < SESSION_LIFETIME_S && now - seen < SESSION_IDLE_S
    }

    pub fn tokens(&self) -> Option<SessionTokens> {
        self.tokens.lock().ok().map(|t| t.clone())
    }

    pub fn set_tokens(&self, tokens: SessionTokens) {
        if let Ok(mut t) = self.tokens.lock() {
            *t = tokens;
        }
    }

    pub fn set_flash(&self, kind: FlashKind, text: impl Into<String>) {
        if let Ok(mut f) = self.flash.lock() {
            *f = Some(Flash { kind, text: text.into() });
        }
    }

    pub fn take_flash(&self) -> Option<Flash> {
        self.flash.lock().ok().and_then(|mut f| f.take())
    }

    pub fn can_write(&self) -> bool {
        self.role == AdminRole::Admin
    }
}

fn drop_oldest<V>(map: &DashMap<String, V>, created: impl Fn(&V) -> i64) {
    let oldest = map.iter().min_by_key(|e| created(e.value())).map(|e| e.key().clone());
    if let Some(key) = oldest {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> SessionTokens {
        SessionTokens { access_token: "t".into(), access_expires: 0, refresh_token: None }
    }

    #[test]
    fn a_sign_in_state_is_good_once_and_only_while_fresh() {
        let s = DashboardSessions::new();
        let pending = |created| PendingSignIn {
            browser_binding: "b".into(),
            code_verifier: "v".into(),
            nonce: "n".into(),
            return_to: "/dashboard/".into(),
            created,
        };
        let state = s.begin_sign_in(pending(100));
        assert!(s.finish_sign_in(&state, 101).is_some());
        assert!(s.finish_sign_in(&state, 101).is_none(), "a replayed callback finds nothing");
        let late = s.begin_sign_in(pending(100));
        assert!(s.finish_sign_in(&late, 100 + SIGN_IN_LIFETIME_S).is_none());
    }

    #[test]
    fn sessions_end_when_idle_or_old_and_on_sign_out() {
        let s = DashboardSessions::new();
        let a = s.create("A".into(), "a@x".into(), AdminRole::Admin, tokens(), 1_000);
        assert!(s.find(&a.id, 1_000 + SESSION_IDLE_S - 1).is_some());
        assert!(s.find(&a.id, 1_000 + 2 * SESSION_IDLE_S - 2).is_some(), "each request renews the idle time");
        assert!(s.find(&a.id, 1_000 + 3 * SESSION_IDLE_S).is_none(), "idle too long");
        let b = s.create("B".into(), "b@x".into(), AdminRole::Auditor, tokens(), 1_000);
        let mut t = 1_000;
        while t < 1_000 + SESSION_LIFETIME_S - 60 {
            t += 3_600;
            assert!(s.find(&b.id, t.min(1_000 + SESSION_LIFETIME_S - 1)).is_some());
        }
        assert!(s.find(&b.id, 1_000 + SESSION_LIFETIME_S).is_none(), "never past its lifetime");
        let c = s.create("C".into(), "c@x".into(), AdminRole::Admin, tokens(), 1_000);
        assert!(s.is_live(&c.id, 1_000 + SESSION_IDLE_S - 1));
        assert!(!s.is_live(&c.id, 1_000 + SESSION_IDLE_S), "asking is not activity");
        s.end(&c.id);
        assert!(s.find(&c.id, 1_000).is_none());
        assert!(!s.is_live(&c.id, 1_000));
    }

    #[test]
    fn a_flash_is_shown_once() {
        let s = DashboardSessions::new();
        let a = s.create("A".into(), "a@x".into(), AdminRole::Admin, tokens(), 1);
        a.set_flash(FlashKind::Done, "App created");
        assert_eq!(a.take_flash().map(|f| f.text), Some("App created".into()));
        assert_eq!(a.take_flash(), None);
    }
}
