//! `tokengate user ...` through the admin API: create, list, show (with its ETag), update
//! (If-Match), delete (confirmed), disable/enable, groups, and revoke-sessions (the kill
//! switch's user revocation). App role assignments are in `api_role_assignments`.

use tokengate_proto::admin::{
    GroupView, NewRevocationRequest, NewUserRequest, RevocationCreated, RevocationTargetView, UserUpdateRequest,
    UserView,
};

use super::admin_client::AdminClient;
use super::admin_target::{Output, TargetArgs};
use super::conditional_update::{patch, read, tag_to_send};
use super::confirmation::confirm;
use super::name_resolution::{tenant_id, user_id};
use super::table::{emit, print_fields, Table};
use super::user_args::UserCommand;
use super::{api_role_assignments, api_session, CliError};

pub async fn user(args: &TargetArgs, command: UserCommand) -> Result<(), CliError> {
    let out = args.output;
    // Read before connecting: a missing password is the caller's to fix, not the server's.
    let password = match &command {
        UserCommand::Create { .. } | UserCommand::Update { password: true, .. } => {
            Some(std::env::var("TOKENGATE_USER_PASSWORD").map_err(|_| CliError::NoUserPassword)?)
        }
        _ => None,
    };
    let api = api_session(args).await?;
    match command {
        UserCommand::Create { tenant, upn, name } => {
            let request =
                NewUserRequest { user_principal_name: upn, display_name: name, password: password.unwrap_or_default() };
            let tenant = tenant_id(&api, &tenant).await?;
            let user: UserView = api.post(&format!("/admin/v1/tenants/{tenant}/users"), &request).await?;
            emit(out, &user, |u| println!("user {} created ({})", u.object_id, u.user_principal_name))
        }
        UserCommand::List { tenant } => {
            let tenant = tenant_id(&api, &tenant).await?;
            let users: Vec<UserView> = api.get(&format!("/admin/v1/tenants/{tenant}/users"), &[]).await?;
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
            let id = user_id(&api, &user).await?;
            let shown = read::<UserView>(&api, &format!("/admin/v1/users/{id}")).await?;
            emit(out, &shown.value, |u| {
                print_fields(&[
                    ("object id", u.object_id.clone()),
                    ("tenant id", u.tenant_id.clone()),
                    ("user principal name", u.user_principal_name.clone()),
                    ("name", u.display_name.clone()),
                    ("state", state(u).to_owned()),
                    ("created", u.created_at.clone()),
                    ("etag", shown.etag.clone().unwrap_or_else(|| "-".into())),
                ])
            })
        }
        UserCommand::Update { user, name, upn, if_match, .. } => {
            let update = UserUpdateRequest { display_name: name, user_principal_name: upn, password };
            if update == UserUpdateRequest::default() {
                return Err(CliError::Argument("nothing to change: give --name, --upn or --password".into()));
            }
            let id = user_id(&api, &user).await?;
            let path = format!("/admin/v1/users/{id}");
            let current = read::<UserView>(&api, &path).await?;
            let etag = tag_to_send(if_match.as_deref(), &current);
            let u: UserView = patch(&api, ("user", &user), &path, &update, etag).await?;
            emit(out, &u, |u| println!("user {} updated ({}, {})", u.object_id, u.user_principal_name, u.display_name))
        }
        UserCommand::Delete { user, yes } => {
            let id = user_id(&api, &user).await?;
            let current: UserView = api.get(&format!("/admin/v1/users/{id}"), &[]).await?;
            let question =
                format!("Delete user {} ({id})? Every token issued to them is revoked.", current.user_principal_name);
            if !confirm(&question, yes, "delete them")? {
                println!("user {id} not deleted");
                return Ok(());
            }
            api.delete(&format!("/admin/v1/users/{id}")).await?;
            println!("user {id} deleted ({})", current.user_principal_name);
            Ok(())
        }
        UserCommand::Disable { user } => set_enabled(&api, out, &user, "disable").await,
        UserCommand::Enable { user } => set_enabled(&api, out, &user, "enable").await,
        UserCommand::Groups { user } => {
            let id = user_id(&api, &user).await?;
            let groups: Vec<GroupView> = api.get(&format!("/admin/v1/users/{id}/groups"), &[]).await?;
            emit(out, &groups, |groups| {
                let mut table = Table::new(&["OBJECT ID", "NAME", "CREATED"]);
                for g in groups {
                    table.row(vec![g.object_id.clone(), g.display_name.clone(), g.created_at.clone()]);
                }
                table.print();
            })
        }
        UserCommand::RevokeSessions { user } => {
            let id = user_id(&api, &user).await?;
            let u: UserView = api.get(&format!("/admin/v1/users/{id}"), &[]).await?;
            let request = NewRevocationRequest {
                target: RevocationTargetView::User { tenant_id: u.tenant_id, object_id: u.object_id },
                reason: Some("user revoke-sessions".into()),
                wait: false,
                timeout_seconds: None,
            };
            let created: RevocationCreated = api.post("/admin/v1/revocations", &request).await?;
            emit(out, &created, |c| {
                println!(
                    "user {id}: every sign-in session ended and every token issued so far revoked (feed version {}){}",
                    c.revocation.version,
                    super::api_revocation_commands::describe_effects(&c.effects)
                )
            })
        }
        command @ (UserCommand::AssignRole { .. } | UserCommand::UnassignRole { .. } | UserCommand::Roles { .. }) => {
            api_role_assignments::command(&api, out, command).await
        }
    }
}

async fn set_enabled(api: &AdminClient, out: Output, user: &str, action: &str) -> Result<(), CliError> {
    let id = user_id(api, user).await?;
    let u: UserView = api.post_empty(&format!("/admin/v1/users/{id}/{action}")).await?;
    emit(out, &u, |u| println!("user {} {}", u.object_id, state(u)))
}

pub fn state(u: &UserView) -> &'static str {
    if u.enabled {
        "enabled"
    } else {
        "disabled"
    }
}
