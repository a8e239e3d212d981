//! Consents (delegated grants): `/admin/v1/consents` (list with filters, grant for a user or
//! tenant-wide as admin consent) and `/admin/v1/consents/{consent_id}` (show, revoke).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tokengate_core::directory_admin::{self, NewConsent};
use tokengate_core::directory_removals;
use tokengate_core::store::DelegatedGrantFilter;
use tokengate_proto::admin::{ConsentView, NewConsentRequest, Problem};
use utoipa::IntoParams;

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath, ApiQuery};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::{body_id, existing_user, path_id, tenant_named};
use super::directory_views::consent_view;
use crate::state::now;

/// Which consents to list: every filter given must match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentFilter {
    /// Tenant GUID or domain.
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    client_app_id: Option<String>,
    #[serde(default)]
    resource_app_id: Option<String>,
    /// Only this user's own consents (object id or UPN).
    #[serde(default)]
    user_id: Option<String>,
}

/// Consents, oldest first.
#[utoipa::path(
    get,
    path = "/admin/v1/consents",
    tag = "directory",
    params(ConsentFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The consents", body = Vec<ConsentView>),
        (status = 400, description = "An app id is no GUID", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
        (status = 404, description = "No such tenant or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiQuery(query): ApiQuery<ConsentFilter>,
) -> Result<Json<Vec<ConsentView>>, ApiProblem> {
    let store = s.store.as_ref();
    let filter = DelegatedGrantFilter {
        tenant_id: match &query.tenant_id {
            Some(t) => Some(tenant_named(store, t).await?.id),
            None => None,
        },
        client_app_id: query.client_app_id.as_deref().map(|c| body_id("client_app_id", c)).transpose()?,
        resource_app_id: query.resource_app_id.as_deref().map(|r| body_id("resource_app_id", r)).transpose()?,
        user_id: match &query.user_id {
            Some(u) => Some(existing_user(store, u).await?.object_id),
            None => None,
        },
    };
    Ok(Json(store.find_delegated_grants(&filter).await?.into_iter().map(consent_view).collect()))
}

/// Consent to delegated scopes of a resource for a client: for one user, or (without `user_id`)
/// tenant-wide as admin consent. Scopes merge into an existing consent of the same kind.
#[utoipa::path(
    post,
    path = "/admin/v1/consents",
    tag = "directory",
    request_body = NewConsentRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Granted: the consent with every scope it now holds", body = ConsentView),
        (status = 400, description = "An id is no GUID, no scope, or a scope the resource does not expose", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such tenant, client, resource or user", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn grant(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(request): ApiJson<NewConsentRequest>,
) -> Result<(StatusCode, Json<ConsentView>), ApiProblem> {
    let store = s.store.as_ref();
    if request.scopes.iter().all(|scope| scope.trim().is_empty()) {
        return Err(ApiProblem::bad_request("name at least one scope"));
    }
    let client_app_id = body_id("client_app_id", &request.client_app_id)?;
    let resource_app_id = body_id("resource_app_id", &request.resource_app_id)?;
    let tenant_id = tenant_named(store, &request.tenant_id).await?.id;
    let user_id = match &request.user_id {
        Some(u) => Some(existing_user(store, u).await?.object_id),
        None => None,
    };
    let consent = NewConsent { tenant_id, client_app_id, resource_app_id, user_id, scopes: &request.scopes };
    let granted = directory_admin::grant_consent_by(store, &caller.actor, &consent, now()).await?;
    Ok((StatusCode::CREATED, Json(consent_view(granted))))
}

/// One consent by id.
#[utoipa::path(
    get,
    path = "/admin/v1/consents/{consent_id}",
    tag = "directory",
    params(("consent_id" = String, Path, description = "The consent's id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The consent", body = ConsentView),
        ReadRefusals,
        (status = 404, description = "No such consent", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(consent_id): ApiPath<String>,
) -> Result<Json<ConsentView>, ApiProblem> {
    let id = path_id("consent", &consent_id)?;
    let found = s.store.delegated_grant(id).await?;
    Ok(Json(consent_view(found.ok_or_else(|| ApiProblem::not_found(format!("consent {consent_id} not found")))?)))
}

/// Revoke a consent: the client can no longer get those scopes (refresh tokens already issued
/// are not revoked; revoke the user or client for that).
#[utoipa::path(
    delete,
    path = "/admin/v1/consents/{consent_id}",
    tag = "directory",
    params(("consent_id" = String, Path, description = "The consent's id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        WriteRefusals,
        (status = 404, description = "No such consent", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(consent_id): ApiPath<String>,
) -> Result<StatusCode, ApiProblem> {
    let id = path_id("consent", &consent_id)?;
    directory_removals::revoke_consent_by(s.store.as_ref(), &caller.actor, id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
