//! `tenant`, `app`, `secret` and `grant` through the admin API. Operations the API has no
//! endpoint for yet go to `store_fallback` (the dev dir's store), named there one by one.

use tokengate_proto::admin::{
    AppRoleGrantView, AppRoleView, AppView, CreatedSecretView, MemberTypeView, NewAppRequest, NewAppRoleGrantRequest,
    NewAppRoleRequest, NewScopeRequest, NewSecretRequest, NewTenantRequest, RedirectPlatformView, RedirectUriView,
    ScopeView, SecretView, TenantView,
};

use super::admin_target::TargetArgs;
use super::directory_commands::{AppCommand, GrantCommand, SecretCommand, TenantCommand};
use super::table::{emit, list, opt, print_fields, Table};
use super::{api_session, name_resolution, store_fallback, CliError};

pub async fn tenant(args: &TargetArgs, command: TenantCommand) -> Result<(), CliError> {
    let out = args.output;
    match command {
        TenantCommand::Create { name, domains } if domains.len() != 1 => {
            // The API creates a tenant with one domain; more go through the store for now.
            store_fallback::tenant(args, TenantCommand::Create { name, domains }).await
        }
        TenantCommand::Create { name, mut domains } => {
            let api = api_session(args).await?;
            let request = NewTenantRequest { display_name: name, domain: domains.remove(0) };
            let t: TenantView = api.post("/admin/v1/tenants", &request).await?;
            emit(out, &t, |t| println!("tenant {} created ({})", t.id, t.domains.join(", ")))
        }
        TenantCommand::List => {
            let tenants: Vec<TenantView> = api_session(args).await?.get("/admin/v1/tenants", &[]).await?;
            emit(out, &tenants, |tenants| {
                let mut table = Table::new(&["TENANT ID", "NAME", "DOMAINS"]);
                for t in tenants {
                    table.row(vec![t.id.clone(), t.display_name.clone(), list(&t.domains)]);
                }
                table.print();
            })
        }
        TenantCommand::Show { tenant } => {
            let api = api_session(args).await?;
            let id = name_resolution::tenant_id(&api, &tenant).await?;
            let t: TenantView = api.get(&format!("/admin/v1/tenants/{id}"), &[]).await?;
            emit(out, &t, |t| {
                print_fields(&[
                    ("tenant id", t.id.clone()),
                    ("name", t.display_name.clone()),
                    ("domains", list(&t.domains)),
                ])
            })
        }
    }
}

pub async fn app(args: &TargetArgs, command: AppCommand) -> Result<(), CliError> {
    let out = args.output;
    match command {
        AppCommand::Create { single_use_assertions, entra_compatible_refresh, group_claims, .. }
            if single_use_assertions || entra_compatible_refresh || group_claims =>
        {
            // Settings the API's NewAppRequest does not carry yet.
            store_fallback::app(args, command).await
        }
        AppCommand::Create {
            tenant, name, identifier_uris, audience, token_version, public, redirect_uris, ..
        } => {
            let multi_tenant = match audience.as_str() {
                "single" => false,
                "multi" => true,
                other => {
                    return Err(CliError::UnknownValue {
                        what: "audience",
                        value: other.to_owned(),
                        allowed: "single, multi",
                    })
                }
            };
            let request = NewAppRequest {
                display_name: name,
                identifier_uris,
                is_public_client: public,
                redirect_uris: redirect_uris.iter().map(|r| redirect_view(r)).collect::<Result<_, _>>()?,
                access_token_version: token_version,
                multi_tenant,
            };
            let app: AppView =
                api_session(args).await?.post(&format!("/admin/v1/tenants/{tenant}/apps"), &request).await?;
            emit(out, &app, |a| println!("app {} created ({})", a.app_id, a.display_name))
        }
        AppCommand::List { tenant } => {
            let apps: Vec<AppView> =
                api_session(args).await?.get(&format!("/admin/v1/tenants/{tenant}/apps"), &[]).await?;
            emit(out, &apps, |apps| {
                let mut table = Table::new(&["APP ID", "NAME", "IDENTIFIER URIS", "AUDIENCE", "CREATED"]);
                for a in apps {
                    table.row(vec![
                        a.app_id.clone(),
                        a.display_name.clone(),
                        list(&a.identifier_uris),
                        a.sign_in_audience.clone(),
                        a.created_at.clone(),
                    ]);
                }
                table.print();
            })
        }
        AppCommand::Show { app_id } => {
            let app: AppView = api_session(args).await?.get(&format!("/admin/v1/apps/{app_id}"), &[]).await?;
            emit(out, &app, print_app)
        }
        AppCommand::AddScope { app_id, value, display_name } => {
            let display_name = display_name.unwrap_or_else(|| value.clone());
            let request = NewScopeRequest { value, display_name };
            let scope: ScopeView =
                api_session(args).await?.post(&format!("/admin/v1/apps/{app_id}/scopes"), &request).await?;
            emit(out, &scope, |s| println!("scope {} added ({})", s.value, s.id))
        }
        AppCommand::AddRole { app_id, value, display_name, members } => {
            let display_name = display_name.unwrap_or_else(|| value.clone());
            let allowed_member_types = member_types(&members)?;
            let request = NewAppRoleRequest { value, display_name, allowed_member_types };
            let role: AppRoleView =
                api_session(args).await?.post(&format!("/admin/v1/apps/{app_id}/roles"), &request).await?;
            emit(out, &role, |r| println!("app role {} added ({})", r.value, r.id))
        }
        AppCommand::Provision { .. } | AppCommand::AddRedirect { .. } | AppCommand::Permission { .. } => {
            store_fallback::app(args, command).await
        }
    }
}

