//! `tokengate app ...` through the admin API: create (settings the create request lacks follow
//! as a PATCH), list, show (with its ETag), update (If-Match), delete (confirmed), service
//! principals, redirect URIs, scopes and app roles.

use tokengate_proto::admin::{
    AppRoleView, AppUpdateRequest, AppView, MemberTypeView, NewAppRequest, NewAppRoleRequest, NewScopeRequest,
    NewServicePrincipalRequest, RedirectPlatformView, RedirectUriView, ScopeView, ServicePrincipalView,
};

use super::admin_client::{segment, AdminClient};
use super::admin_target::TargetArgs;
use super::app_args::AppCommand;
use super::conditional_update::{patch, read, tag_to_send};
use super::confirmation::confirm;
use super::name_resolution::{app_id, tenant_id};
use super::table::{emit, list, opt, print_fields, Table};
use super::{api_permission_commands, api_session, CliError};

pub async fn app(args: &TargetArgs, command: AppCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        AppCommand::Create {
            tenant,
            name,
            identifier_uris,
            audience,
            token_version,
            public,
            redirect_uris,
            single_use_assertions,
            entra_compatible_refresh,
            group_claims,
        } => {
            let request = NewAppRequest {
                display_name: name,
                identifier_uris,
                is_public_client: public,
                redirect_uris: redirect_uris.iter().map(|r| redirect_view(r)).collect::<Result<_, _>>()?,
                access_token_version: token_version,
                multi_tenant: multi_tenant(&audience)?,
            };
            let tenant = tenant_id(&api, &tenant).await?;
            let mut app: AppView = api.post(&format!("/admin/v1/tenants/{tenant}/apps"), &request).await?;
            // The create request carries no flags: they follow as an update of the new app.
            if single_use_assertions || entra_compatible_refresh || group_claims {
                let update = AppUpdateRequest {
                    single_use_client_assertions: single_use_assertions.then_some(true),
                    entra_compatible_refresh_tokens: entra_compatible_refresh.then_some(true),
                    group_membership_claims: group_claims.then_some(true),
                    ..AppUpdateRequest::default()
                };
                app = api.patch(&format!("/admin/v1/apps/{}", app.app_id), &update, None).await.map_err(|e| {
                    CliError::Argument(format!(
                        "app {} created, but its flags were not set ({e}): set them with `tokengate app update {}`",
                        app.app_id, app.app_id
                    ))
                })?;
            }
            emit(out, &app, |a| println!("app {} created ({})", a.app_id, a.display_name))
        }
        AppCommand::List { tenant } => {
            let tenant = tenant_id(&api, &tenant).await?;
            let apps: Vec<AppView> = api.get(&format!("/admin/v1/tenants/{tenant}/apps"), &[]).await?;
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
        AppCommand::Show { app } => {
            let id = app_id(&api, &app).await?;
            let shown = read::<AppView>(&api, &format!("/admin/v1/apps/{id}")).await?;
            emit(out, &shown.value, |a| print_app(a, shown.etag.as_deref()))
        }
        AppCommand::Update {
            app,
            name,
            identifier_uris,
            clear_identifier_uris,
            audience,
            token_version,
            public,
            single_use_assertions,
            entra_compatible_refresh,
            group_claims,
            if_match,
        } => {
            let update = AppUpdateRequest {
                display_name: name,
                identifier_uris: if clear_identifier_uris {
                    Some(Vec::new())
                } else {
                    Some(identifier_uris).filter(|u| !u.is_empty())
                },
                sign_in_audience: audience.as_deref().map(multi_tenant).transpose()?.map(audience_name),
                access_token_version: token_version,
                is_public_client: public,
                single_use_client_assertions: single_use_assertions,
                entra_compatible_refresh_tokens: entra_compatible_refresh,
                group_membership_claims: group_claims,
            };
            if update == AppUpdateRequest::default() {
                return Err(CliError::Argument("nothing to change: give at least one flag (see --help)".into()));
            }
            let id = app_id(&api, &app).await?;
            let path = format!("/admin/v1/apps/{id}");
            let current = read::<AppView>(&api, &path).await?;
            let etag = tag_to_send(if_match.as_deref(), &current);
            let updated: AppView = patch(&api, ("app", &app), &path, &update, etag).await?;
            emit(out, &updated, |a| println!("app {} updated ({})", a.app_id, a.display_name))
        }
        AppCommand::Delete { app, yes } => {
            let id = app_id(&api, &app).await?;
            let current: AppView = api.get(&format!("/admin/v1/apps/{id}"), &[]).await?;
            let question = format!(
                "Delete app '{}' ({id})? Its tokens are revoked; its secrets, certificates, grants and consents go with it.",
                current.display_name
            );
            if !confirm(&question, yes, "delete it")? {
                println!("app {id} not deleted");
                return Ok(());
            }
            api.delete(&format!("/admin/v1/apps/{id}")).await?;
            println!("app {id} deleted ({})", current.display_name);
            Ok(())
        }
        AppCommand::Provision { app, tenant } => {
            let id = app_id(&api, &app).await?;
            let request = NewServicePrincipalRequest { tenant_id: tenant_id(&api, &tenant).await? };
            let sp: ServicePrincipalView =
                api.post(&format!("/admin/v1/apps/{id}/service-principals"), &request).await?;
            emit(out, &sp, |sp| {
                println!("service principal {} of app {} created in tenant {}", sp.object_id, sp.app_id, sp.tenant_id)
            })
        }
        AppCommand::ServicePrincipals { app } => {
            let id = app_id(&api, &app).await?;
            let sps: Vec<ServicePrincipalView> =
                api.get(&format!("/admin/v1/apps/{id}/service-principals"), &[]).await?;
            emit(out, &sps, |sps| {
                let mut table = Table::new(&["OBJECT ID", "TENANT ID", "NAME", "CREATED"]);
                for sp in sps {
                    table.row(vec![
                        sp.object_id.clone(),
                        sp.tenant_id.clone(),
                        sp.display_name.clone(),
                        sp.created_at.clone(),
                    ]);
                }
                table.print();
            })
        }
        AppCommand::AddRedirect { app, redirect_uri } => {
            let request = redirect_view(&redirect_uri)?;
            let id = app_id(&api, &app).await?;
            let added: RedirectUriView = api.post(&format!("/admin/v1/apps/{id}/redirect-uris"), &request).await?;
            emit(out, &added, |r| println!("redirect URI {}={} added to app {id}", platform_name(r.platform), r.uri))
        }
        AppCommand::RemoveRedirect { app, redirect_uri } => {
            let (platform, uri) = removed_redirect(&redirect_uri);
            let mut query = vec![("uri", uri.to_owned())];
            if let Some(p) = platform {
                query.push(("platform", wire_platform(p).to_owned()));
            }
            let id = app_id(&api, &app).await?;
            api.delete_with(&format!("/admin/v1/apps/{id}/redirect-uris"), &query).await?;
            println!("redirect URI {redirect_uri} removed from app {id}");
            Ok(())
        }
        AppCommand::AddScope { app, value, display_name } => {
            let display_name = display_name.unwrap_or_else(|| value.clone());
            let request = NewScopeRequest { value, display_name };
            let id = app_id(&api, &app).await?;
            let scope: ScopeView = api.post(&format!("/admin/v1/apps/{id}/scopes"), &request).await?;
            emit(out, &scope, |s| println!("scope {} added ({})", s.value, s.id))
        }
        AppCommand::RemoveScope { app, scope } => {
            let id = app_id(&api, &app).await?;
            api.delete(&format!("/admin/v1/apps/{id}/scopes/{}", segment(&scope))).await?;
            println!("scope {scope} removed from app {id}");
            Ok(())
        }
        AppCommand::AddRole { app, value, display_name, members } => {
            let display_name = display_name.unwrap_or_else(|| value.clone());
            let allowed_member_types = member_types(&members)?;
            let request = NewAppRoleRequest { value, display_name, allowed_member_types };
            let id = app_id(&api, &app).await?;
            let role: AppRoleView = api.post(&format!("/admin/v1/apps/{id}/roles"), &request).await?;
            emit(out, &role, |r| println!("app role {} added ({})", r.value, r.id))
        }
        AppCommand::RemoveRole { app, role } => {
            let id = app_id(&api, &app).await?;
            api.delete(&format!("/admin/v1/apps/{id}/roles/{}", segment(&role))).await?;
            println!("app role {role} removed from app {id}");
            Ok(())
        }
        AppCommand::Permission { command } => api_permission_commands::permission(&api, out, command).await,
    }
}

