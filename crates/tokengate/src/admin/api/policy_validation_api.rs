//! `POST /admin/v1/policies/validate`: checks a draft exactly as a publish would (the same
//! validation, files resolved against this node's gateway policy directory) and lists the
//! warnings the gateway would log, without publishing. Lets an editor see every problem before
//! asking anyone to publish (the dashboard's preview).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use tokengate_core::access::policy_document::PolicyDocument;
use tokengate_proto::admin::{PolicyDraft, PolicyValidation, Problem};

use super::admin_api_state::AdminApiState;
use super::admin_caller::AdminCaller;
use super::api_extractors::ApiJson;
use super::api_problem::{ApiProblem, ReadRefusals};
use crate::gateway::{policy_file, policy_warnings};

/// Validate a draft policy (`document` or `toml`) as a publish would, and list its warnings.
#[utoipa::path(
    post,
    path = "/admin/v1/policies/validate",
    tag = "policies",
    request_body = PolicyDraft,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The draft's problems (none: a publish would accept it) and warnings", body = PolicyValidation),
        (status = 400, description = "Not a policy document at all (the TOML or JSON error, with its line)", body = Problem, content_type = "application/problem+json"),
        ReadRefusals,
    )
)]
pub async fn validate(
    _caller: AdminCaller,
    State(s): State<Arc<AdminApiState>>,
    ApiJson(draft): ApiJson<PolicyDraft>,
) -> Result<Json<PolicyValidation>, ApiProblem> {
    let document = parse(&draft)?;
    let base_dir = s.gateway.as_ref().map(|g| g.policy_base_dir.clone()).unwrap_or_else(|| PathBuf::from("."));
    let problems = policy_file::validate(&document, &base_dir);
    let tenants: Vec<String> = s.store.tenants().await?.iter().map(|t| t.id.to_string()).collect();
    let warnings = policy_warnings::warnings(&document, &tenants);
    Ok(Json(PolicyValidation { valid: problems.is_empty(), problems, warnings }))
}

/// The draft as a policy document, with the parser's words (and line) when it is not one.
fn parse(draft: &PolicyDraft) -> Result<PolicyDocument, ApiProblem> {
    match (&draft.document, &draft.toml) {
        (Some(json), None) => serde_json::from_value(json.clone())
            .map_err(|e| ApiProblem::bad_request(format!("document is not a gateway policy: {e}"))),
        (None, Some(text)) => {
            toml::from_str(text).map_err(|e| ApiProblem::bad_request(format!("toml is not a gateway policy: {e}")))
        }
        (Some(_), Some(_)) => Err(ApiProblem::bad_request("give either `document` or `toml`, not both")),
        (None, None) => {
            Err(ApiProblem::bad_request("give the policy as `document` (JSON) or `toml` (the file's text)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Method, Request, StatusCode};
    use serde_json::{json, Value};

    use super::super::admin_api_tests::fixture_with;
    use crate::test_support::{body_text, send};

    async fn validate(
        body: Value,
        token_of: impl Fn(&super::super::admin_api_tests::Fixture) -> String,
    ) -> (StatusCode, Value) {
        let f = fixture_with(|_| None).await;
        let request = Request::builder()
            .method(Method::POST)
            .uri("/admin/v1/policies/validate")
            .header(header::AUTHORIZATION, format!("Bearer {}", token_of(&f)))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = send(super::super::router(f.state.clone()), request).await;
        let status = response.status();
        (status, serde_json::from_str(&body_text(response).await).unwrap_or(Value::Null))
    }

    const ROUTE: &str =
        "[[route]]\nname = \"orders\"\npath_prefix = \"/orders/\"\nupstream = \"echo\"\n[route.require]\n\
                         audiences = [\"api://orders\"]\nroles_any = [\"Orders.Read\"]\n";

    #[tokio::test]
    async fn a_draft_is_checked_as_a_publish_would_without_publishing() {
        let good = format!("[[issuer]]\nname = \"tokengate\"\nkind = \"builtin\"\n{ROUTE}issuers = [\"tokengate\"]\n");
        let (status, body) = validate(json!({"toml": good}), |f| f.auditor.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["valid"], true, "{body}");
        assert!(body["warnings"].is_array());

        let unknown = format!("{ROUTE}issuers = [\"nobody\"]\n");
        let (status, body) = validate(json!({"toml": unknown}), |f| f.admin.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["valid"], false, "{body}");
        assert!(body["problems"].to_string().contains("nobody"), "{body}");

        let (status, body) = validate(json!({"toml": "[[route]\n"}), |f| f.admin.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["detail"].as_str().unwrap().contains("line 1"), "{body}");
    }
}
