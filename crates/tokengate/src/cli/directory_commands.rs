//! `tenant`, `app`, `secret`, `cert` and `grant`: the arguments, and the direct-store
//! implementation (used with `--config`/`--store`, and by `store_fallback` for operations the admin
//! API lacks).

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use tokengate_core::directory::{AllowedMemberType, RedirectPlatform, RedirectUri, SignInAudience};
use tokengate_core::directory_admin::{self as admin, NewApp};
use tokengate_core::encoding::hex_upper;
use tokengate_core::store::Store;
use uuid::Uuid;

use super::CliError;
use crate::state::now;

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Display name.
        #[arg(long)]
        name: String,
        /// Verified domain name (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// List tenants.
    List,
    /// Show one tenant.
    Show {
        /// Tenant id, verified domain or display name.
        tenant: String,
    },
}

#[derive(Subcommand)]
pub enum AppCommand {
    /// Register an app (and its service principal in its home tenant).
    Create {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// Display name.
        #[arg(long)]
        name: String,
        /// App ID URI, e.g. api://orders (repeatable).
        #[arg(long = "identifier-uri")]
        identifier_uris: Vec<String>,
        /// single (AzureADMyOrg) or multi (AzureADMultipleOrgs).
        #[arg(long, default_value = "single")]
        audience: String,
        /// accessTokenAcceptedVersion: 1 or 2 (Entra's default is 1).
        #[arg(long)]
        token_version: Option<u8>,
        /// Public client (native app, device code): no credentials.
        #[arg(long)]
        public: bool,
        /// Redirect URI as PLATFORM=URI with PLATFORM web, spa or public (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Refuse a client assertion sent twice (stricter than Entra; MSAL resends its assertion
        /// for up to ~9 minutes, so only use this with clients that sign one per request).
        #[arg(long)]
        single_use_assertions: bool,
        /// Keep refresh tokens valid after use, as Entra does, instead of rotating them with
        /// reuse detection (tokengate's default).
        #[arg(long)]
        entra_compatible_refresh: bool,
        /// Put the user's group object ids into delegated tokens (Entra's groupMembershipClaims).
        #[arg(long)]
        group_claims: bool,
    },
    /// List a tenant's apps.
    List {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
    },
    /// Show one app: identifier URIs, redirect URIs, scopes and app roles.
    Show {
        /// The app's client id.
        app_id: Uuid,
    },
    /// Admin consent of another tenant to a multi-tenant app: provisions its service principal there.
    Provision {
        /// The app's client id.
        app_id: Uuid,
        /// The consenting tenant's id.
        #[arg(long)]
        tenant: Uuid,
    },
    /// Register one more redirect URI, as PLATFORM=URI (web, spa or public).
    AddRedirect {
        /// The app's client id.
        app_id: Uuid,
        /// PLATFORM=URI, e.g. spa=https://app.example/.
        #[arg(long = "redirect-uri")]
        redirect_uri: String,
    },
    /// Expose a delegated permission scope.
    AddScope {
        /// The app's client id.
        app_id: Uuid,
        /// The scope value, as it appears in `scp` (e.g. Orders.Read).
        #[arg(long)]
        value: String,
        /// Display name (default: the value).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// The app's configured API permissions (requiredResourceAccess): add, list, remove.
    Permission {
        #[command(subcommand)]
        command: super::permission_commands::PermissionCommand,
    },
    /// Define an app role.
    AddRole {
        /// The app's client id.
        app_id: Uuid,
        /// The role value, as it appears in `roles` (e.g. Orders.Read.All).
        #[arg(long)]
        value: String,
        /// Display name (default: the value).
        #[arg(long)]
        display_name: Option<String>,
        /// Who may hold it: application, user, or both (comma-separated).
        #[arg(long, default_value = "application")]
        members: String,
    },
}

#[derive(Subcommand)]
pub enum SecretCommand {
    /// Create a client secret; its value is printed once and never stored.
    Create {
        /// The app's client id.
        app_id: Uuid,
        /// Display name of the secret.
        #[arg(long, default_value = "secret")]
        name: String,
        /// Lifetime in days (1 to 730).
        #[arg(long, default_value_t = 180)]
        days: i64,
    },
    /// List an app's secrets: key id, name, first characters and expiry (never the value).
    List {
        /// The app's client id.
        app_id: Uuid,
    },
    /// Delete a secret: clients using it can no longer get tokens.
    Delete {
        /// The app's client id.
        app_id: Uuid,
        /// The secret's key id (from `secret list`).
        key_id: Uuid,
    },
}

#[derive(Subcommand)]
pub enum CertCommand {
    /// Register a certificate (PEM file; only the certificate is read).
    Add {
        /// The app's client id.
        app_id: Uuid,
        /// PEM file holding the certificate.
        #[arg(long)]
        pem: PathBuf,
        /// Display name of the credential.
        #[arg(long, default_value = "certificate")]
        name: String,
    },
    /// List an app's certificates: key id, name, thumbprint and expiry.
    List {
        /// The app's client id.
        app_id: Uuid,
    },
    /// Delete a certificate credential.
    Delete {
        /// The app's client id.
        app_id: Uuid,
        /// The certificate's key id (from `cert list`).
        key_id: Uuid,
    },
}

#[derive(Subcommand)]
pub enum GrantCommand {
    /// Grant a resource's app role to a client app (admin consent for an application permission).
    AppRole {
        /// Tenant id (GUID) where the client holds the role.
        #[arg(long)]
        tenant: Uuid,
        /// The client app's client id.
        #[arg(long)]
        client: Uuid,
        /// The resource app's client id.
        #[arg(long)]
        resource: Uuid,
        /// The app role's value, e.g. Orders.Read.All.
        #[arg(long)]
        role: String,
    },
    /// List the app roles a client app holds in a tenant.
    List {
        /// Tenant id (GUID).
        #[arg(long)]
        tenant: Uuid,
        /// The client app's client id.
        #[arg(long)]
        client: Uuid,
    },
    /// Revoke a grant by id.
    Revoke {
        /// The grant's id (from `grant list`).
        grant_id: Uuid,
    },
}

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
            let found = store.tenants().await?.into_iter().find(|t| {
                t.id.to_string() == tenant.to_ascii_lowercase()
                    || t.display_name.eq_ignore_ascii_case(&tenant)
                    || t.domains.iter().any(|d| d.eq_ignore_ascii_case(&tenant))
            });
            let t = found.ok_or_else(|| CliError::Argument(format!("no tenant '{tenant}'")))?;
            println!("{}  {}  {}", t.id, t.display_name, t.domains.join(","));
        }
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
            for a in store.apps(tenant).await? {
                println!("{}  {}  {}", a.app_id, a.display_name, a.identifier_uris.join(","));
            }
        }
        AppCommand::Show { app_id } => {
            let app = store.app(app_id).await.map_err(CliError::object("app", app_id))?;
            let app = app.ok_or(CliError::AppNotFound(app_id))?;
            println!("{}", serde_json::to_string_pretty(&app)?);
        }
        AppCommand::Provision { app_id, tenant } => {
            let sp = admin::provision_service_principal(store, tenant, app_id, now()).await?;
            println!("service principal {} of app {app_id} created in tenant {tenant}", sp.object_id);
        }
        AppCommand::AddRedirect { app_id, redirect_uri } => {
            let redirect = parse_redirect(&redirect_uri)?;
            admin::add_redirect_uri(store, app_id, redirect, now()).await?;
            println!("redirect URI {redirect_uri} added to app {app_id}");
        }
        AppCommand::AddScope { app_id, value, display_name } => {
            let display = display_name.unwrap_or_else(|| value.clone());
            let scope = admin::add_scope(store, app_id, &value, &display, now()).await?;
            println!("scope {} added ({})", scope.value, scope.id);
        }
        AppCommand::Permission { command } => super::permission_commands::permission(store, command).await?,
        AppCommand::AddRole { app_id, value, display_name, members } => {
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
    }
    Ok(())
}

