//! `tokengate group ...` through the admin API: create, list, show (with its ETag), rename
//! (If-Match), delete (confirmed), members, add and remove a member.

use tokengate_proto::admin::{GroupUpdateRequest, GroupView, NewGroupMemberRequest, NewGroupRequest, UserView};

use super::admin_target::TargetArgs;
use super::api_user_commands::state;
use super::conditional_update::{patch, read, tag_to_send};
use super::confirmation::confirm;
use super::name_resolution::{group_id, tenant_id, user_id};
use super::table::{emit, print_fields, Table};
use super::user_args::GroupCommand;
use super::{api_session, CliError};

pub async fn group(args: &TargetArgs, command: GroupCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        GroupCommand::Create { tenant, name } => {
            let tenant = tenant_id(&api, &tenant).await?;
            let request = NewGroupRequest { display_name: name };
            let g: GroupView = api.post(&format!("/admin/v1/tenants/{tenant}/groups"), &request).await?;
            emit(out, &g, |g| println!("group {} created ({})", g.object_id, g.display_name))
        }
        GroupCommand::List { tenant } => {
            let tenant = tenant_id(&api, &tenant).await?;
            let groups: Vec<GroupView> = api.get(&format!("/admin/v1/tenants/{tenant}/groups"), &[]).await?;
            emit(out, &groups, |groups| {
                let mut table = Table::new(&["OBJECT ID", "NAME", "CREATED"]);
                for g in groups {
                    table.row(vec![g.object_id.clone(), g.display_name.clone(), g.created_at.clone()]);
                }
                table.print();
            })
        }
        GroupCommand::Show { group, tenant } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let shown = read::<GroupView>(&api, &format!("/admin/v1/groups/{id}")).await?;
            emit(out, &shown.value, |g| {
                print_fields(&[
                    ("object id", g.object_id.clone()),
                    ("tenant id", g.tenant_id.clone()),
                    ("name", g.display_name.clone()),
                    ("created", g.created_at.clone()),
                    ("etag", shown.etag.clone().unwrap_or_else(|| "-".into())),
                ])
            })
        }
        GroupCommand::Update { group, tenant, name, if_match } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let path = format!("/admin/v1/groups/{id}");
            let current = read::<GroupView>(&api, &path).await?;
            let update = GroupUpdateRequest { display_name: Some(name) };
            let etag = tag_to_send(if_match.as_deref(), &current);
            let g: GroupView = patch(&api, ("group", &group), &path, &update, etag).await?;
            emit(out, &g, |g| println!("group {} renamed to {}", g.object_id, g.display_name))
        }
        GroupCommand::Delete { group, tenant, yes } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let current: GroupView = api.get(&format!("/admin/v1/groups/{id}"), &[]).await?;
            let question =
                format!("Delete group '{}' ({id})? Its members lose what it granted them.", current.display_name);
            if !confirm(&question, yes, "delete it")? {
                println!("group {id} not deleted");
                return Ok(());
            }
            api.delete(&format!("/admin/v1/groups/{id}")).await?;
            println!("group {id} deleted ({})", current.display_name);
            Ok(())
        }
        GroupCommand::Members { group, tenant } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let members: Vec<UserView> = api.get(&format!("/admin/v1/groups/{id}/members"), &[]).await?;
            emit(out, &members, |members| {
                let mut table = Table::new(&["OBJECT ID", "USER PRINCIPAL NAME", "NAME", "STATE"]);
                for u in members {
                    table.row(vec![
                        u.object_id.clone(),
                        u.user_principal_name.clone(),
                        u.display_name.clone(),
                        state(u).to_owned(),
                    ]);
                }
                table.print();
            })
        }
        GroupCommand::AddMember { group, tenant, user } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let user_id = user_id(&api, &user).await?;
            let request = NewGroupMemberRequest { user_id: user_id.clone() };
            api.post_no_content(&format!("/admin/v1/groups/{id}/members"), &request).await?;
            println!("user {user_id} added to group {id}");
            Ok(())
        }
        GroupCommand::RemoveMember { group, tenant, user } => {
            let id = group_id(&api, &group, tenant.as_deref()).await?;
            let user_id = user_id(&api, &user).await?;
            api.delete(&format!("/admin/v1/groups/{id}/members/{user_id}")).await?;
            println!("user {user_id} removed from group {id}");
            Ok(())
        }
    }
}
