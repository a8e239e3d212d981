//! `PATCH /admin/v1/tenants/{tenant_id}`: rename a tenant or change its verified domains, with
//! `If-Match` against the `ETag` its `GET` gives.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use tokengate_core::directory::Tenant;
use tokengate_core::directory_updates::{self, TenantUpdate};
use tokengate_proto::admin::{Problem, TenantUpdateRequest, TenantView};

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminWriter;
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, WriteRefusals};
use super::directory_conflicts::worded;
use super::directory_ids::tenant_named;
use super::entity_tags::{entity_tag, tagged, IfMatch};
use super::tenants_api::view;
use crate::state::now;

/// Change a tenant's display name or replace its verified domains. With `If-Match`, only if the
/// tenant is still the version read; without, unconditionally.
#[utoipa::path(
    patch,
    path = "/admin/v1/tenants/{tenant_id}",
    tag = "tenants",
    params(
        ("tenant_id" = String, Path, description = "Tenant GUID or one of its verified domains"),
        ("If-Match" = Option<String>, Header, description = "The ETag of the tenant as read; without it the update is unconditional"),
    ),
    request_body = TenantUpdateRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = TenantView,
            headers(("ETag" = String, description = "The tenant's new version"))),
        (status = 400, description = "Empty name, no domain, or an invalid domain", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A domain belongs to another tenant, or users' UPNs are at a removed domain", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The tenant changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(tenant_id): ApiPath<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<TenantUpdateRequest>,
) -> Result<Response, ApiProblem> {
    let id = tenant_named(s.store.as_ref(), &tenant_id).await?.id;
    let domains = request.domains.clone().unwrap_or_default().join(", ");
    let update = TenantUpdate { display_name: request.display_name, domains: request.domains };
    let check = |t: &Tenant| if_match.admits(&entity_tag(&view(t.clone())));
    let tenant = directory_updates::update_tenant_by(
        s.store.as_ref(),
        &caller.actor,
        id,
        update,
        if_match.precondition(&check),
        now(),
    )
    .await
    .map_err(|e| worded(e, || format!("a domain ({domains}) belongs to another tenant")))?;
    Ok(tagged(view(tenant)))
}
