//! Confidential-client authentication at the token endpoint: `client_secret` (form body or HTTP
//! Basic, RFC 6749 §2.3.1) or `private_key_jwt` (RFC 7523). Unknown clients and wrong secrets get
//! the same answer, and failures are rate-limited per client id and per IP before any check runs.

pub mod client_assertion;

use uuid::Uuid;

use crate::directory::{AppRegistration, Tenant};
use crate::errors::{codes, OAuthError};
use crate::rate_limit::CredentialGuessLimits;
use crate::secrets::{check_secret, SecretCheck};
use crate::store::{Store, UseRecord};
use crate::UnixTime;
use client_assertion::{verify_client_assertion, AssertionContext, JWT_BEARER_ASSERTION_TYPE};

/// The credential a client presented, already pulled out of the request (exactly one).
#[derive(Debug, Clone)]
pub enum PresentedCredential {
    None,
    Secret(String),
    Assertion { assertion_type: String, assertion: String },
}

/// How the client proved itself: Entra's `azpacr`/`appidacr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    Public,
    Secret,
    Certificate,
}

impl ClientAuthMethod {
    pub fn acr(self) -> &'static str {
        match self {
            ClientAuthMethod::Public => "0",
            ClientAuthMethod::Secret => "1",
            ClientAuthMethod::Certificate => "2",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    pub app: AppRegistration,
    pub method: ClientAuthMethod,
    /// The secret or certificate key id used, for the audit record.
    pub credential_id: Option<Uuid>,
}

pub struct ClientAuthContext<'a> {
    pub tenant: &'a Tenant,
    pub client_id: &'a str,
    pub client_ip: &'a str,
    /// Token endpoint URLs (and issuer) a client assertion may name as `aud`.
    pub assertion_audiences: &'a [String],
    pub now: UnixTime,
    pub skew: i64,
}

/// Authenticates a confidential client. The app must be registered in, or have a service
/// principal in, the tenant of the request.
pub async fn authenticate_confidential_client(
    store: &dyn Store,
    limits: &CredentialGuessLimits,
    credential: &PresentedCredential,
    ctx: &ClientAuthContext<'_>,
) -> Result<AuthenticatedClient, OAuthError> {
    // Checked before any credential is looked at, so a locked-out guesser learns nothing more.
    limits.check(ctx.client_id, ctx.client_ip, ctx.now).map_err(OAuthError::rate_limited)?;
    let result = authenticate(store, credential, ctx).await;
    if let Err(e) = &result {
        if e.error == "invalid_client" {
            limits.record_failure(ctx.client_id, ctx.client_ip, ctx.now);
        }
    }
    result
}

async fn authenticate(
    store: &dyn Store,
    credential: &PresentedCredential,
    ctx: &ClientAuthContext<'_>,
) -> Result<AuthenticatedClient, OAuthError> {
    let app = find_client(store, ctx).await?;
    match credential {
        PresentedCredential::None => Err(OAuthError::invalid_client(
            codes::NO_CLIENT_CREDENTIAL,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
        PresentedCredential::Secret(secret) => {
            let stored = match &app {
                Some(app) => store.secrets(app.app_id).await.map_err(backend)?,
                None => Vec::new(),
            };
            // Runs the same hash-and-compare whether or not the client exists.
            match (check_secret(secret, &stored, ctx.now), app) {
                (SecretCheck::Valid, Some(app)) => {
                    let credential_id = matching_secret_id(secret, &stored);
                    Ok(AuthenticatedClient { app, method: ClientAuthMethod::Secret, credential_id })
                }
                (SecretCheck::Expired, Some(app)) => Err(OAuthError::invalid_client(
                    codes::EXPIRED_CLIENT_SECRET,
                    format!("The provided client secret keys for app '{}' are expired.", app.app_id),
                )),
                _ => Err(OAuthError::wrong_client_secret(ctx.client_id)),
            }
        }
        PresentedCredential::Assertion { assertion_type, assertion } => {
            if assertion_type != JWT_BEARER_ASSERTION_TYPE {
                return Err(OAuthError::invalid_client(
                    codes::ASSERTION_TYPE,
                    "The client_assertion_type is not supported; use urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
                ));
            }
            let certificates = match &app {
                Some(app) => store.certificates(app.app_id).await.map_err(backend)?,
                None => Vec::new(),
            };
            let assertion_ctx = AssertionContext {
                client_id: ctx.client_id,
                accepted_audiences: ctx.assertion_audiences,
                now: ctx.now,
                skew: ctx.skew,
            };
            let verified = verify_client_assertion(assertion, &certificates, &assertion_ctx)?;
            let Some(app) = app else {
                // Unreachable in practice (no certificates ⇒ signature check failed), kept so
                // an unknown client can never authenticate.
                return Err(OAuthError::invalid_client(
                    codes::ASSERTION_SIGNATURE_INVALID,
                    "Client assertion failed signature validation.",
                ));
            };
            let fingerprint = crate::encoding::sha256(assertion.as_bytes());
            let usage = store
                .record_use(
                    &format!("assertion:{}", app.app_id),
                    &verified.jti,
                    &fingerprint,
                    verified.expires_at + ctx.skew,
                    ctx.now,
                )
                .await
                .map_err(backend)?;
            let replayed = match usage {
                UseRecord::First => false,
                UseRecord::Repeated => app.single_use_client_assertions,
                UseRecord::Conflicting => true,
            };
            if replayed {
                return Err(OAuthError::invalid_client(
                    codes::ASSERTION_INVALID,
                    "The client assertion's jti has already been used (replay).",
                ));
            }
            Ok(AuthenticatedClient {
                app,
                method: ClientAuthMethod::Certificate,
                credential_id: Some(verified.certificate_key_id),
            })
        }
    }
}

fn matching_secret_id(secret: &str, stored: &[crate::directory::ClientSecret]) -> Option<Uuid> {
    let hash = crate::secrets::hash_secret(secret);
    stored.iter().find(|s| s.secret_hash == hash).map(|s| s.key_id)
}

/// The client app as visible from the request's tenant; `None` when it does not exist there
/// (callers must answer exactly as for a wrong credential).
async fn find_client(store: &dyn Store, ctx: &ClientAuthContext<'_>) -> Result<Option<AppRegistration>, OAuthError> {
    let Ok(app_id) = Uuid::parse_str(ctx.client_id) else {
        return Ok(None);
    };
    let Some(app) = store.app(app_id).await.map_err(backend)? else {
        return Ok(None);
    };
    if app.is_public_client {
        return Ok(None);
    }
    if app.tenant_id == ctx.tenant.id {
        return Ok(Some(app));
    }
    let sp = store.service_principal(ctx.tenant.id, app.app_id).await.map_err(backend)?;
    Ok(sp.map(|_| app))
}

pub(crate) fn backend(e: crate::store::StoreError) -> OAuthError {
    OAuthError::server_error(format!("storage unavailable: {e}"))
}
