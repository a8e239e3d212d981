//! Operations the admin API has no endpoint for yet, run on the store directly (the dev dir's, as
//! before the CLI moved onto the API). Each entry names what it waits for; when the endpoint
//! lands, its caller switches to the API and the entry goes:
//!
//! - `tenant create` with several `--domain` (the API takes one domain)
//! - `app create --single-use-assertions | --entra-compatible-refresh | --group-claims`
//! - `app provision`, `app add-redirect`, `app permission ...`
//! - `cert add | list | delete`
//! - `grant list`, `grant revoke`
//! - `user revoke-sessions`, `user assign-role`, `consent grant`
//! - `keys rotate`
//!
//! With `--admin-url` there is no store to fall back on: these say so instead of guessing one.

use super::admin_target::TargetArgs;
use super::directory_commands::{self, AppCommand, CertCommand, GrantCommand, TenantCommand};
use super::key_commands::{self, KeyCommand};
use super::user_commands::{self, ConsentCommand, UserCommand};
use super::{open, CliError};

/// The store behind the dev dir, for `operation`.
async fn store_for(
    args: &TargetArgs,
    operation: &'static str,
) -> Result<(std::sync::Arc<dyn tokengate_core::store::Store>, Option<tokengate_core::keys::KeyEncryptionKey>), CliError>
{
    if args.admin_url.is_some() {
        return Err(CliError::NoEndpointYet { operation });
    }
    open(args).await
}

pub async fn tenant(args: &TargetArgs, command: TenantCommand) -> Result<(), CliError> {
    directory_commands::tenant(&store_for(args, "tenant create with several domains").await?.0, command).await
}

pub async fn app(args: &TargetArgs, command: AppCommand) -> Result<(), CliError> {
    let operation = match &command {
        AppCommand::Create { .. } => {
            "app create with --single-use-assertions, --entra-compatible-refresh or --group-claims"
        }
        AppCommand::Provision { .. } => "app provision",
        AppCommand::AddRedirect { .. } => "app add-redirect",
        AppCommand::Permission { .. } => "app permission",
        _ => "this app operation",
    };
    directory_commands::app(&store_for(args, operation).await?.0, command).await
}

pub async fn cert(args: &TargetArgs, command: CertCommand) -> Result<(), CliError> {
    directory_commands::cert(&store_for(args, "cert").await?.0, command).await
}

pub async fn grant(args: &TargetArgs, command: GrantCommand) -> Result<(), CliError> {
    directory_commands::grant(&store_for(args, "grant list and grant revoke").await?.0, command).await
}

pub async fn user(args: &TargetArgs, command: UserCommand) -> Result<(), CliError> {
    user_commands::user(&store_for(args, "user revoke-sessions and user assign-role").await?.0, command).await
}

pub async fn consent(args: &TargetArgs, command: ConsentCommand) -> Result<(), CliError> {
    user_commands::consent(&store_for(args, "consent").await?.0, command).await
}

pub async fn keys(args: &TargetArgs, command: KeyCommand) -> Result<(), CliError> {
    let (store, kek) = store_for(args, "keys rotate").await?;
    key_commands::keys(&store, kek, command).await
}
