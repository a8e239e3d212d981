//! The device authorization grant (RFC 8628) as Entra runs it: a device asks for a code pair,
//! a person enters the short `user_code` on the verification page, signs in and consents, and the
//! device polls the token endpoint with the long `device_code` until the decision is made.
//!
//! Both codes are stored only as SHA-256 hashes. User codes are 9 characters from a 27-letter
//! alphabet (≈ 42.8 bits), single use, and the verification page rate-limits wrong guesses.

use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::client_binding::ClientBinding;
use super::delegated_issuance::{issue_for_sign_in, NewSignIn, UserTokens};
use super::delegated_scopes::RequestedScopes;
use super::find_resource;
use super::grant_context::GrantContext;
use super::Issuer;
use crate::client_auth::backend;
use crate::directory::{AppRegistration, Tenant};
use crate::encoding::{b64url, random_bytes, sha256};
use crate::errors::{codes, OAuthError};
use crate::store::StoreError;
use crate::UnixTime;

/// Entra's device codes live 15 minutes.
pub const DEVICE_CODE_LIFETIME: i64 = 900;
/// Entra asks devices to poll every 5 seconds.
pub const DEVICE_POLL_INTERVAL: i64 = 5;
/// RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval.
pub const SLOW_DOWN_STEP: i64 = 5;
/// The interval stops growing here: a client that obeys must still get to poll within the
/// code's lifetime.
pub const MAX_POLL_INTERVAL: i64 = 60;
/// No vowels (no words spelled by accident), no 0/O/1/I/L look-alikes.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKMNPQRSTVWXZ23456789";
pub const USER_CODE_LENGTH: usize = 9;

/// log2(27^9) ≈ 42.8 bits; the issue asks for at least 34.
pub fn user_code_entropy_bits() -> f64 {
    (USER_CODE_ALPHABET.len() as f64).log2() * USER_CODE_LENGTH as f64
}

pub fn new_user_code() -> String {
    let mut rng = rand::thread_rng();
    (0..USER_CODE_LENGTH).map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char).collect()
}

/// What people type is forgiven: case, spaces and dashes. Anything else cannot be a code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String =
        typed.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b))).then_some(code)
}

pub fn user_code_hash(normalized: &str) -> Vec<u8> {
    sha256(normalized.as_bytes()).to_vec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceCodeStatus {
    /// Waiting for a person to enter the code.
    Pending,
    /// Approved by `user_id`; the next poll redeems it.
    Approved,
    Declined,
    /// Exchanged for tokens (single use).
    Redeemed,
}

impl DeviceCodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceCodeStatus::Pending => "pending",
            DeviceCodeStatus::Approved => "approved",
            DeviceCodeStatus::Declined => "declined",
            DeviceCodeStatus::Redeemed => "redeemed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeviceCodeStatus::Pending),
            "approved" => Some(DeviceCodeStatus::Approved),
            "declined" => Some(DeviceCodeStatus::Declined),
            "redeemed" => Some(DeviceCodeStatus::Redeemed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code_hash: Vec<u8>,
    pub user_code_hash: Vec<u8>,
    pub tenant_id: Uuid,
    pub client_id: Uuid,
    /// Scopes as requested (including `openid`, `offline_access`).
    pub scopes: Vec<String>,
    pub status: DeviceCodeStatus,
    /// Who approved (or declined).
    pub user_id: Option<Uuid>,
    pub auth_time: Option<UnixTime>,
    /// The sign-in session (`sid`) the approval was made in.
    #[serde(default)]
    pub session_id: Option<Uuid>,
    /// Seconds the device was told to wait between polls. Each node's `DevicePollPace` starts
    /// the code's clock at this and grows it on `slow_down`; the stored value does not change.
    pub interval: i64,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A person's decision on the verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceDecision {
    Approve { user_id: Uuid, auth_time: UnixTime, session_id: Uuid },
    Decline { user_id: Uuid },
}

/// What one poll found. Only `Approved` consumes the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevicePoll {
    Pending,
    /// Polled sooner than `interval` after the last poll; the interval is now `interval`.
    SlowDown {
        interval: i64,
    },
    /// Approved and now redeemed: mint the tokens.
    Approved(Box<DeviceAuthorization>),
    Declined,
    Expired,
    /// Redeemed before (single use).
    AlreadyRedeemed,
    /// The code belongs to another client (nothing was changed).
    WrongClient,
    NotFound,
}

