//! Records behind the delegated grants: authorization codes (single use, ~10 minutes) and
//! refresh-token families. Codes and refresh tokens are stored only as SHA-256 hashes; the
//! family ties every refresh token (and the access tokens minted with them) to the sign-in that
//! started it, so one detected theft can revoke all of it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::client_binding::ClientBinding;
use crate::directory::RedirectPlatform;
use crate::pkce::ChallengeMethod;
use crate::UnixTime;

/// Authorization codes live this long (Entra: about 10 minutes).
pub const CODE_LIFETIME: i64 = 600;
/// Refresh tokens expire after this much inactivity (Entra: 90 days, sliding).
pub const REFRESH_INACTIVITY: i64 = 90 * 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub code_hash: Vec<u8>,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    pub redirect_uri: String,
    /// Scopes as requested (including `openid`, `offline_access`).
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub pkce_challenge: Option<String>,
    pub pkce_method: Option<ChallengeMethod>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// The refresh-token family started by redeeming this code (revoked if the code is reused).
    pub family_id: Option<Uuid>,
    /// The browser sign-in session (`sid`) the code was issued in.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    /// The platform of the redirect URI the code was issued to: it decides how the redemption
    /// must authenticate the client (`None`: a code stored before this was recorded).
    #[serde(default)]
    pub redirect_platform: Option<RedirectPlatform>,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First redemption: the code is now spent.
    Redeemed(Box<AuthorizationCode>),
    /// Spent before: a replay (or a parallel redemption that lost).
    AlreadyRedeemed(Box<AuthorizationCode>),
    /// Unknown or expired.
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefreshState {
    /// The one live token of its family.
    Active,
    /// Exchanged for a successor at `rotated_at`.
    Rotated,
    /// A successor never claimed, withdrawn when its parent was presented again within the grace
    /// window. Whoever presents it later held it while someone else re-used the parent: one of
    /// the two is not the rightful client, so presenting it is reuse and revokes the family.
    Withdrawn,
    Revoked,
}

impl RefreshState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshState::Active => "active",
            RefreshState::Rotated => "rotated",
            RefreshState::Withdrawn => "withdrawn",
            RefreshState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(RefreshState::Active),
            "rotated" => Some(RefreshState::Rotated),
            "withdrawn" => Some(RefreshState::Withdrawn),
            "revoked" => Some(RefreshState::Revoked),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshToken {
    pub token_hash: Vec<u8>,
    pub family_id: Uuid,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    pub user_id: Uuid,
    /// Delegated scopes this family may ever ask for (never widened by refreshing).
    pub scopes: Vec<String>,
    pub state: RefreshState,
    pub issued_at: UnixTime,
    /// Sliding: each rotation issues a successor with a fresh inactivity window.
    pub expires_at: UnixTime,
    pub rotated_at: Option<UnixTime>,
    /// The token this one replaced (for the grace window of the immediately previous token).
    pub parent_hash: Option<Vec<u8>>,
    /// The sign-in session (`sid`) of the family; successors inherit it.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    /// How every redemption of the family must authenticate the client; successors inherit it
    /// (`None`: a family started before this was recorded).
    #[serde(default)]
    pub client_binding: Option<ClientBinding>,
}

/// An access token minted for a family: its `uti` is remembered until it expires, so revoking
/// the family revokes it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedAccessToken {
    pub uti: String,
    pub expires_at: UnixTime,
}

/// How a refresh token may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReusePolicy {
    /// tokengate's default: a rotated token presented again (outside `grace_seconds`, and only
    /// for the immediately previous token) revokes the whole family. Within the grace the unused
    /// successor is withdrawn and a new one issued (the client lost the response); presenting the
    /// withdrawn successor later revokes the family, so a replay in the grace window can never
    /// silently take the family over from the client that rotated first (or second).
    RotateAndDetect { grace_seconds: i64 },
    /// Entra's behaviour: old refresh tokens stay valid until they expire.
    EntraCompatible,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    /// Exchanged: `presented` is rotated and the successor is the family's live token.
    Rotated { presented: Box<RefreshToken> },
    /// A reuse of a rotated token: the family is revoked.
    ReuseDetected { family_id: Uuid },
    /// Unknown, expired, or its family is revoked.
    Invalid,
}
