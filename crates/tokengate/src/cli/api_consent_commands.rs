//! `tokengate consent grant | list | show | revoke` through the admin API: delegated permissions
//! granted to a client, per user or tenant-wide (admin consent).

use tokengate_proto::admin::{ConsentView, NewConsentRequest};

use super::admin_target::TargetArgs;
use super::name_resolution::{app_id, tenant_id, user_id};
use super::table::{emit, opt, print_fields, Table};
use super::user_args::ConsentCommand;
use super::{api_session, CliError};

pub async fn consent(args: &TargetArgs, command: ConsentCommand) -> Result<(), CliError> {
    let out = args.output;
    let api = api_session(args).await?;
    match command {
        ConsentCommand::Grant { tenant, client, resource, scopes, user } => {
            let request = NewConsentRequest {
                tenant_id: tenant_id(&api, &tenant).await?,
                client_app_id: app_id(&api, &client).await?,
                resource_app_id: app_id(&api, &resource).await?,
                scopes,
                user_id: match user {
                    Some(u) => Some(user_id(&api, &u).await?),
                    None => None,
                },
            };
            let c: ConsentView = api.post("/admin/v1/consents", &request).await?;
            emit(out, &c, |c| {
                println!(
                    "consent {}: {} on {} for {}, {}",
                    c.id,
                    c.scopes.join(" "),
                    c.resource_app_id,
                    c.client_app_id,
                    whom(c)
                )
            })
        }
        ConsentCommand::List { tenant, client, resource, user } => {
            let mut query = Vec::new();
            if let Some(t) = tenant {
                query.push(("tenant_id", tenant_id(&api, &t).await?));
            }
            if let Some(c) = client {
                query.push(("client_app_id", app_id(&api, &c).await?));
            }
            if let Some(r) = resource {
                query.push(("resource_app_id", app_id(&api, &r).await?));
            }
            if let Some(u) = user {
                query.push(("user_id", user_id(&api, &u).await?));
            }
            let consents: Vec<ConsentView> = api.get("/admin/v1/consents", &query).await?;
            emit(out, &consents, |consents| {
                let mut table =
                    Table::new(&["CONSENT ID", "CLIENT APP ID", "RESOURCE APP ID", "FOR", "SCOPES", "CREATED"]);
                for c in consents {
                    table.row(vec![
                        c.id.clone(),
                        c.client_app_id.clone(),
                        c.resource_app_id.clone(),
                        whom(c),
                        c.scopes.join(" "),
                        c.created_at.clone(),
                    ]);
                }
                table.print();
            })
        }
        ConsentCommand::Show { consent_id } => {
            let c: ConsentView = api.get(&format!("/admin/v1/consents/{consent_id}"), &[]).await?;
            emit(out, &c, |c| {
                print_fields(&[
                    ("consent id", c.id.clone()),
                    ("tenant id", c.tenant_id.clone()),
                    ("client app id", c.client_app_id.clone()),
                    ("resource app id", c.resource_app_id.clone()),
                    ("user id", opt(c.user_id.as_deref())),
                    ("scopes", c.scopes.join(" ")),
                    ("created", c.created_at.clone()),
                ])
            })
        }
        ConsentCommand::Revoke { consent_id } => {
            api.delete(&format!("/admin/v1/consents/{consent_id}")).await?;
            println!("consent {consent_id} revoked");
            Ok(())
        }
    }
}

/// `user OID` or `the whole tenant`.
fn whom(c: &ConsentView) -> String {
    c.user_id.as_ref().map_or_else(|| "the whole tenant".into(), |u| format!("user {u}"))
}
