//! `tokengate app permission add|list|remove` through the admin API: a client's configured API
//! permissions (`requiredResourceAccess`). The resource is named by client id, App ID URI (sent
//! as given: the API resolves it) or display name (resolved here).

use tokengate_proto::admin::{ApiPermissionView, NewApiPermissionRequest};

use super::admin_client::{segment, AdminClient};
use super::admin_target::Output;
use super::name_resolution::app_id;
use super::store_permission_commands::PermissionCommand;
use super::table::{emit, list, Table};
use super::CliError;

pub async fn permission(api: &AdminClient, out: Output, command: PermissionCommand) -> Result<(), CliError> {
    match command {
        PermissionCommand::Add { app, resource, scopes, roles } => {
            let id = app_id(api, &app).await?;
            let request = NewApiPermissionRequest { resource: resource_name(api, &resource).await?, scopes, roles };
            let p: ApiPermissionView = api.post(&format!("/admin/v1/apps/{id}/api-permissions"), &request).await?;
            emit(out, &p, |p| {
                println!("configured: {}", line(p));
                if !request.roles.is_empty() {
                    println!("(application permissions take effect once granted: tokengate grant app-role ...)");
                }
            })
        }
        PermissionCommand::List { app } => {
            let id = app_id(api, &app).await?;
            let permissions: Vec<ApiPermissionView> =
                api.get(&format!("/admin/v1/apps/{id}/api-permissions"), &[]).await?;
            emit(out, &permissions, |permissions| {
                let mut table = Table::new(&["RESOURCE APP ID", "RESOURCE", "SCOPES", "ROLES"]);
                for p in permissions {
                    table.row(vec![
                        p.resource_app_id.clone(),
                        p.resource_name.clone(),
                        list(&p.scopes),
                        list(&p.roles),
                    ]);
                }
                table.print();
            })
        }
        PermissionCommand::Remove { app, resource, scopes, roles } => {
            let id = app_id(api, &app).await?;
            let mut query = Vec::new();
            if !scopes.is_empty() {
                query.push(("scopes", scopes.join(",")));
            }
            if !roles.is_empty() {
                query.push(("roles", roles.join(",")));
            }
            let resource = resource_name(api, &resource).await?;
            api.delete_with(&format!("/admin/v1/apps/{id}/api-permissions/{}", segment(&resource)), &query).await?;
            println!("removed");
            Ok(())
        }
    }
}

/// A resource as the API takes it: a client id or App ID URI as given, a display name resolved.
async fn resource_name(api: &AdminClient, resource: &str) -> Result<String, CliError> {
    if resource.contains("://") {
        return Ok(resource.to_owned());
    }
    app_id(api, resource).await
}

fn line(p: &ApiPermissionView) -> String {
    format!(
        "{}  {}  scopes: {}  roles: {}",
        p.resource_app_id,
        p.resource_name,
        if p.scopes.is_empty() { "-".into() } else { p.scopes.join(" ") },
        if p.roles.is_empty() { "-".into() } else { p.roles.join(" ") }
    )
}
