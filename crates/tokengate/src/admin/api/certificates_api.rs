//! Certificate credentials of an app: `/admin/v1/apps/{app_id}/certificates` (register from PEM,
//! list) and `/admin/v1/apps/{app_id}/certificates/{key_id}` (delete). Only certificates travel:
//! a body holding a private key is refused, and no answer or audit record repeats key material.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tokengate_core::{directory_admin, directory_removals};
use tokengate_proto::admin::{CertificateView, NewCertificateRequest, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::{AdminCaller, AdminWriter};
use super::api_extractors::{ApiJson, ApiPath};
use super::api_problem::{ApiProblem, ReadRefusals, WriteRefusals};
use super::directory_ids::{existing_app, path_id};
use super::directory_views::certificate_view;
use crate::state::now;

/// The DER of the first certificate in `pem`; a private key anywhere in it is refused.
fn certificate_der(pem: &str) -> Result<Vec<u8>, ApiProblem> {
    if pem.contains("PRIVATE KEY-----") {
        return Err(ApiProblem::bad_request(
            "the PEM holds a private key: send only the certificate (the key never needs to leave your machine)",
        ));
    }
    match rustls_pemfile::certs(&mut pem.as_bytes()).next() {
        Some(Ok(der)) => Ok(der.as_ref().to_vec()),
        Some(Err(_)) | None => {
            Err(ApiProblem::bad_request("pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)"))
        }
    }
}

/// Register a certificate (RSA, not expired) whose key signs the app's client assertions.
#[utoipa::path(
    post,
    path = "/admin/v1/apps/{app_id}/certificates",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    request_body = NewCertificateRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered", body = CertificateView),
        (status = 400, description = "No certificate, a private key, not RSA, or expired", body = Problem, content_type = "application/problem+json"),
        WriteRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(request): ApiJson<NewCertificateRequest>,
) -> Result<(StatusCode, Json<CertificateView>), ApiProblem> {
    let id = path_id("app", &app_id)?;
    let der = certificate_der(&request.pem)?;
    let name = request.display_name.unwrap_or_else(|| "certificate".into());
    let cert = directory_admin::add_certificate_by(s.store.as_ref(), &caller.actor, id, &name, &der, now()).await?;
    Ok((StatusCode::CREATED, Json(certificate_view(cert))))
}

/// An app's certificates: key id, name, thumbprints and validity.
#[utoipa::path(
    get,
    path = "/admin/v1/apps/{app_id}/certificates",
    tag = "directory",
    params(("app_id" = String, Path, description = "The app's client id (GUID)")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The certificates", body = Vec<CertificateView>),
        ReadRefusals,
        (status = 404, description = "No such app", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<Vec<CertificateView>>, ApiProblem> {
    let app = existing_app(s.store.as_ref(), &app_id).await?;
    Ok(Json(s.store.certificates(app.app_id).await?.into_iter().map(certificate_view).collect()))
}

/// Delete a certificate: assertions signed with its key stop working at once.
#[utoipa::path(
    delete,
    path = "/admin/v1/apps/{app_id}/certificates/{key_id}",
    tag = "directory",
    params(
        ("app_id" = String, Path, description = "The app's client id (GUID)"),
        ("key_id" = String, Path, description = "The certificate's key id (GUID)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        WriteRefusals,
        (status = 404, description = "No such app, or no such certificate on it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    AdminWriter(caller): AdminWriter,
    State(s): State<Arc<AdminApiState>>,
    ApiPath((app_id, key_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiProblem> {
    let app = path_id("app", &app_id)?;
    let key = path_id("certificate", &key_id)?;
    directory_removals::delete_certificate_by(s.store.as_ref(), &caller.actor, app, key, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
