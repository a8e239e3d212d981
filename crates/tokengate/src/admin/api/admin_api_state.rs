//! What every admin API request shares: the store, and how callers are authenticated — bearer
//! tokens of the built-in issuer for the admin API app (`api://tokengate-admin` in `dev`),
//! verified by the same authentication module as the gateway's.

use std::path::Path;
use std::sync::Arc;

use tokengate_core::access::policy::Requirements;
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::directory::AppRegistration;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;

use crate::authentication::{Authenticator, BuiltinKeys, IssuerTrust};
use crate::gateway::GatewayState;
use crate::revocation_feed::FeedHandle;

/// App roles of the admin API app: Admin may do everything, Auditor may read everything.
pub const ADMIN_ROLE: &str = "Tokengate.Admin";
pub const AUDITOR_ROLE: &str = "Tokengate.Auditor";

/// The identifier the admin API app is found by unless configured otherwise.
pub const DEFAULT_ADMIN_API_URI: &str = "api://tokengate-admin";

/// Name of the built-in issuer in the admin API's own trust (not a gateway policy's).
const ISSUER_NAME: &str = "tokengate";

pub struct AdminApiState {
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    pub trust: IssuerTrust,
    /// Issuer, audience (the admin API app) and either role.
    pub requirements: Requirements,
    pub feed: FeedHandle,
    /// Held when this node runs the issuer: removing the active signing key rotates first.
    pub kek: Option<Arc<KeyEncryptionKey>>,
    /// Held when this node runs the gateway: the token debugger judges with its policy.
    pub gateway: Option<Arc<GatewayState>>,
    /// Turns true when the node stops: long-lived answers (the audit tail) end, so the
    /// listener's drain is not held for its whole window.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl AdminApiState {
    /// Trusts the built-in issuer for tokens addressed to `admin_app` (by client id or any of its
    /// App ID URIs) in its home tenant.
    pub fn new(
        store: Arc<dyn Store>,
        builtin: &BuiltinKeys,
        admin_app: &AppRegistration,
        revocations: Arc<RevocationSet>,
        feed: FeedHandle,
        kek: Option<Arc<KeyEncryptionKey>>,
        gateway: Option<Arc<GatewayState>>,
    ) -> Result<AdminApiState, Vec<String>> {
        let tenant = admin_app.tenant_id.to_string();
        let document: PolicyDocument = toml::from_str(&format!(
            "[[issuer]]\nname = \"{ISSUER_NAME}\"\nkind = \"builtin\"\ntenants = [\"{tenant}\"]\n"
        ))
        .map_err(|e| vec![e.to_string()])?;
        let limits = crate::authentication::issuer_trust::VerificationLimits {
            skew: document.settings.clock_skew,
            max_token_bytes: document.settings.max_token_bytes,
            ..Default::default()
        };
        let trust = IssuerTrust::build(&document.issuers, Path::new("."), Some(builtin), None, limits)?;
        let mut audiences = vec![admin_app.app_id.to_string()];
        audiences.extend(admin_app.identifier_uris.iter().cloned());
        let requirements = Requirements {
            issuers: vec![ISSUER_NAME.into()],
            audiences,
            tenants: vec![tenant],
            roles_any: vec![ADMIN_ROLE.into(), AUDITOR_ROLE.into()],
            ..Default::default()
        };
        let auth = Authenticator::new(1_000, revocations, Default::default());
        // Never stopping until the runtime sets its own signal (`with_stop_signal`).
        let stopping = tokio::sync::watch::channel(false).1;
        Ok(AdminApiState { store, auth, trust, requirements, feed, kek, gateway, stopping })
    }
}

impl AdminApiState {
    /// Ends long-lived answers when `stopping` turns true.
    pub fn with_stop_signal(mut self, stopping: tokio::sync::watch::Receiver<bool>) -> AdminApiState {
        self.stopping = stopping;
        self
    }
}

/// The admin API app a store holds under `identifier_uri`, in whichever tenant registered it
/// (App ID URIs are unique across tenants).
pub async fn find_admin_app(store: &dyn Store, identifier_uri: &str) -> Option<AppRegistration> {
    for tenant in store.tenants().await.ok()? {
        if let Ok(Some(app)) = store.app_by_identifier_uri(tenant.id, identifier_uri).await {
            if app.tenant_id == tenant.id {
                return Some(app);
            }
        }
    }
    None
}
