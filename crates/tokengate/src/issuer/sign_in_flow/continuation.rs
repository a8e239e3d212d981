//! The signed request a sign-in carries from page to page: which flow it continues (an
//! authorization request or a device-code approval) and what it may ask for. Only this server
//! can seal one, so scopes, client and redirect URI in a form are never taken from the form.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::issuer::authorize_request::AuthorizeRequest;
use crate::issuer::browser_state::FLOW_LIFETIME;
use crate::state::{now, IssuerState};

/// Where a sign-in goes next.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Continuation {
    Authorize(Box<AuthorizeRequest>),
    /// Approving a device code: the hash of the user code the person entered.
    Device {
        tenant_id: Uuid,
        client_id: Uuid,
        user_code_hash: Vec<u8>,
        scope: String,
        signed_in_session: Option<Uuid>,
    },
}

impl Continuation {
    pub fn tenant_id(&self) -> Uuid {
        match self {
            Continuation::Authorize(r) => r.tenant_id,
            Continuation::Device { tenant_id, .. } => *tenant_id,
        }
    }

    pub fn client_id(&self) -> Uuid {
        match self {
            Continuation::Authorize(r) => r.client_id,
            Continuation::Device { client_id, .. } => *client_id,
        }
    }

    pub fn scope(&self) -> &str {
        match self {
            Continuation::Authorize(r) => &r.scope,
            Continuation::Device { scope, .. } => scope,
        }
    }

    /// The same flow, remembering the session its sign-in just created (so `prompt=login` and
    /// the device confirmation count that sign-in as fresh).
    pub fn signed_in(self, session_id: Uuid) -> Continuation {
        match self {
            Continuation::Authorize(mut r) => {
                r.signed_in_session = Some(session_id);
                Continuation::Authorize(r)
            }
            Continuation::Device { tenant_id, client_id, user_code_hash, scope, .. } => Continuation::Device {
                tenant_id,
                client_id,
                user_code_hash,
                scope,
                signed_in_session: Some(session_id),
            },
        }
    }
}

const CONTINUATION: &str = "continuation";

pub fn seal(state: &IssuerState, c: &Continuation) -> String {
    state.browser.seal(CONTINUATION, c, now() + FLOW_LIFETIME)
}

/// The continuation sealed in `sealed`, if it is this server's, unaltered and unexpired.
pub fn open(state: &IssuerState, sealed: &str, now: i64) -> Option<Continuation> {
    state.browser.open::<Continuation>(CONTINUATION, sealed, now)
}

pub fn resume_url(state: &IssuerState, c: &Continuation) -> String {
    format!("{}/flow/resume?continuation={}", state.base_url, seal(state, c))
}
