//! The dashboard's sign-in client in `tokengate dev`: a public client app with loopback redirect
//! URIs (any port, RFC 8252), the admin API's delegated `user_impersonation` scope, and
//! tenant-wide consent for it, so the admin and auditor users sign in without a consent prompt.
//! Their role (Tokengate.Admin or Tokengate.Auditor) comes from their app role assignments.

use serde::{Deserialize, Serialize};
use tokengate_core::api_permissions::add_api_permission;
use tokengate_core::directory::{RedirectPlatform, RedirectUri};
use tokengate_core::directory_admin as admin;
use tokengate_core::store::Store;
use uuid::Uuid;

use crate::dashboard::DASHBOARD_SCOPE;
use crate::dev::{demo_app, DevSeed};
use crate::dev_error::DevError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevDashboard {
    pub client_id: Uuid,
}

/// Loopback paths the dashboard returns to (the port is the admin listener's, whatever it is).
const REDIRECT_URIS: [&str; 4] = [
    "http://127.0.0.1/dashboard/callback",
    "http://127.0.0.1/dashboard/signed-out",
    "http://localhost/dashboard/callback",
    "http://localhost/dashboard/signed-out",
];

pub async fn seed_dashboard(store: &dyn Store, seed: &DevSeed, now: i64) -> Result<DevDashboard, DevError> {
    let redirects = REDIRECT_URIS
        .iter()
        .map(|uri| RedirectUri { platform: RedirectPlatform::PublicClient, uri: (*uri).into() })
        .collect();
    let (client, _) = demo_app(store, seed.tenant_id, "tokengate dashboard", vec![], true, redirects, now).await?;
    let admin_api = seed.admin.app_id;
    let existing = store.app(admin_api).await.map_err(DevError::Store)?;
    if !existing.is_some_and(|app| app.scopes.iter().any(|s| s.value == DASHBOARD_SCOPE)) {
        admin::add_scope(store, admin_api, DASHBOARD_SCOPE, "Use the tokengate dashboard as the signed-in user", now)
            .await?;
    }
    let scopes = [DASHBOARD_SCOPE.to_string()];
    add_api_permission(store, client.app_id, &admin_api.to_string(), &scopes, &[], now).await?;
    admin::grant_consent(store, seed.tenant_id, client.app_id, admin_api, None, &scopes, now).await?;
    Ok(DevDashboard { client_id: client.app_id })
}
