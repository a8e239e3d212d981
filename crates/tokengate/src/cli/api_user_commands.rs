//! `user` and `group` through the admin API; `user revoke-sessions`, `user assign-role` and
//! `consent` have no endpoint yet and go to `store_fallback`.

use tokengate_proto::admin::{GroupView, NewGroupMemberRequest, NewGroupRequest, NewUserRequest, UserView};

use super::admin_target::TargetArgs;
use super::table::{emit, print_fields, Table};
use super::user_commands::{GroupCommand, UserCommand};
use super::{api_session, name_resolution, store_fallback, CliError};

pub async fn user(args: &TargetArgs, command: UserCommand) -> Result<(), CliError> {
    let out = args.output;
    match command {
        UserCommand::Create { tenant, upn, name } => {
            // Read before connecting: a missing password is the caller's to fix, not the server's.
            let password = std::env::var("TOKENGATE_USER_PASSWORD").map_err(|_| CliError::NoUserPassword)?;
            let request = NewUserRequest { user_principal_name: upn, display_name: name, password };
            let api = api_session(args).await?;
            let user: UserView = api.post(&format!("/admin/v1/tenants/{tenant}/users"), &request).await?;
            emit(out, &user, |u| println!("user {} created ({})", u.object_id, u.user_principal_name))
        }
        UserCommand::List { tenant } => {
            let users: Vec<UserView> =
                api_session(args).await?.get(&format!("/admin/v1/tenants/{tenant}/users"), &[]).await?;
            emit(out, &users, |users| {
                let mut table = Table::new(&["OBJECT ID", "USER PRINCIPAL NAME", "NAME", "CREATED", "STATE"]);
                for u in users {
                    table.row(vec![
                        u.object_id.clone(),
                        u.user_principal_name.clone(),
                        u.display_name.clone(),
                        u.created_at.clone(),
                        state(u).to_owned(),
                    ]);
                }
                table.print();
            })
        }
        UserCommand::Show { user } => {
            let api = api_session(args).await?;
            let id = name_resolution::user_id(&api, &user).await?;
            let u: UserView = api.get(&format!("/admin/v1/users/{id}"), &[]).await?;
            emit(out, &u, |u| {
                print_fields(&[
                    ("object id", u.object_id.clone()),
                    ("tenant id", u.tenant_id.clone()),
                    ("user principal name", u.user_principal_name.clone()),
                    ("name", u.display_name.clone()),
                    ("state", state(u).to_owned()),
                    ("created", u.created_at.clone()),
                ])
            })
        }
        UserCommand::Disable { user } => set_enabled(args, &user, "disable").await,
        UserCommand::Enable { user } => set_enabled(args, &user, "enable").await,
        UserCommand::RevokeSessions { .. } | UserCommand::AssignRole { .. } => {
            store_fallback::user(args, command).await
        }
    }
}

async fn set_enabled(args: &TargetArgs, user: &str, action: &str) -> Result<(), CliError> {
    let api = api_session(args).await?;
    let id = name_resolution::user_id(&api, user).await?;
    let u: UserView = api.post_empty(&format!("/admin/v1/users/{id}/{action}")).await?;
    emit(args.output, &u, |u| println!("user {} {}", u.object_id, state(u)))
}

fn state(u: &UserView) -> &'static str {
    if u.enabled {
        "enabled"
    } else {
        "disabled"
    }
}

pub async fn group(args: &TargetArgs, command: GroupCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        GroupCommand::Create { tenant, name } => {
            let request = NewGroupRequest { display_name: name };
            let g: GroupView = api.post(&format!("/admin/v1/tenants/{tenant}/groups"), &request).await?;
            emit(out, &g, |g| println!("group {} created ({})", g.object_id, g.display_name))
        }
        GroupCommand::List { tenant } => {
            let groups: Vec<GroupView> = api.get(&format!("/admin/v1/tenants/{tenant}/groups"), &[]).await?;
            emit(out, &groups, |groups| {
                let mut table = Table::new(&["OBJECT ID", "NAME", "CREATED"]);
                for g in groups {
                    table.row(vec![g.object_id.clone(), g.display_name.clone(), g.created_at.clone()]);
                }
                table.print();
            })
        }
        GroupCommand::AddMember { group_id, user } => {
            let user_id = name_resolution::user_id(&api, &user).await?;
            let request = NewGroupMemberRequest { user_id: user_id.clone() };
            api.post_no_content(&format!("/admin/v1/groups/{group_id}/members"), &request).await?;
            println!("user {user_id} added to group {group_id}");
            Ok(())
        }
    }
}
