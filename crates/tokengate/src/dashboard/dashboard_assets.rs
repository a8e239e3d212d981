//! The dashboard's static files, compiled into the binary: its stylesheet, htmx and htmx's
//! server-sent-events extension (both vendored from npm, 0BSD; see assets/dashboard/README.md).

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const ASSETS: [(&str, &str, &[u8]); 3] = [
    ("dashboard.css", "text/css; charset=utf-8", include_bytes!("../../assets/dashboard/dashboard.css")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/dashboard/htmx.min.js")),
    ("sse.min.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/dashboard/sse.min.js")),
];

/// `GET /dashboard/assets/{name}`.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset\n").into_response();
    };
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The same binary serves the same bytes; an hour keeps a restart's update visible soon.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
