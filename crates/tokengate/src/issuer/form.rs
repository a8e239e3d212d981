//! Strict `application/x-www-form-urlencoded` parsing for OAuth endpoints (RFC 6749 §3.2:
//! "parameters MUST NOT be included more than once"): bounded size, unique names, valid UTF-8.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, Limited};
use tokengate_core::errors::codes;
use tokengate_core::OAuthError;

/// Reads a request body as a form: the media type must say so, the size is bounded.
pub async fn read_form(headers: &HeaderMap, body: Body) -> Result<Form, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            codes::MALFORMED_REQUEST,
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let bytes = Limited::new(body, MAX_FORM_BYTES)
        .collect()
        .await
        .map_err(|_| {
            OAuthError::invalid_request(codes::MALFORMED_REQUEST, "The request body is too large or was cut off.")
        })?
        .to_bytes();
    Form::parse(&bytes)
}

/// Upper bound on a token request body. Real requests are < 8 KB (a client assertion with an
/// `x5c` chain is the largest).
pub const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct Form {
    params: HashMap<String, String>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        if body.len() > MAX_FORM_BYTES {
            return Err(OAuthError::invalid_request(codes::MALFORMED_REQUEST, "The request body is too large."));
        }
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::invalid_request(
                codes::MALFORMED_REQUEST,
                "The request body must be UTF-8 form data.",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if name.is_empty() {
                continue;
            }
            if params.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(
                    codes::DUPLICATE_PARAMETER,
                    format!("The request contains the parameter '{}' more than once.", printable(&name)),
                ));
            }
        }
        Ok(Form { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(OAuthError::invalid_request(
                codes::MISSING_PARAMETER,
                format!("The request body must contain the following parameter: '{name}'."),
            )),
        }
    }
}

/// A parameter name safe to echo: bounded and printable.
fn printable(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_duplicates() {
        let f = Form::parse(b"grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default").unwrap();
        assert_eq!(f.get("scope"), Some("api://x/.default"));
        assert_eq!(f.require("client_id").unwrap_err().code, codes::MISSING_PARAMETER);
        let e = Form::parse(b"client_id=a&client_id=b").unwrap_err();
        assert_eq!((e.status, e.error, e.code), (400, "invalid_request", codes::DUPLICATE_PARAMETER));
        assert!(Form::parse(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
        assert!(Form::parse(&[0xff, 0xfe]).is_err());
    }
}
