//! `tenant`, `secret`, `cert` and `grant` through the admin API.

use tokengate_proto::admin::{
    AppRoleGrantView, CertificateView, CreatedSecretView, NewAppRoleGrantRequest, NewCertificateRequest,
    NewSecretRequest, NewTenantRequest, SecretView, TenantUpdateRequest, TenantView,
};

use super::admin_target::{Output, TargetArgs};
use super::api_app_commands::role_value;
use super::conditional_update::{patch, read, tag_to_send};
use super::directory_args::{CertCommand, GrantCommand, SecretCommand, TenantCommand};
use super::name_resolution::{app_id, tenant_id};
use super::table::{emit, list, print_fields, print_json, Table};
use super::{api_session, CliError};

pub async fn tenant(args: &TargetArgs, command: TenantCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        TenantCommand::Create { name, domains } => {
            let Some((first, more)) = domains.split_first() else {
                return Err(CliError::Argument("a tenant needs a --domain".into()));
            };
            let request = NewTenantRequest { display_name: name, domain: first.clone() };
            let mut t: TenantView = api.post("/admin/v1/tenants", &request).await?;
            // The create request takes one domain: the others follow as an update.
            if !more.is_empty() {
                let update = TenantUpdateRequest { display_name: None, domains: Some(domains.clone()) };
                t = api.patch(&format!("/admin/v1/tenants/{}", t.id), &update, None).await.map_err(|e| {
                    CliError::Argument(format!(
                        "tenant {} created with {first} only ({e}): add the others with `tokengate tenant update {} --add-domain ...`",
                        t.id, t.id
                    ))
                })?;
            }
            emit(out, &t, |t| println!("tenant {} created ({})", t.id, t.domains.join(", ")))
        }
        TenantCommand::List => {
            let tenants: Vec<TenantView> = api.get("/admin/v1/tenants", &[]).await?;
            emit(out, &tenants, |tenants| {
                let mut table = Table::new(&["TENANT ID", "NAME", "DOMAINS"]);
                for t in tenants {
                    table.row(vec![t.id.clone(), t.display_name.clone(), list(&t.domains)]);
                }
                table.print();
            })
        }
        TenantCommand::Show { tenant } => {
            let id = tenant_id(&api, &tenant).await?;
            let shown = read::<TenantView>(&api, &format!("/admin/v1/tenants/{id}")).await?;
            emit(out, &shown.value, |t| {
                print_fields(&[
                    ("tenant id", t.id.clone()),
                    ("name", t.display_name.clone()),
                    ("domains", list(&t.domains)),
                    ("etag", shown.etag.clone().unwrap_or_else(|| "-".into())),
                ])
            })
        }
        TenantCommand::Update { tenant, name, add_domains, remove_domains, if_match } => {
            if name.is_none() && add_domains.is_empty() && remove_domains.is_empty() {
                return Err(CliError::Argument(
                    "nothing to change: give --name, --add-domain or --remove-domain".into(),
                ));
            }
            let id = tenant_id(&api, &tenant).await?;
            let path = format!("/admin/v1/tenants/{id}");
            let current = read::<TenantView>(&api, &path).await?;
            let domains = (!add_domains.is_empty() || !remove_domains.is_empty())
                .then(|| changed_domains(&current.value.domains, &add_domains, &remove_domains))
                .transpose()?;
            let update = TenantUpdateRequest { display_name: name, domains };
            let etag = tag_to_send(if_match.as_deref(), &current);
            let t: TenantView = patch(&api, ("tenant", &tenant), &path, &update, etag).await?;
            emit(out, &t, |t| println!("tenant {} updated ({}: {})", t.id, t.display_name, t.domains.join(", ")))
        }
    }
}

/// `current` with `add` appended and `remove` taken out; removing one it lacks is an error.
fn changed_domains(current: &[String], add: &[String], remove: &[String]) -> Result<Vec<String>, CliError> {
    if let Some(missing) = remove.iter().find(|r| !current.iter().any(|d| d.eq_ignore_ascii_case(r))) {
        return Err(CliError::Argument(format!(
            "the tenant has no domain '{missing}' to remove (it has {})",
            current.join(", ")
        )));
    }
    let mut domains: Vec<String> =
        current.iter().filter(|d| !remove.iter().any(|r| r.eq_ignore_ascii_case(d))).cloned().collect();
    for a in add {
        if !domains.iter().any(|d| d.eq_ignore_ascii_case(a)) {
            domains.push(a.clone());
        }
    }
    Ok(domains)
}

pub async fn secret(args: &TargetArgs, command: SecretCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        SecretCommand::Create { app, name, days } => {
            let id = app_id(&api, &app).await?;
            let request = NewSecretRequest { display_name: name, lifetime_days: Some(days) };
            let created: CreatedSecretView = api.post(&format!("/admin/v1/apps/{id}/secrets"), &request).await?;
            emit(out, &created, |c| {
                println!("secret {} created, expires at {}", c.secret.key_id, c.secret.expires_at);
                println!("value (shown once, store it now): {}", c.value);
            })
        }
        SecretCommand::List { app } => {
            let id = app_id(&api, &app).await?;
            let secrets: Vec<SecretView> = api.get(&format!("/admin/v1/apps/{id}/secrets"), &[]).await?;
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
        SecretCommand::Delete { app, key_id } => {
            let id = app_id(&api, &app).await?;
            api.delete(&format!("/admin/v1/apps/{id}/secrets/{key_id}")).await?;
            println!("secret {key_id} deleted");
            Ok(())
        }
    }
}