/// The value of an app role of `resource` with id `role_id`, or the id when it is gone.
pub async fn role_value(api: &AdminClient, resource: &str, role_id: &str) -> String {
    match api.get::<AppView>(&format!("/admin/v1/apps/{resource}"), &[]).await {
        Ok(app) => app.app_roles.into_iter().find(|r| r.id == role_id).map_or_else(|| role_id.to_owned(), |r| r.value),
        Err(_) => role_id.to_owned(),
    }
}

fn multi_tenant(audience: &str) -> Result<bool, CliError> {
    match audience {
        "single" => Ok(false),
        "multi" => Ok(true),
        other => Err(CliError::UnknownValue { what: "audience", value: other.to_owned(), allowed: "single, multi" }),
    }
}

fn audience_name(multi: bool) -> String {
    if multi { "AzureADMultipleOrgs" } else { "AzureADMyOrg" }.to_owned()
}

fn print_app(a: &AppView, etag: Option<&str>) {
    let redirects: Vec<String> =
        a.redirect_uris.iter().map(|r| format!("{}={}", platform_name(r.platform), r.uri)).collect();
    let scopes: Vec<String> = a.scopes.iter().map(|s| s.value.clone()).collect();
    let roles: Vec<String> = a.app_roles.iter().map(|r| r.value.clone()).collect();
    let mut flags = Vec::new();
    if a.single_use_client_assertions {
        flags.push("single-use-assertions".to_owned());
    }
    if a.entra_compatible_refresh_tokens {
        flags.push("entra-compatible-refresh".to_owned());
    }
    if a.group_membership_claims {
        flags.push("group-claims".to_owned());
    }
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
        ("flags", list(&flags)),
        ("created", a.created_at.clone()),
        ("etag", opt(etag)),
    ]);
}

