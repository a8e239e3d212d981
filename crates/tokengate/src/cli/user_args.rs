//! `tokengate user | group | consent ...`: the arguments. Users are named by object id or user
//! principal name, groups by object id or display name, tenants and apps as elsewhere.

use clap::Subcommand;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password comes from TOKENGATE_USER_PASSWORD (never a flag: flags end up in shell history).
    Create {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
        /// User principal name: user@verified-domain.
        #[arg(long)]
        upn: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's users.
    List {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
    },
    /// Show one user and their ETag.
    Show {
        /// Object id or user principal name.
        user: String,
    },
    /// Change a user's name, user principal name or password; refused, changing nothing, when
    /// someone else changed the user since it was read.
    Update {
        /// Object id or user principal name.
        user: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// New user principal name (at one of the tenant's verified domains).
        #[arg(long)]
        upn: Option<String>,
        /// Set a new password, read from TOKENGATE_USER_PASSWORD.
        #[arg(long)]
        password: bool,
        /// Change the user only if they are still the version with this ETag (as `user show`
        /// prints it); default: the version this command reads just before.
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete a user: their tokens are revoked first. Asks first; without a terminal pass --yes.
    Delete {
        /// Object id or user principal name.
        user: String,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Disable a user: no new sign-in, and every token already issued to them is revoked.
    Disable {
        /// Object id or user principal name.
        user: String,
    },
    /// Enable a disabled user again (revoked tokens stay revoked).
    Enable {
        /// Object id or user principal name.
        user: String,
    },
    /// The groups a user is a member of.
    Groups {
        /// Object id or user principal name.
        user: String,
    },
    /// End every sign-in session of a user (their browsers must sign in again) and revoke every
    /// token issued to them so far, on every node (the kill switch's `revoke user`).
    RevokeSessions {
        /// Object id or user principal name.
        user: String,
    },
    /// Assign an app role (allowed for users) to a user or group.
    AssignRole {
        /// Tenant id, domain or name: where to find a group named by display name.
        #[arg(long)]
        tenant: Option<String>,
        /// The user (object id or UPN) or group (object id or display name).
        #[arg(long)]
        principal: String,
        /// The resource app: client id, App ID URI or display name.
        #[arg(long)]
        resource: String,
        /// The app role's value, e.g. Orders.Admin.
        #[arg(long)]
        role: String,
    },
    /// Remove an app role assignment from a user or group: by --assignment, or by --resource and --role.
    UnassignRole {
        /// Tenant id, domain or name: where to find a group named by display name.
        #[arg(long)]
        tenant: Option<String>,
        /// The user (object id or UPN) or group (object id or display name).
        #[arg(long)]
        principal: String,
        /// The assignment's id (from `user roles`).
        #[arg(long, conflicts_with_all = ["resource", "role"], required_unless_present = "role")]
        assignment: Option<Uuid>,
        /// The resource app: client id, App ID URI or display name.
        #[arg(long, requires = "role")]
        resource: Option<String>,
        /// The app role's value, e.g. Orders.Admin.
        #[arg(long, requires = "resource")]
        role: Option<String>,
    },
    /// The app roles assigned to a user or group.
    Roles {
        /// Tenant id, domain or name: where to find a group named by display name.
        #[arg(long)]
        tenant: Option<String>,
        /// The user (object id or UPN) or group (object id or display name).
        principal: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a security group.
    Create {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's groups.
    List {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
    },
    /// Show one group and its ETag.
    Show {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Rename a group; refused, changing nothing, when someone else changed it since it was read.
    Update {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
        /// New display name.
        #[arg(long)]
        name: String,
        /// Change the group only if it is still the version with this ETag (as `group show`
        /// prints it); default: the version this command reads just before.
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete a group (its members stay). Asks first; without a terminal pass --yes.
    Delete {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
    /// List a group's members.
    Members {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Add a user to a group.
    AddMember {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
        /// The user: object id or user principal name.
        #[arg(long)]
        user: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// Object id or display name.
        group: String,
        /// Tenant id, domain or name: where to look for a display name.
        #[arg(long)]
        tenant: Option<String>,
        /// The user: object id or user principal name.
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Consent to delegated scopes for a client: tenant-wide (admin consent) or for one user.
    Grant {
        /// Tenant id, verified domain or display name.
        #[arg(long)]
        tenant: String,
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        client: String,
        /// The resource app: client id, App ID URI or display name.
        #[arg(long)]
        resource: String,
        /// Scope value (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Only for this user (object id or UPN; default: tenant-wide).
        #[arg(long)]
        user: Option<String>,
    },
    /// List consents; every filter given must match.
    List {
        /// Only in this tenant (id, verified domain or display name).
        #[arg(long)]
        tenant: Option<String>,
        /// Only to this client app (client id, App ID URI or display name).
        #[arg(long)]
        client: Option<String>,
        /// Only for this resource app (client id, App ID URI or display name).
        #[arg(long)]
        resource: Option<String>,
        /// Only this user's own consents (object id or UPN).
        #[arg(long)]
        user: Option<String>,
    },
    /// Show one consent.
    Show {
        /// The consent's id (from `consent list`).
        consent_id: Uuid,
    },
    /// Revoke a consent: the client can no longer get those scopes (refresh tokens already
    /// issued stay valid; `revoke user` or `revoke client` for that).
    Revoke {
        /// The consent's id (from `consent list`).
        consent_id: Uuid,
    },
}