pub async fn secret(store: &Arc<dyn Store>, command: SecretCommand) -> Result<(), CliError> {
    let store = store.as_ref();
    match command {
        SecretCommand::Create { app_id, name, days } => {
            let created = admin::create_secret(store, app_id, &name, days, now()).await?;
            println!("secret {} created, expires at {} (unix)", created.secret.key_id, created.secret.expires_at);
            println!("value (shown once, store it now): {}", created.value);
        }
        SecretCommand::List { app_id } => {
            for s in store.secrets(app_id).await? {
                println!("{}  {}  hint {}...  expires {}", s.key_id, s.display_name, s.hint, s.expires_at);
            }
        }
        SecretCommand::Delete { app_id, key_id } => {
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
        CertCommand::Add { app_id, pem, name } => {
            let file = |source| CliError::File { path: pem.clone(), source };
            let bytes = std::fs::read(&pem).map_err(file)?;
            let der = rustls_pemfile::certs(&mut &bytes[..])
                .next()
                .ok_or_else(|| CliError::NoCertificate { path: pem.clone() })?
                .map_err(file)?;
            let cert = admin::add_certificate(store, app_id, &name, der.as_ref(), now()).await?;
            println!("certificate {} added, thumbprint {}", cert.key_id, hex_upper(&cert.thumbprint_sha1));
        }
        CertCommand::List { app_id } => {
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
        CertCommand::Delete { app_id, key_id } => {
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
            let g = admin::grant_app_role(store, tenant, client, resource, &role, now()).await?;
            println!("grant {} created: {role} on {resource} to {client}", g.id);
        }
        GrantCommand::List { tenant, client } => {
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
    }
    Ok(())
}
