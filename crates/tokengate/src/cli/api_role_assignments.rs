//! `tokengate user assign-role | unassign-role | roles` through the admin API: app roles assigned
//! to a user or a group (the principal decides which collection), listed with their role values.

use tokengate_proto::admin::{AppRoleGrantView, AppView, NewAppRoleAssignmentRequest};

use super::admin_client::AdminClient;
use super::admin_target::Output;
use super::api_app_commands::role_value;
use super::name_resolution::{app_id, principal};
use super::table::{emit, print_json, Table};
use super::user_args::UserCommand;
use super::CliError;

pub async fn command(api: &AdminClient, out: Output, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::AssignRole { tenant, principal: name, resource, role } => {
            let who = principal(api, &name, tenant.as_deref()).await?;
            let request =
                NewAppRoleAssignmentRequest { resource_app_id: app_id(api, &resource).await?, role_value: role };
            let a: AppRoleGrantView = api.post(&who.assignments_path(), &request).await?;
            emit(out, &a, |a| {
                println!(
                    "assignment {} created: {} on {} to {}",
                    a.id, request.role_value, a.resource_app_id, a.principal_id
                )
            })
        }
        UserCommand::UnassignRole { tenant, principal: name, assignment, resource, role } => {
            let who = principal(api, &name, tenant.as_deref()).await?;
            let path = who.assignments_path();
            let id = match (assignment, resource, role) {
                (Some(id), _, _) => id.to_string(),
                (None, Some(resource), Some(role)) => assignment_of(api, &path, &resource, &role, &name).await?,
                _ => return Err(CliError::Argument("give --assignment, or --resource with --role".into())),
            };
            api.delete(&format!("{path}/{id}")).await?;
            println!("assignment {id} removed from {name}");
            Ok(())
        }
        UserCommand::Roles { tenant, principal: name } => {
            let who = principal(api, &name, tenant.as_deref()).await?;
            let assignments: Vec<AppRoleGrantView> = api.get(&who.assignments_path(), &[]).await?;
            if out == Output::Json {
                return print_json(&assignments);
            }
            let mut table = Table::new(&["ASSIGNMENT ID", "ROLE", "RESOURCE APP ID", "CREATED"]);
            for a in &assignments {
                table.row(vec![
                    a.id.clone(),
                    role_value(api, &a.resource_app_id, &a.app_role_id).await,
                    a.resource_app_id.clone(),
                    a.created_at.clone(),
                ]);
            }
            table.print();
            Ok(())
        }
        _ => Err(CliError::Argument("not an app role assignment command".into())),
    }
}

/// The id of the principal's assignment of `role` on `resource`.
async fn assignment_of(
    api: &AdminClient,
    path: &str,
    resource: &str,
    role: &str,
    name: &str,
) -> Result<String, CliError> {
    let resource_id = app_id(api, resource).await?;
    let app: AppView = api.get(&format!("/admin/v1/apps/{resource_id}"), &[]).await?;
    let role_id = app
        .app_roles
        .iter()
        .find(|r| r.value == role)
        .map(|r| r.id.clone())
        .ok_or_else(|| CliError::Argument(format!("app {resource_id} defines no app role '{role}'")))?;
    let assignments: Vec<AppRoleGrantView> = api.get(path, &[]).await?;
    assignments
        .into_iter()
        .find(|a| a.resource_app_id == resource_id && a.app_role_id == role_id)
        .map(|a| a.id)
        .ok_or_else(|| CliError::Argument(format!("{name} holds no app role {role} of app {resource_id}")))
}
