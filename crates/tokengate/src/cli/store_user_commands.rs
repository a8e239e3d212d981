//! `user`, `group` and `consent` on the store directly (`--config`/`--store`: setting up an
//! empty store). Updates, deletes and listings beyond the basics work through the admin API only;
//! here they say so.

use std::sync::Arc;

use tokengate_core::directory_admin as admin;
use tokengate_core::store::Store;

use super::store_names::{self, api_only, guid};
use super::user_args::{ConsentCommand, GroupCommand, UserCommand};
use super::CliError;
use crate::state::now;

pub async fn user(store: &Arc<dyn Store>, command: UserCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        UserCommand::Create { tenant, upn, name } => {
            let tenant = store_names::tenant(store, &tenant).await?;
            let password = std::env::var("TOKENGATE_USER_PASSWORD").map_err(|_| CliError::NoUserPassword)?;
            let user = admin::create_user(store, tenant, &upn, &name, &password, now()).await?;
            println!("user {} created ({})", user.object_id, user.user_principal_name);
        }
        UserCommand::List { tenant } => {
            for u in store.users(store_names::tenant(store, &tenant).await?).await? {
                let state = if u.enabled { "enabled" } else { "disabled" };
                println!("{}  {}  {}  {state}", u.object_id, u.user_principal_name, u.display_name);
            }
        }
        UserCommand::Show { user } => {
            let id = store_names::user(store, &user).await?;
            let u = store.user(id).await?.ok_or_else(|| CliError::Argument(format!("no user '{user}'")))?;
            let state = if u.enabled { "enabled" } else { "disabled" };
            println!("{}  {}  {}  {state}", u.object_id, u.user_principal_name, u.display_name);
        }
        UserCommand::Disable { user } => {
            let object_id = store_names::user(store, &user).await?;
            admin::set_user_enabled(store, object_id, false, now()).await?;
            println!("user {object_id} disabled");
        }
        UserCommand::Enable { user } => {
            let object_id = store_names::user(store, &user).await?;
            admin::set_user_enabled(store, object_id, true, now()).await?;
            println!("user {object_id} enabled");
        }
        UserCommand::RevokeSessions { user } => {
            let object_id = store_names::user(store, &user).await?;
            let ended = admin::revoke_user_sessions(store, object_id, now()).await?;
            println!("user {object_id}: {ended} sign-in session(s) ended");
        }
        UserCommand::AssignRole { tenant, principal, resource, role } => {
            let tenant = tenant.ok_or_else(|| CliError::Argument("with --config/--store, pass --tenant".into()))?;
            let tenant = store_names::tenant(store, &tenant).await?;
            let (principal, resource) = (guid("principal", &principal)?, guid("app", &resource)?);
            let g = admin::assign_user_role(store, tenant, principal, resource, &role, now()).await?;
            println!("assignment {} created: {role} on {resource} to {principal}", g.id);
        }
        UserCommand::Update { .. } => return Err(api_only("user update")),
        UserCommand::Delete { .. } => return Err(api_only("user delete")),
        UserCommand::Groups { .. } => return Err(api_only("user groups")),
        UserCommand::UnassignRole { .. } => return Err(api_only("user unassign-role")),
        UserCommand::Roles { .. } => return Err(api_only("user roles")),
    }
    Ok(())
}

pub async fn group(store: &Arc<dyn Store>, command: GroupCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        GroupCommand::Create { tenant, name } => {
            let tenant = store_names::tenant(store, &tenant).await?;
            let g = admin::create_group(store, tenant, &name, now()).await?;
            println!("group {} created ({})", g.object_id, g.display_name);
        }
        GroupCommand::List { tenant } => {
            for g in store.groups(store_names::tenant(store, &tenant).await?).await? {
                println!("{}  {}", g.object_id, g.display_name);
            }
        }
        GroupCommand::AddMember { group, user, .. } => {
            let group_id = guid("group", &group)?;
            let user = store_names::user(store, &user).await?;
            admin::add_group_member(store, group_id, user, now()).await?;
            println!("user {user} added to group {group_id}");
        }
        GroupCommand::Show { .. } => return Err(api_only("group show")),
        GroupCommand::Update { .. } => return Err(api_only("group update")),
        GroupCommand::Delete { .. } => return Err(api_only("group delete")),
        GroupCommand::Members { .. } => return Err(api_only("group members")),
        GroupCommand::RemoveMember { .. } => return Err(api_only("group remove-member")),
    }
    Ok(())
}

pub async fn consent(store: &Arc<dyn Store>, command: ConsentCommand) -> Result<(), CliError> {
    match command {
        ConsentCommand::Grant { tenant, client, resource, scopes, user } => {
            let store = store.as_ref();
            let tenant = store_names::tenant(store, &tenant).await?;
            let (client, resource) = (guid("app", &client)?, guid("app", &resource)?);
            let user = match user {
                Some(u) => Some(store_names::user(store, &u).await?),
                None => None,
            };
            let g = admin::grant_consent(store, tenant, client, resource, user, &scopes, now()).await?;
            let whom = user.map(|u| format!("user {u}")).unwrap_or_else(|| "the whole tenant".into());
            println!("consent {}: {} on {resource} for {client}, {whom}", g.id, g.scopes.join(" "));
        }
        ConsentCommand::List { .. } => return Err(api_only("consent list")),
        ConsentCommand::Show { .. } => return Err(api_only("consent show")),
        ConsentCommand::Revoke { .. } => return Err(api_only("consent revoke")),
    }
    Ok(())
}
