//! Every refusal the admin API can answer is a problem document at the right status and is
//! declared by the operation answering it (what the schemathesis interop run checks against the
//! served document, held here without it): a body that is not JSON (415), too large (413), a path
//! segment that is not UTF-8 (400), a method a path does not have (405 with `Allow`), a path that
//! names no operation (404), a malformed `Authorization` header (400); and query parameters are
//! declared in the query, not the path.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;

use super::admin_api_tests::{fixture_with, Fixture};
use crate::test_support::{body_text, send};

async fn raw(f: &Fixture, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = send(super::router(f.state.clone()), request).await;
    let (status, headers) = (response.status(), response.headers().clone());
    let text = body_text(response).await;
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn request(f: &Fixture, method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path).header(header::AUTHORIZATION, format!("Bearer {}", f.admin))
}

/// A problem document at `status`, whose body says the same status.
fn assert_problem(status: StatusCode, headers: &axum::http::HeaderMap, body: &Value, expected: StatusCode, what: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json", "{what}");
    assert_eq!(body["status"].as_u64(), Some(u64::from(expected.as_u16())), "{what}: {body}");
    assert!(!body["title"].as_str().unwrap_or("").is_empty(), "{what}: {body}");
    assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{what}: {body}");
}

fn document() -> Value {
    serde_json::from_str(&super::openapi_json()).unwrap()
}

fn declares(doc: &Value, method: &str, path: &str, status: &str) -> bool {
    let response = &doc["paths"][path][method]["responses"][status];
    response["content"]["application/problem+json"].is_object()
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_a_malformed_one_400() {
    let f = fixture_with(|_| None).await;
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let mut builder = request(&f, Method::POST, "/admin/v1/tenants");
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let (status, headers, body) = raw(&f, builder.body(Body::from("{}")).unwrap()).await;
        assert_problem(status, &headers, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE, &format!("{content_type:?}"));
    }
    for (text, what) in [("{", "syntax"), ("{\"display_name\": 5}", "type"), ("[]", "shape")] {
        let builder = request(&f, Method::POST, "/admin/v1/tenants").header(header::CONTENT_TYPE, "application/json");
        let (status, headers, body) = raw(&f, builder.body(Body::from(text)).unwrap()).await;
        assert_problem(status, &headers, &body, StatusCode::BAD_REQUEST, what);
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let f = fixture_with(|_| None).await;
    let huge = format!("{{\"display_name\": \"{}\", \"domain\": \"x.test\"}}", "x".repeat(3 * 1024 * 1024));
    let builder = request(&f, Method::POST, "/admin/v1/tenants").header(header::CONTENT_TYPE, "application/json");
    let (status, headers, body) = raw(&f, builder.body(Body::from(huge)).unwrap()).await;
    assert_problem(status, &headers, &body, StatusCode::PAYLOAD_TOO_LARGE, "3 MB body");
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_400() {
    let f = fixture_with(|_| None).await;
    for path in ["/admin/v1/tenants/%FF", "/admin/v1/apps/%C3%28/secrets", "/admin/v1/users/a%80b"] {
        let (status, headers, body) = raw(&f, request(&f, Method::GET, path).body(Body::empty()).unwrap()).await;
        assert_problem(status, &headers, &body, StatusCode::BAD_REQUEST, path);
    }
}

#[tokio::test]
async fn a_method_a_path_does_not_have_is_405_with_allow() {
    let f = fixture_with(|_| None).await;
    for (method, path) in [
        (Method::PUT, "/admin/v1/tenants"),
        (Method::DELETE, "/admin/v1/nodes"),
        (Method::PATCH, "/admin/v1/keys/rotate"),
    ] {
        let (status, headers, body) = raw(&f, request(&f, method.clone(), path).body(Body::empty()).unwrap()).await;
        assert_problem(status, &headers, &body, StatusCode::METHOD_NOT_ALLOWED, &format!("{method} {path}"));
        assert!(headers.contains_key(header::ALLOW), "{method} {path}: {headers:?}");
    }
}

#[tokio::test]
async fn a_path_naming_no_operation_is_404() {
    let f = fixture_with(|_| None).await;
    for path in ["/admin/v1/nothing", "/admin/v1/apps/x/nothing/here", "/admin/v2/tenants"] {
        let (status, headers, body) = raw(&f, request(&f, Method::GET, path).body(Body::empty()).unwrap()).await;
        assert_problem(status, &headers, &body, StatusCode::NOT_FOUND, path);
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_400_on_any_operation_and_declared() {
    let f = fixture_with(|_| None).await;
    let builder = Request::builder().uri("/admin/v1/nodes").header(header::AUTHORIZATION, "Bearer a b");
    let (status, headers, body) = raw(&f, builder.body(Body::empty()).unwrap()).await;
    assert_problem(status, &headers, &body, StatusCode::BAD_REQUEST, "Bearer a b");
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(declares(&doc, method, path, "400"), "{method} {path} does not declare 400");
        }
    }
}

#[test]
fn every_operation_with_a_body_declares_413_and_415() {
    let doc = document();
    let mut with_body = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("requestBody").is_some() {
                with_body += 1;
                for status in ["400", "413", "415"] {
                    assert!(declares(&doc, method, path, status), "{method} {path} does not declare {status}");
                }
            }
        }
    }
    assert!(with_body > 20, "{with_body} operations with a body");
}

#[test]
fn path_parameters_are_in_the_path_template_and_query_parameters_in_the_query() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                match parameter["in"].as_str().unwrap() {
                    "path" => assert!(
                        path.contains(&placeholder),
                        "{method} {path}: path parameter {name} is not in the path"
                    ),
                    "query" | "header" => assert!(!path.contains(&placeholder), "{method} {path}: {name}"),
                    other => panic!("{method} {path}: {name} in {other}"),
                }
            }
        }
    }
    let audit = &doc["paths"]["/admin/v1/audit"]["get"]["parameters"];
    assert!(audit.as_array().unwrap().iter().any(|p| p["name"] == "limit" && p["in"] == "query"), "{audit}");
}
