//! RFC 6750 §2: a request carries its bearer token one way only. A form-encoded body with an
//! `access_token` parameter next to an `Authorization` header is refused (an upstream that reads
//! the body token would act for an identity the gateway never checked). Only form bodies are
//! read, bounded; every other body streams untouched.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokengate_core::access::Rejection;

/// Largest form body the gateway reads to look for a token; larger ones get 413.
pub const MAX_FORM_BODY_BYTES: usize = 1024 * 1024;

/// Why a form body was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FormBodyRefusal {
    /// `access_token` in the body as well as in the header: 400 `invalid_request`.
    TokenInBody(Rejection),
    /// Over `MAX_FORM_BODY_BYTES`: 413.
    TooLarge,
    /// The client's body broke off or was malformed (bad chunking, truncated): 400.
    ClientBody,
}

/// `Content-Type: application/x-www-form-urlencoded` (parameters and case ignored).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_TYPE).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
        })
    })
}

/// Hands back the request (its body buffered if it was a form) unless the form carries
/// `access_token`. Call only when the request carries an `Authorization` bearer token.
pub async fn refuse_token_in_form_body(request: Request<Body>, limit: usize) -> Result<Request<Body>, FormBodyRefusal> {
    if !is_form(request.headers()) {
        return Ok(request);
    }
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(FormBodyRefusal::TooLarge),
        Err(_) => return Err(FormBodyRefusal::ClientBody),
    };
    if form_urlencoded::parse(&bytes).any(|(name, _)| name == "access_token") {
        return Err(FormBodyRefusal::TokenInBody(Rejection::TokenInBodyAndHeader));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &'static str, content_type: &str) -> Request<Body> {
        Request::builder().method("POST").header("content-type", content_type).body(Body::from(body)).unwrap()
    }

    #[tokio::test]
    async fn token_in_a_form_body_is_refused_and_other_bodies_pass() {
        let urlenc = "application/x-www-form-urlencoded";
        for body in ["access_token=abc", "a=1&access_token=", "a=1&access%5Ftoken=x"] {
            let r = refuse_token_in_form_body(form(body, urlenc), 1024).await;
            assert_eq!(r.err(), Some(FormBodyRefusal::TokenInBody(Rejection::TokenInBodyAndHeader)), "{body}");
        }
        let r = refuse_token_in_form_body(
            form("access_token=abc", "Application/X-WWW-Form-Urlencoded; charset=utf-8"),
            1024,
        );
        assert!(r.await.is_err(), "media type is case-insensitive, parameters ignored");

        let passed = refuse_token_in_form_body(form("a=1&my_access_token=2", urlenc), 1024).await.unwrap();
        let bytes = passed.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"a=1&my_access_token=2", "the body reaches the upstream unchanged");

        // Not a form: not read at all (a JSON body may mention access_token freely).
        let json = refuse_token_in_form_body(form(r#"{"access_token":"x"}"#, "application/json"), 4).await;
        assert!(json.is_ok());
        let big = refuse_token_in_form_body(form("a=0123456789", urlenc), 4).await;
        assert_eq!(big.err(), Some(FormBodyRefusal::TooLarge));
    }
}