fn parse_platform(name: &str) -> Option<RedirectPlatformView> {
    match name {
        "web" => Some(RedirectPlatformView::Web),
        "spa" => Some(RedirectPlatformView::Spa),
        "public" => Some(RedirectPlatformView::PublicClient),
        _ => None,
    }
}

/// `PLATFORM=URI` as the API's redirect URI.
fn redirect_view(text: &str) -> Result<RedirectUriView, CliError> {
    let (platform, uri) = text.split_once('=').ok_or_else(|| CliError::RedirectUriFormat(text.to_owned()))?;
    let platform = parse_platform(platform).ok_or_else(|| CliError::UnknownValue {
        what: "redirect platform",
        value: platform.to_owned(),
        allowed: "web, spa, public",
    })?;
    Ok(RedirectUriView { platform, uri: uri.to_owned() })
}

/// `PLATFORM=URI` (one platform) or a bare URI (every platform it is registered for).
fn removed_redirect(text: &str) -> (Option<RedirectPlatformView>, &str) {
    match text.split_once('=') {
        Some((platform, uri)) => match parse_platform(platform) {
            Some(p) => (Some(p), uri),
            None => (None, text),
        },
        None => (None, text),
    }
}

fn platform_name(p: RedirectPlatformView) -> &'static str {
    match p {
        RedirectPlatformView::Web => "web",
        RedirectPlatformView::Spa => "spa",
        RedirectPlatformView::PublicClient => "public",
    }
}

/// As the API's query spells it (`snake_case`).
fn wire_platform(p: RedirectPlatformView) -> &'static str {
    match p {
        RedirectPlatformView::Web => "web",
        RedirectPlatformView::Spa => "spa",
        RedirectPlatformView::PublicClient => "public_client",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removed_redirect_names_one_platform_or_every_one() {
        assert_eq!(removed_redirect("spa=https://a.example/"), (Some(RedirectPlatformView::Spa), "https://a.example/"));
        assert_eq!(removed_redirect("https://a.example/?x=1"), (None, "https://a.example/?x=1"));
        assert_eq!(removed_redirect("http://localhost"), (None, "http://localhost"));
    }
}