/// What `POST /devicecode` hands back (RFC 8628 §3.2).
pub struct StartedDeviceFlow {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Starts a flow: the scopes must name an existing resource and permissions (consent is asked on
/// the verification page, when the person is known).
pub async fn start(
    issuer: &Issuer<'_>,
    tenant: &Tenant,
    client: &AppRegistration,
    scope: &str,
    now: UnixTime,
) -> Result<StartedDeviceFlow, OAuthError> {
    let requested = RequestedScopes::parse(scope)?;
    if let Some(identifier) = &requested.resource {
        let resource = find_resource(issuer.store, tenant, identifier).await?.ok_or_else(|| {
            OAuthError::new(
                400,
                "invalid_resource",
                codes::RESOURCE_NOT_FOUND,
                "The resource principal was not found in the tenant.",
            )
        })?;
        if requested.values.iter().any(|v| v == ".default") {
            super::configured_permissions::default_scopes(client, &resource, identifier)?;
        }
        if let Some(unknown) = requested
            .values
            .iter()
            .find(|v| *v != ".default" && !resource.scopes.iter().any(|s| s.enabled && &s.value == *v))
        {
            return Err(OAuthError::invalid_scope(
                codes::INVALID_SCOPE,
                format!(
                    "The provided value '{}' for the input parameter 'scope' is not valid.",
                    unknown.chars().take(200).collect::<String>()
                ),
            ));
        }
    }
    let lifetime = issuer.settings.device_code_lifetime;
    // A user-code collision among live codes is possible in principle: draw again.
    for _ in 0..5 {
        let device_code = format!("DAQ{}", b64url(random_bytes::<32>()));
        let user_code = new_user_code();
        let record = DeviceAuthorization {
            device_code_hash: device_code_hash(&device_code),
            user_code_hash: user_code_hash(&user_code),
            tenant_id: tenant.id,
            client_id: client.app_id,
            scopes: scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            status: DeviceCodeStatus::Pending,
            user_id: None,
            auth_time: None,
            session_id: None,
            interval: DEVICE_POLL_INTERVAL,
            created_at: now,
            expires_at: now + lifetime,
        };
        match issuer.store.insert_device_code(&record).await {
            Ok(()) => {
                return Ok(StartedDeviceFlow {
                    device_code,
                    user_code,
                    expires_in: lifetime,
                    interval: DEVICE_POLL_INTERVAL,
                })
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(backend(e)),
        }
    }
    Err(OAuthError::server_error("could not draw a unique user code"))
}

pub fn device_code_hash(device_code: &str) -> Vec<u8> {
    sha256(device_code.as_bytes()).to_vec()
}

fn poll_error(error: &'static str, code: u32, text: &str) -> OAuthError {
    OAuthError::new(400, error, code, text)
}

/// One poll by `client_id` at `now_ms`. Answers that change nothing come from a read; the pace is
/// this node's memory (`DevicePollPace`); only an approved code's redemption writes, as a
/// compare-and-set, so of concurrent polls exactly one gets `Approved`.
pub async fn poll(
    issuer: &Issuer<'_>,
    code_hash: &[u8],
    client_id: Uuid,
    now_ms: i64,
) -> Result<DevicePoll, StoreError> {
    let Some(code) = issuer.store.device_code(code_hash).await? else {
        return Ok(DevicePoll::NotFound);
    };
    if code.client_id != client_id {
        return Ok(DevicePoll::WrongClient);
    }
    if code.expires_at.saturating_mul(1000) <= now_ms {
        return Ok(DevicePoll::Expired);
    }
    // Single use is answered before slow_down.
    if code.status == DeviceCodeStatus::Redeemed {
        return Ok(DevicePoll::AlreadyRedeemed);
    }
    if let Err(interval) = issuer.device_polls.poll(code_hash, code.interval, code.expires_at, now_ms) {
        return Ok(DevicePoll::SlowDown { interval });
    }
    Ok(match code.status {
        DeviceCodeStatus::Pending => DevicePoll::Pending,
        DeviceCodeStatus::Declined => DevicePoll::Declined,
        DeviceCodeStatus::Approved => match issuer.store.redeem_device_code(code_hash, client_id, now_ms).await? {
            Some(redeemed) => {
                issuer.device_polls.forget(code_hash);
                DevicePoll::Approved(Box::new(redeemed))
            }
            // Another poll redeemed it first, or a revocation declined it since the read.
            None => DevicePoll::AlreadyRedeemed,
        },
        DeviceCodeStatus::Redeemed => DevicePoll::AlreadyRedeemed,
    })
}

/// One poll of the token endpoint (RFC 8628 §3.4–3.5).
pub async fn redeem(ctx: &GrantContext<'_>, device_code: &str) -> Result<UserTokens, OAuthError> {
    let client = &ctx.client.app;
    let hash = device_code_hash(device_code);
    let approved = match poll(&ctx.issuer, &hash, client.app_id, ctx.now_ms).await.map_err(backend)? {
        DevicePoll::Approved(a) => a,
        DevicePoll::Pending => {
            return Err(poll_error(
                "authorization_pending",
                codes::DEVICE_PENDING,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ))
        }
        DevicePoll::SlowDown { interval } => {
            let mut e = poll_error(
                "slow_down",
                codes::DEVICE_PENDING,
                &format!("Polling too fast: wait at least {interval} seconds between requests."),
            );
            e.retry_after = Some(interval as u64);
            return Err(e);
        }
        DevicePoll::Declined => {
            return Err(poll_error(
                "authorization_declined",
                codes::CONSENT_DECLINED,
                "The user declined the sign-in request.",
            ))
        }
        DevicePoll::Expired => {
            return Err(poll_error(
                "expired_token",
                codes::DEVICE_EXPIRED,
                "The device code has expired. Start a new device flow.",
            ))
        }
        DevicePoll::AlreadyRedeemed | DevicePoll::WrongClient | DevicePoll::NotFound => {
            return Err(OAuthError::invalid_grant(
                codes::DEVICE_BAD_CODE,
                "The device code is invalid, was already redeemed, or belongs to another client.",
            ))
        }
    };
    let Some(user_id) = approved.user_id else {
        return Err(OAuthError::server_error("approved device code without a user"));
    };
    issue_for_sign_in(
        &ctx.issuer,
        NewSignIn {
            tenant: ctx.tenant,
            client,
            client_auth: ctx.client.method,
            user_id,
            scope: approved.scopes.join(" "),
            nonce: None,
            family_id: None,
            session_id: approved.session_id,
            client_binding: ClientBinding::for_client_auth(ctx.client.method),
            client_capabilities: ctx.client_capabilities.clone(),
            grant: "device_code",
            now: ctx.now_ms / 1000,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_have_enough_entropy_and_normalize() {
        assert!(user_code_entropy_bits() >= 34.0);
        let code = new_user_code();
        assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
        let typed = format!(" {}-{} ", code[..4].to_lowercase(), &code[4..]);
        assert_eq!(normalize_user_code(&typed), Some(code.clone()));
        assert_eq!(normalize_user_code("AAAAAAAAA"), None, "vowels are not in the alphabet");
        assert_eq!(normalize_user_code("BCDFGHJK"), None, "too short");
        assert_eq!(normalize_user_code("BCDFGHJKMN"), None, "too long");
        assert_eq!(normalize_user_code("BCDFGHJK\u{0}"), None);
        assert_ne!(new_user_code(), new_user_code());
    }
}