fn print_app(a: &AppView) {
    let redirects: Vec<String> =
        a.redirect_uris.iter().map(|r| format!("{}={}", platform_name(r.platform), r.uri)).collect();
    let scopes: Vec<String> = a.scopes.iter().map(|s| s.value.clone()).collect();
    let roles: Vec<String> = a.app_roles.iter().map(|r| r.value.clone()).collect();
    print_fields(&[
        ("app id", a.app_id.clone()),
        ("tenant id", a.tenant_id.clone()),
        ("name", a.display_name.clone()),
        ("identifier uris", list(&a.identifier_uris)),
        ("audience", a.sign_in_audience.clone()),
        ("public client", a.is_public_client.to_string()),
        ("token version", opt(a.access_token_version.map(|v| v.to_string()).as_deref())),
        ("redirect uris", list(&redirects)),
        ("scopes", list(&scopes)),
        ("app roles", list(&roles)),
        ("created", a.created_at.clone()),
    ]);
}

/// `PLATFORM=URI` as the API's redirect URI.
fn redirect_view(text: &str) -> Result<RedirectUriView, CliError> {
    let (platform, uri) = text.split_once('=').ok_or_else(|| CliError::RedirectUriFormat(text.to_owned()))?;
    let platform = match platform {
        "web" => RedirectPlatformView::Web,
        "spa" => RedirectPlatformView::Spa,
        "public" => RedirectPlatformView::PublicClient,
        other => {
            return Err(CliError::UnknownValue {
                what: "redirect platform",
                value: other.to_owned(),
                allowed: "web, spa, public",
            })
        }
    };
    Ok(RedirectUriView { platform, uri: uri.to_owned() })
}

fn platform_name(p: RedirectPlatformView) -> &'static str {
    match p {
        RedirectPlatformView::Web => "web",
        RedirectPlatformView::Spa => "spa",
        RedirectPlatformView::PublicClient => "public",
    }
}

fn member_types(members: &str) -> Result<Vec<MemberTypeView>, CliError> {
    members
        .split(',')
        .map(str::trim)
        .map(|m| match m {
            "application" => Ok(MemberTypeView::Application),
            "user" => Ok(MemberTypeView::User),
            other => Err(CliError::UnknownValue {
                what: "member type",
                value: other.to_owned(),
                allowed: "application, user",
            }),
        })
        .collect()
}

pub async fn secret(args: &TargetArgs, command: SecretCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        SecretCommand::Create { app_id, name, days } => {
            let request = NewSecretRequest { display_name: name, lifetime_days: Some(days) };
            let created: CreatedSecretView = api.post(&format!("/admin/v1/apps/{app_id}/secrets"), &request).await?;
            emit(out, &created, |c| {
                println!("secret {} created, expires at {}", c.secret.key_id, c.secret.expires_at);
                println!("value (shown once, store it now): {}", c.value);
            })
        }
        SecretCommand::List { app_id } => {
            let secrets: Vec<SecretView> = api.get(&format!("/admin/v1/apps/{app_id}/secrets"), &[]).await?;
            emit(out, &secrets, |secrets| {
                let mut table = Table::new(&["KEY ID", "NAME", "HINT", "CREATED", "EXPIRES"]);
                for s in secrets {
                    table.row(vec![
                        s.key_id.clone(),
                        s.display_name.clone(),
                        format!("{}...", s.hint),
                        s.created_at.clone(),
                        s.expires_at.clone(),
                    ]);
                }
                table.print();
            })
        }
        SecretCommand::Delete { app_id, key_id } => {
            api.delete(&format!("/admin/v1/apps/{app_id}/secrets/{key_id}")).await?;
            println!("secret {key_id} deleted");
            Ok(())
        }
    }
}

pub async fn grant(args: &TargetArgs, command: GrantCommand) -> Result<(), CliError> {
    match command {
        GrantCommand::AppRole { tenant, client, resource, role } => {
            let request = NewAppRoleGrantRequest {
                client_app_id: client.to_string(),
                resource_app_id: resource.to_string(),
                role_value: role.clone(),
            };
            let api = api_session(args).await?;
            let g: AppRoleGrantView =
                api.post(&format!("/admin/v1/tenants/{tenant}/app-role-grants"), &request).await?;
            emit(args.output, &g, |g| println!("grant {} created: {role} on {resource} to {client}", g.id))
        }
        GrantCommand::List { .. } | GrantCommand::Revoke { .. } => store_fallback::grant(args, command).await,
    }
}
