//! `tokengate app ...`: the arguments. An APP is named by client id (GUID), App ID URI
//! (`api://orders`) or display name (`name_resolution` says when a name is ambiguous).

use clap::Subcommand;

use super::store_permission_commands::PermissionCommand;

#[derive(Subcommand)]
pub enum AppCommand {
    /// Register an app (and its service principal in its home tenant).
    Create {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// App ID URI, e.g. api://orders (repeatable).
        #[arg(long = "identifier-uri")]
        identifier_uris: Vec<String>,
        /// single (AzureADMyOrg) or multi (AzureADMultipleOrgs).
        #[arg(long, default_value = "single")]
        audience: String,
        /// accessTokenAcceptedVersion: 1 or 2 (Entra's default is 1).
        #[arg(long)]
        token_version: Option<u8>,
        /// Public client (native app, device code): no credentials.
        #[arg(long)]
        public: bool,
        /// Redirect URI as PLATFORM=URI with PLATFORM web, spa or public (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Refuse a client assertion sent twice (stricter than Entra; MSAL resends its assertion
        /// for up to ~9 minutes, so only use this with clients that sign one per request).
        #[arg(long)]
        single_use_assertions: bool,
        /// Keep refresh tokens valid after use, as Entra does, instead of rotating them with
        /// reuse detection (tokengate's default).
        #[arg(long)]
        entra_compatible_refresh: bool,
        /// Put the user's group object ids into delegated tokens (Entra's groupMembershipClaims).
        #[arg(long)]
        group_claims: bool,
    },
    /// List a tenant's apps.
    List {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
    },
    /// Show one app: identifier URIs, redirect URIs, scopes, app roles and its ETag.
    Show {
        /// Client id, App ID URI or display name.
        app: String,
    },
    /// Change an app's settings; only the flags given change. Refused, changing nothing, when
    /// someone else changed the app since it was read.
    Update {
        /// Client id, App ID URI or display name.
        app: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// App ID URI (repeatable): replaces every App ID URI the app has.
        #[arg(long = "identifier-uri")]
        identifier_uris: Vec<String>,
        /// Remove every App ID URI.
        #[arg(long, conflicts_with = "identifier_uris")]
        clear_identifier_uris: bool,
        /// single (AzureADMyOrg) or multi (AzureADMultipleOrgs).
        #[arg(long)]
        audience: Option<String>,
        /// accessTokenAcceptedVersion: 1 or 2.
        #[arg(long)]
        token_version: Option<u8>,
        /// Public client: true or false.
        #[arg(long)]
        public: Option<bool>,
        /// Refuse a client assertion sent twice: true or false.
        #[arg(long)]
        single_use_assertions: Option<bool>,
        /// Entra-compatible (non-rotating) refresh tokens: true or false.
        #[arg(long)]
        entra_compatible_refresh: Option<bool>,
        /// Group object ids in delegated tokens: true or false.
        #[arg(long)]
        group_claims: Option<bool>,
        /// Change the app only if it is still the version with this ETag (as `app show` prints
        /// it); default: the version this command reads just before.
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete an app: its tokens are revoked, its service principals, secrets, certificates,
    /// grants and consents go with it. Asks first; without a terminal pass --yes.
    Delete {
        /// Client id, App ID URI or display name.
        app: String,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Admin consent of another tenant to a multi-tenant app: provisions its service principal there.
    Provision {
        /// Client id, App ID URI or display name.
        app: String,
        /// The consenting tenant: id, verified domain or display name.
        #[arg(long)]
        tenant: String,
    },
    /// List the app's service principals (its identity in each tenant that consented).
    ServicePrincipals {
        /// Client id, App ID URI or display name.
        app: String,
    },
    /// Register one more redirect URI, as PLATFORM=URI (web, spa or public).
    AddRedirect {
        /// Client id, App ID URI or display name.
        app: String,
        /// PLATFORM=URI, e.g. spa=https://app.example/.
        #[arg(long = "redirect-uri")]
        redirect_uri: String,
    },
    /// Remove a redirect URI: PLATFORM=URI for one platform, or URI for every platform.
    RemoveRedirect {
        /// Client id, App ID URI or display name.
        app: String,
        /// PLATFORM=URI or URI, exactly as registered.
        #[arg(long = "redirect-uri")]
        redirect_uri: String,
    },
    /// Expose a delegated permission scope.
    AddScope {
        /// Client id, App ID URI or display name.
        app: String,
        /// The scope value, as it appears in `scp` (e.g. Orders.Read).
        #[arg(long)]
        value: String,
        /// Display name (default: the value).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Remove a delegated permission scope (refused while a consent grants it).
    RemoveScope {
        /// Client id, App ID URI or display name.
        app: String,
        /// The scope's value (e.g. Orders.Read) or id.
        scope: String,
    },
    /// The app's configured API permissions (requiredResourceAccess): add, list, remove.
    Permission {
        #[command(subcommand)]
        command: PermissionCommand,
    },
    /// Define an app role.
    AddRole {
        /// Client id, App ID URI or display name.
        app: String,
        /// The role value, as it appears in `roles` (e.g. Orders.Read.All).
        #[arg(long)]
        value: String,
        /// Display name (default: the value).
        #[arg(long)]
        display_name: Option<String>,
        /// Who may hold it: application, user, or both (comma-separated).
        #[arg(long, default_value = "application")]
        members: String,
    },
    /// Remove an app role (refused while an app, user or group holds it).
    RemoveRole {
        /// Client id, App ID URI or display name.
        app: String,
        /// The role's value (e.g. Orders.Read.All) or id.
        role: String,
    },
}
