//! `/admin/v1/tenants`: list, create, show.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use tokengate_core::directory::Tenant;
use tokengate_core::directory_admin;
use tokengate_proto::admin::{NewTenantRequest, Problem, TenantView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::tenant_named;
use super::entity_tags::tagged;
use crate::state::now;

pub(super) fn view(t: Tenant) -> TenantView {
    TenantView { id: t.id.to_string(), display_name: t.display_name, domains: t.domains }
}

/// Every tenant.
#[utoipa::path(
    get,
    path = "/admin/v1/tenants",
    tag = "tenants",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenants", body = Vec<TenantView>),
        ReadRefusals,
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
) -> Result<Json<Vec<TenantView>>, ApiProblem> {
    Ok(Json(s.store.tenants().await?.into_iter().map(view).collect()))
}

/// Create a tenant with its first verified domain.
#[utoipa::path(
    post,
    path = "/admin/v1/tenants",
    tag = "tenants",
    request_body = NewTenantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 400, description = "Invalid name or domain", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 409, description = "The domain is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<NewTenantRequest>,
) -> Result<(StatusCode, Json<TenantView>), ApiProblem> {
    let tenant = directory_admin::create_tenant_by(
        s.store.as_ref(),
        &caller.actor,
        &request.display_name,
        &[request.domain],
        now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(tenant))))
}

/// One tenant by id or verified domain, with its `ETag` (for `If-Match` on `PATCH`).
#[utoipa::path(
    get,
    path = "/admin/v1/tenants/{tenant_id}",
    tag = "tenants",
    params(("tenant_id" = String, Path, description = "Tenant GUID or one of its verified domains")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tenant", body = TenantView,
            headers(("ETag" = String, description = "The tenant's current version, for If-Match"))),
        ReadRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Response, ApiProblem> {
    let tenant = tenant_named(s.store.as_ref(), &tenant_id).await?;
    Ok(tagged(view(tenant)))
}
