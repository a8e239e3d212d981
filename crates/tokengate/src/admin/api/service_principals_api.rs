//! `/admin/v1/apps/{app_id}/service-principals`: an app's identity in each tenant. Creating one
//! in another tenant is that tenant's admin consent to a multi-tenant app.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::directory_admin;
use tokengate_proto::admin::{NewServicePrincipalRequest, Problem, ServicePrincipalView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::{existing_app, path_id, tenant_named};
use super::directory_views::service_principal_view;
use crate::state::now;

/// The app's service principals, one per tenant it is provisioned in.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/service-principals",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The service principals", body = Vec<ServicePrincipalView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<ServicePrincipalView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(Json(s.store.service_principals(app.app_id).await?.into_iter().map(service_principal_view).collect()))
}

/// Provision the app in a tenant (admin consent of that tenant; the app must be multi-tenant
/// unless it is its home tenant).
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/service-principals",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewServicePrincipalRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Provisioned", body = ServicePrincipalView),
        (status = 400, description = "A single-tenant app in another tenant", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app or tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already provisioned in that tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn provision(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewServicePrincipalRequest>,
) -> Result<(StatusCode, Json<ServicePrincipalView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let tenant = tenant_named(s.store.as_ref(), &request.tenant_id).await?.id;
    let sp = directory_admin::provision_service_principal_by(s.store.as_ref(), &caller.actor, tenant, id, now())
        .await
        .map_err(|e| worded(e, || format!("app {app_id} is already provisioned in tenant {tenant}")))?;
    Ok((StatusCode::CREATED, Json(service_principal_view(sp))))
}
