//! `tenant`, `app`, `secret`, `cert` and `grant` on the store directly (`--config`/`--store`:
//! setting up an empty store before any admin identity exists). Updates, deletes and lookups by
//! name work through the admin API only; here they say so.

use std::sync::Arc;

use tokengate_core::directory::{AllowedMemberType, RedirectPlatform, RedirectUri, SignInAudience};
use tokengate_core::directory_admin::{self as admin, NewApp};
use tokengate_core::encoding::hex_upper;
use tokengate_core::store::Store;

use super::app_args::AppCommand;
use super::directory_args::{CertCommand, GrantCommand, SecretCommand, TenantCommand};
use super::store_names::{self, api_only, guid};
use super::CliError;
use crate::state::now;

pub async fn tenant(store: &Arc<dyn Store>, command: TenantCommand) -> Result<(), CliError> {
    match command {
        TenantCommand::Create { name, domains } => {
            let t = admin::create_tenant(store.as_ref(), &name, &domains, now()).await?;
            println!("tenant {} created ({})", t.id, t.domains.join(", "));
        }
        TenantCommand::List => {
            for t in store.tenants().await? {
                println!("{}  {}  {}", t.id, t.display_name, t.domains.join(","));
            }
        }
        TenantCommand::Show { tenant } => {
            let id = store_names::tenant(store.as_ref(), &tenant).await?;
            let found = store.tenants().await?.into_iter().find(|t| t.id == id);
            let t = found.ok_or_else(|| CliError::Argument(format!("no tenant '{tenant}'")))?;
            println!("{}  {}  {}", t.id, t.display_name, t.domains.join(","));
        }
        TenantCommand::Update { .. } => return Err(api_only("tenant update")),
    }
    Ok(())
}

fn parse_redirect(text: &str) -> Result<RedirectUri, CliError> {
    let (platform, uri) = text.split_once('=').ok_or_else(|| CliError::RedirectUriFormat(text.to_owned()))?;
    let platform = match platform {
        "web" => RedirectPlatform::Web,
        "spa" => RedirectPlatform::Spa,
        "public" => RedirectPlatform::PublicClient,
        other => {
            return Err(CliError::UnknownValue {
                what: "redirect platform",
                value: other.to_owned(),
                allowed: "web, spa, public",
            })
        }
    };
    Ok(RedirectUri { platform, uri: uri.to_owned() })
}

pub async fn app(store: &Arc<dyn Store>, command: AppCommand) -> Result<(), CliError> {
    let store = store.as_ref();
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
            let sign_in_audience = SignInAudience::parse(&audience).ok_or_else(|| CliError::UnknownValue {
                what: "audience",
                value: audience.clone(),
                allowed: "single, multi",
            })?;
            let tenant = store_names::tenant(store, &tenant).await?;
            let redirect_uris = redirect_uris.iter().map(|r| parse_redirect(r)).collect::<Result<Vec<_>, _>>()?;
            let new = NewApp {
                display_name: name,
                identifier_uris,
                sign_in_audience,
                access_token_accepted_version: token_version,
                is_public_client: public,
                redirect_uris,
                single_use_client_assertions: single_use_assertions,
                entra_compatible_refresh_tokens: entra_compatible_refresh,
                group_membership_claims: group_claims,
            };
            let (app, sp) = admin::create_app(store, tenant, new, now()).await?;
            println!("app {} created (service principal {})", app.app_id, sp.object_id);
        }
        AppCommand::List { tenant } => {
            for a in store.apps(store_names::tenant(store, &tenant).await?).await? {
                println!("{}  {}  {}", a.app_id, a.display_name, a.identifier_uris.join(","));
            }
        }
        AppCommand::Show { app } => {
            let app_id = guid("app", &app)?;
            let app = store.app(app_id).await.map_err(CliError::object("app", app_id))?;
            let app = app.ok_or(CliError::AppNotFound(app_id))?;
            println!("{}", serde_json::to_string_pretty(&app)?);
        }
        AppCommand::Provision { app, tenant } => {
            let (app_id, tenant) = (guid("app", &app)?, store_names::tenant(store, &tenant).await?);
            let sp = admin::provision_service_principal(store, tenant, app_id, now()).await?;
            println!("service principal {} of app {app_id} created in tenant {tenant}", sp.object_id);
        }
        AppCommand::AddRedirect { app, redirect_uri } => {
            let app_id = guid("app", &app)?;
            let redirect = parse_redirect(&redirect_uri)?;
            admin::add_redirect_uri(store, app_id, redirect, now()).await?;
            println!("redirect URI {redirect_uri} added to app {app_id}");
        }
        AppCommand::AddScope { app, value, display_name } => {
            let app_id = guid("app", &app)?;
            let display = display_name.unwrap_or_else(|| value.clone());
            let scope = admin::add_scope(store, app_id, &value, &display, now()).await?;
            println!("scope {} added ({})", scope.value, scope.id);
        }
        AppCommand::Permission { command } => super::store_permission_commands::permission(store, command).await?,
        AppCommand::AddRole { app, value, display_name, members } => {
            let app_id = guid("app", &app)?;
            let mut allowed = Vec::new();
            for m in members.split(',').map(str::trim) {
                allowed.push(match m {
                    "application" => AllowedMemberType::Application,
                    "user" => AllowedMemberType::User,
                    other => {
                        return Err(CliError::UnknownValue {
                            what: "member type",
                            value: other.to_owned(),
                            allowed: "application, user",
                        })
                    }
                });
            }
            let display = display_name.unwrap_or_else(|| value.clone());
            let role = admin::add_app_role(store, app_id, &value, &display, allowed, now()).await?;
            println!("app role {} added ({})", role.value, role.id);
        }
        AppCommand::Update { .. } => return Err(api_only("app update")),
        AppCommand::Delete { .. } => return Err(api_only("app delete")),
        AppCommand::ServicePrincipals { .. } => return Err(api_only("app service-principals")),
        AppCommand::RemoveRedirect { .. } => return Err(api_only("app remove-redirect")),
        AppCommand::RemoveScope { .. } => return Err(api_only("app remove-scope")),
        AppCommand::RemoveRole { .. } => return Err(api_only("app remove-role")),
    }
    Ok(())
}

