//! The built-in echo upstream of `tokengate dev`: answers with what an upstream would have
//! received (method, path, query, headers after the gateway's rewriting), so the effect of a
//! policy can be seen without writing a service.

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response};

pub fn echo(request: &Request<Body>) -> Response<Body> {
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (k.as_str().to_owned(), serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
        })
        .collect();
    let body = serde_json::json!({
        "upstream": "tokengate echo",
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "query": request.uri().query(),
        "headers": headers,
    });
    let mut response = Response::new(Body::from(body.to_string()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