pub async fn cert(args: &TargetArgs, command: CertCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        CertCommand::Add { app, pem, name } => {
            let text = std::fs::read_to_string(&pem).map_err(|source| CliError::File { path: pem.clone(), source })?;
            // Only the certificate travels: a private key in the same file stays on this machine.
            let certificate = certificate_blocks(&text).ok_or_else(|| CliError::NoCertificate { path: pem.clone() })?;
            let id = app_id(&api, &app).await?;
            let request = NewCertificateRequest { display_name: Some(name), pem: certificate };
            let c: CertificateView = api.post(&format!("/admin/v1/apps/{id}/certificates"), &request).await?;
            emit(out, &c, |c| println!("certificate {} added, thumbprint {}", c.key_id, c.thumbprint))
        }
        CertCommand::List { app } => {
            let id = app_id(&api, &app).await?;
            let certs: Vec<CertificateView> = api.get(&format!("/admin/v1/apps/{id}/certificates"), &[]).await?;
            emit(out, &certs, |certs| {
                let mut table = Table::new(&["KEY ID", "NAME", "THUMBPRINT", "CREATED", "EXPIRES"]);
                for c in certs {
                    table.row(vec![
                        c.key_id.clone(),
                        c.display_name.clone(),
                        c.thumbprint.clone(),
                        c.created_at.clone(),
                        c.expires_at.clone(),
                    ]);
                }
                table.print();
            })
        }
        CertCommand::Delete { app, key_id } => {
            let id = app_id(&api, &app).await?;
            api.delete(&format!("/admin/v1/apps/{id}/certificates/{key_id}")).await?;
            println!("certificate {key_id} deleted");
            Ok(())
        }
    }
}

/// The first `CERTIFICATE` block of a PEM text (nothing else of the file).
fn certificate_blocks(text: &str) -> Option<String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = text.find(BEGIN)?;
    let end = text[start..].find(END)? + start + END.len();
    Some(format!("{}\n", &text[start..end]))
}

pub async fn grant(args: &TargetArgs, command: GrantCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        GrantCommand::AppRole { tenant, client, resource, role } => {
            let tenant = tenant_id(&api, &tenant).await?;
            let request = NewAppRoleGrantRequest {
                client_app_id: app_id(&api, &client).await?,
                resource_app_id: app_id(&api, &resource).await?,
                role_value: role.clone(),
            };
            let g: AppRoleGrantView =
                api.post(&format!("/admin/v1/tenants/{tenant}/app-role-grants"), &request).await?;
            emit(out, &g, |g| {
                println!("grant {} created: {role} on {} to {}", g.id, request.resource_app_id, request.client_app_id)
            })
        }
        GrantCommand::List { tenant, client } => {
            let id = app_id(&api, &client).await?;
            let mut query = Vec::new();
            if let Some(t) = tenant {
                query.push(("tenant_id", tenant_id(&api, &t).await?));
            }
            let grants: Vec<AppRoleGrantView> =
                api.get(&format!("/admin/v1/apps/{id}/app-role-grants"), &query).await?;
            if out == Output::Json {
                return print_json(&grants);
            }
            let mut table = Table::new(&["GRANT ID", "ROLE", "RESOURCE APP ID", "TENANT ID", "CREATED"]);
            for g in &grants {
                table.row(vec![
                    g.id.clone(),
                    role_value(&api, &g.resource_app_id, &g.app_role_id).await,
                    g.resource_app_id.clone(),
                    g.tenant_id.clone(),
                    g.created_at.clone(),
                ]);
            }
            table.print();
            Ok(())
        }
        GrantCommand::Show { grant_id } => {
            let g: AppRoleGrantView = api.get(&format!("/admin/v1/app-role-grants/{grant_id}"), &[]).await?;
            if out == Output::Json {
                return print_json(&g);
            }
            let role = role_value(&api, &g.resource_app_id, &g.app_role_id).await;
            print_fields(&[
                ("grant id", g.id.clone()),
                ("tenant id", g.tenant_id.clone()),
                ("principal id", g.principal_id.clone()),
                ("resource app id", g.resource_app_id.clone()),
                ("role", role),
                ("created", g.created_at.clone()),
            ]);
            Ok(())
        }
        GrantCommand::Revoke { grant_id } => {
            api.delete(&format!("/admin/v1/app-role-grants/{grant_id}")).await?;
            println!("grant {grant_id} revoked");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_added_and_removed_and_a_missing_one_is_named() {
        let current = vec!["a.test".to_owned(), "b.test".to_owned()];
        let changed = changed_domains(&current, &["c.test".into()], &["A.test".into()]).unwrap();
        assert_eq!(changed, vec!["b.test", "c.test"]);
        let err = changed_domains(&current, &[], &["x.test".into()]).unwrap_err().to_string();
        assert!(err.contains("'x.test'") && err.contains("a.test, b.test"), "{err}");
    }

    #[test]
    fn only_the_certificate_leaves_a_pem_file() {
        let pem = "-----BEGIN PRIVATE KEY-----\nk\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n";
        assert_eq!(certificate_blocks(pem).unwrap(), "-----BEGIN CERTIFICATE-----\nc\n-----END CERTIFICATE-----\n");
        assert_eq!(certificate_blocks("nothing"), None);
    }
}