pub async fn secret(store: &Arc<dyn Store>, command: SecretCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        SecretCommand::Create { app, name, days } => {
            let app_id = guid("app", &app)?;
            let created = admin::create_secret(store, app_id, &name, days, now()).await?;
            println!("secret {} created, expires at {} (unix)", created.secret.key_id, created.secret.expires_at);
            println!("value (shown once, store it now): {}", created.value);
        }
        SecretCommand::List { app } => {
            let app_id = guid("app", &app)?;
            for s in store.secrets(app_id).await? {
                println!("{}  {}  hint {}...  expires {}", s.key_id, s.display_name, s.hint, s.expires_at);
            }
        }
        SecretCommand::Delete { app, key_id } => {
            let app_id = guid("app", &app)?;
            let audit = tokengate_core::audit::AuditEvent::admin(
                "secret.deleted",
                None,
                serde_json::json!({"app_id": app_id, "key_id": key_id}),
                now(),
            );
            store.delete_secret(app_id, key_id, &audit).await.map_err(CliError::object("secret", key_id))?;
            println!("secret {key_id} deleted");
        }
    }
    Ok(())
}

pub async fn cert(store: &Arc<dyn Store>, command: CertCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        CertCommand::Add { app, pem, name } => {
            let app_id = guid("app", &app)?;
            let file = |source| CliError::File { path: pem.clone(), source };
            let bytes = std::fs::read(&pem).map_err(file)?;
            let der = rustls_pemfile::certs(&mut &bytes[..])
                .next()
                .ok_or_else(|| CliError::NoCertificate { path: pem.clone() })?
                .map_err(file)?;
            let cert = admin::add_certificate(store, app_id, &name, der.as_ref(), now()).await?;
            println!("certificate {} added, thumbprint {}", cert.key_id, hex_upper(&cert.thumbprint_sha1));
        }
        CertCommand::List { app } => {
            let app_id = guid("app", &app)?;
            for c in store.certificates(app_id).await? {
                println!(
                    "{}  {}  thumbprint {}  expires {}",
                    c.key_id,
                    c.display_name,
                    hex_upper(&c.thumbprint_sha1),
                    c.expires_at
                );
            }
        }
        CertCommand::Delete { app, key_id } => {
            let app_id = guid("app", &app)?;
            let audit = tokengate_core::audit::AuditEvent::admin(
                "certificate.deleted",
                None,
                serde_json::json!({"app_id": app_id, "key_id": key_id}),
                now(),
            );
            store.delete_certificate(app_id, key_id, &audit).await.map_err(CliError::object("certificate", key_id))?;
            println!("certificate {key_id} deleted");
        }
    }
    Ok(())
}

pub async fn grant(store: &Arc<dyn Store>, command: GrantCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        GrantCommand::AppRole { tenant, client, resource, role } => {
            let tenant = store_names::tenant(store, &tenant).await?;
            let (client, resource) = (guid("app", &client)?, guid("app", &resource)?);
            let g = admin::grant_app_role(store, tenant, client, resource, &role, now()).await?;
            println!("grant {} created: {role} on {resource} to {client}", g.id);
        }
        GrantCommand::List { tenant, client } => {
            let client = guid("app", &client)?;
            let tenant = match tenant {
                Some(t) => store_names::tenant(store, &t).await?,
                None => store.app(client).await?.ok_or(CliError::AppNotFound(client))?.tenant_id,
            };
            let sp = store
                .service_principal(tenant, client)
                .await?
                .ok_or(CliError::NoServicePrincipal { app_id: client, tenant })?;
            for g in store.app_role_grants(sp.object_id, None).await? {
                let role = store
                    .app(g.resource_app_id)
                    .await?
                    .and_then(|app| app.app_roles.iter().find(|r| r.id == g.app_role_id).map(|r| r.value.clone()))
                    .unwrap_or_else(|| g.app_role_id.to_string());
                println!("{}  {}  on {}", g.id, role, g.resource_app_id);
            }
        }
        GrantCommand::Revoke { grant_id } => {
            let audit = tokengate_core::audit::AuditEvent::admin(
                "app_role.revoked",
                None,
                serde_json::json!({"grant_id": grant_id}),
                now(),
            );
            store.delete_app_role_grant(grant_id, &audit).await.map_err(CliError::object("grant", grant_id))?;
            println!("grant {grant_id} revoked");
        }
        GrantCommand::Show { .. } => return Err(api_only("grant show")),
    }
    Ok(())
}
