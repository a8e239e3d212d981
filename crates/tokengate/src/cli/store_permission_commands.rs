//! `app permission`: a client's configured API permissions (Entra's "API permissions" blade,
//! `requiredResourceAccess`) — what `.default` stands for and what consent is asked for. The
//! arguments, and the direct-store implementation (`--config`/`--store`).

use clap::Subcommand;
use tokengate_core::api_permissions as permissions;
use tokengate_core::store::Store;

use super::store_names::guid;
use super::CliError;
use crate::state::now;

#[derive(Subcommand)]
pub enum PermissionCommand {
    /// Configure delegated scopes and/or application permissions (app roles) of a resource API.
    Add {
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        app: String,
        /// The resource app: its client id or App ID URI.
        #[arg(long)]
        resource: String,
        /// A delegated permission (scope value) of the resource (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// An application permission (app role value) of the resource (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List the app's configured permissions, per resource.
    List {
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        app: String,
    },
    /// Remove configured permissions; with no --scope/--role, every permission on the resource.
    Remove {
        /// The client app: client id, App ID URI or display name.
        #[arg(long)]
        app: String,
        /// The resource app: its client id or App ID URI.
        #[arg(long)]
        resource: String,
        /// A delegated permission to remove (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// An application permission to remove (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

fn line(p: &permissions::ConfiguredPermissions) -> String {
    format!(
        "{}  {}  scopes: {}  roles: {}",
        p.resource_app_id,
        p.resource_name,
        if p.scopes.is_empty() { "-".into() } else { p.scopes.join(" ") },
        if p.roles.is_empty() { "-".into() } else { p.roles.join(" ") }
    )
}

pub async fn permission(store: &dyn Store, command: PermissionCommand) -> Result<(), CliError> {
    match command {
        PermissionCommand::Add { app, resource, scopes, roles } => {
            let app = guid("app", &app)?;
            let p = permissions::add_api_permission(store, app, &resource, &scopes, &roles, now()).await?;
            println!("configured: {}", line(&p));
            if !roles.is_empty() {
                println!("(application permissions take effect once granted: tokengate grant app-role ...)");
            }
        }
        PermissionCommand::List { app } => {
            let app = guid("app", &app)?;
            for p in permissions::api_permissions(store, app).await? {
                println!("{}", line(&p));
            }
        }
        PermissionCommand::Remove { app, resource, scopes, roles } => {
            let app = guid("app", &app)?;
            permissions::remove_api_permission(store, app, &resource, &scopes, &roles, now()).await?;
            println!("removed");
        }
    }
    Ok(())
}
