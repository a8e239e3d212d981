//! `user`, `group` and `consent`: the arguments, and the direct-store implementation (used with
//! `--config`/`--store`, and by `store_fallback` for operations the admin API lacks).

use std::sync::Arc;

use clap::Subcommand;
use tokengate_core::directory_admin as admin;
use tokengate_core::store::Store;
use uuid::Uuid;

use super::CliError;
use crate::state::now;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password comes from TOKENGATE_USER_PASSWORD (never a flag: flags end up in shell history).
    Create {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// User principal name: user@verified-domain.
        #[arg(long)]
        upn: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's users.
    List {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
    },
    /// Show one user.
    Show {
        /// Object id or user principal name.
        user: String,
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
    /// End every sign-in session of a user: their browsers must sign in again.
    RevokeSessions {
        /// The user's object id.
        object_id: Uuid,
    },
    /// Assign an app role (allowed for users) to a user or group.
    AssignRole {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// User or group object id.
        #[arg(long)]
        principal: Uuid,
        /// The resource app's client id.
        #[arg(long)]
        resource: Uuid,
        /// The app role's value, e.g. Orders.Admin.
        #[arg(long)]
        role: String,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a security group.
    Create {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List a tenant's groups.
    List {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
    },
    /// Add a user to a group.
    AddMember {
        /// The group's object id.
        group_id: Uuid,
        /// The user: object id or user principal name.
        #[arg(long)]
        user: String,
    },
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Consent to delegated scopes for a client: tenant-wide (admin consent) or for one user.
    Grant {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// The client app's client id.
        #[arg(long)]
        client: Uuid,
        /// The resource app's client id.
        #[arg(long)]
        resource: Uuid,
        /// Scope value (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Only for this user's object id (default: tenant-wide).
        #[arg(long)]
        user: Option<Uuid>,
    },
}

/// A user named on the command line, for the store path (which looks users up by id or UPN).
async fn stored_user(store: &dyn Store, name: &str) -> Result<Uuid, CliError> {
    let found = match Uuid::parse_str(name) {
        Ok(id) => store.user(id).await?,
        Err(_) => store.user_by_upn(name).await?,
    };
    found.map(|u| u.object_id).ok_or_else(|| CliError::Argument(format!("no user '{name}'")))
}

pub async fn user(store: &Arc<dyn Store>, command: UserCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        UserCommand::Create { tenant, upn, name } => {
            let password = std::env::var("TOKENGATE_USER_PASSWORD").map_err(|_| CliError::NoUserPassword)?;
            let user = admin::create_user(store, tenant, &upn, &name, &password, now()).await?;
            println!("user {} created ({})", user.object_id, user.user_principal_name);
        }
        UserCommand::List { tenant } => {
            for u in store.users(tenant).await? {
                let state = if u.enabled { "enabled" } else { "disabled" };
                println!("{}  {}  {}  {state}", u.object_id, u.user_principal_name, u.display_name);
            }
        }
        UserCommand::Show { user } => {
            let id = stored_user(store, &user).await?;
            let u = store.user(id).await?.ok_or_else(|| CliError::Argument(format!("no user '{user}'")))?;
            let state = if u.enabled { "enabled" } else { "disabled" };
            println!("{}  {}  {}  {state}", u.object_id, u.user_principal_name, u.display_name);
        }
        UserCommand::Disable { user } => {
            let object_id = stored_user(store, &user).await?;
            admin::set_user_enabled(store, object_id, false, now()).await?;
            println!("user {object_id} disabled");
        }
        UserCommand::Enable { user } => {
            let object_id = stored_user(store, &user).await?;
            admin::set_user_enabled(store, object_id, true, now()).await?;
            println!("user {object_id} enabled");
        }
        UserCommand::RevokeSessions { object_id } => {
            let ended = admin::revoke_user_sessions(store, object_id, now()).await?;
            println!("user {object_id}: {ended} sign-in session(s) ended");
        }
        UserCommand::AssignRole { tenant, principal, resource, role } => {
            let g = admin::assign_user_role(store, tenant, principal, resource, &role, now()).await?;
            println!("assignment {} created: {role} on {resource} to {principal}", g.id);
        }
    }
    Ok(())
}

pub async fn group(store: &Arc<dyn Store>, command: GroupCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        GroupCommand::Create { tenant, name } => {
            let g = admin::create_group(store, tenant, &name, now()).await?;
            println!("group {} created ({})", g.object_id, g.display_name);
        }
        GroupCommand::List { tenant } => {
            for g in store.groups(tenant).await? {
                println!("{}  {}", g.object_id, g.display_name);
            }
        }
        GroupCommand::AddMember { group_id, user } => {
            let user = stored_user(store, &user).await?;
            admin::add_group_member(store, group_id, user, now()).await?;
            println!("user {user} added to group {group_id}");
        }
    }
    Ok(())
}

pub async fn consent(store: &Arc<dyn Store>, command: ConsentCommand) -> Result<(), CliError> {
    match command {
        ConsentCommand::Grant { tenant, client, resource, scopes, user } => {
            let g = admin::grant_consent(store.as_ref(), tenant, client, resource, user, &scopes, now()).await?;
            let whom = user.map(|u| format!("user {u}")).unwrap_or_else(|| "the whole tenant".into());
            println!("consent {}: {} on {resource} for {client}, {whom}", g.id, g.scopes.join(" "));
        }
    }
    Ok(())
}
