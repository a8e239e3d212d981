//! Pulls the client id and its one credential out of a token request: HTTP Basic (RFC 6749
//! §2.3.1, values form-encoded inside base64), `client_secret` in the body, or a client
//! assertion. Two credentials at once, or two different client ids, is `invalid_request`.

use axum::http::{header, HeaderMap};
use tokengate_core::client_auth::PresentedCredential;
use tokengate_core::encoding::b64_decode;
use tokengate_core::errors::codes;
use tokengate_core::OAuthError;

use super::form::Form;

pub struct PresentedClient {
    pub client_id: String,
    pub credential: PresentedCredential,
}

pub fn presented_client(headers: &HeaderMap, form: &Form) -> Result<PresentedClient, OAuthError> {
    let basic = basic_credentials(headers)?;
    let form_secret = form.get("client_secret").filter(|s| !s.is_empty());
    let assertion = form.get("client_assertion").filter(|s| !s.is_empty());
    let assertion_type = form.get("client_assertion_type").filter(|s| !s.is_empty());

    let count = usize::from(basic.is_some()) + usize::from(form_secret.is_some()) + usize::from(assertion.is_some());
    if count > 1 {
        return Err(OAuthError::invalid_request(
            codes::TWO_CREDENTIALS,
            "Only one client authentication method may be used: client_secret (body or HTTP Basic) or client_assertion.",
        ));
    }
    let form_client_id = form.get("client_id").filter(|s| !s.is_empty());
    let client_id = match (&basic, form_client_id) {
        (Some((id, _)), Some(form_id)) if id != form_id => {
            return Err(OAuthError::invalid_request(
                codes::MALFORMED_REQUEST,
                "The client_id in the body differs from the one in the Authorization header.",
            ))
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(id)) => id.to_owned(),
        (None, None) => {
            return Err(OAuthError::invalid_request(
                codes::MISSING_PARAMETER,
                "The request body must contain the following parameter: 'client_id'.",
            ))
        }
    };
    let credential = if let Some((_, secret)) = basic {
        PresentedCredential::Secret(secret)
    } else if let Some(secret) = form_secret {
        PresentedCredential::Secret(secret.to_owned())
    } else if let Some(assertion) = assertion {
        PresentedCredential::Assertion {
            assertion_type: assertion_type.unwrap_or_default().to_owned(),
            assertion: assertion.to_owned(),
        }
    } else {
        PresentedCredential::None
    };
    Ok(PresentedClient { client_id, credential })
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_request(codes::MALFORMED_REQUEST, "The Authorization header is malformed.");
    if values.next().is_some() {
        return Err(malformed());
    }
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, rest) = text.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = b64_decode(rest.trim()).ok_or_else(malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes()).map(|(_, v)| v.into_owned()).next().unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use tokengate_core::encoding::b64;

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", b64(format!("{id}:{secret}")));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&v).unwrap());
        h
    }

    #[test]
    fn basic_values_are_form_decoded() {
        let form = Form::parse(b"grant_type=client_credentials").unwrap();
        let p = presented_client(&basic("abc", "a%2Bb%7E"), &form).unwrap();
        assert_eq!(p.client_id, "abc");
        assert!(matches!(p.credential, PresentedCredential::Secret(ref s) if s == "a+b~"));
    }

    #[test]
    fn two_credentials_or_ids_are_invalid_request() {
        let form = Form::parse(b"client_id=abc&client_secret=s").unwrap();
        assert_eq!(presented_client(&basic("abc", "s"), &form).err().unwrap().code, codes::TWO_CREDENTIALS);
        let form = Form::parse(b"client_id=abc&client_secret=s&client_assertion=x").unwrap();
        assert_eq!(presented_client(&HeaderMap::new(), &form).err().unwrap().code, codes::TWO_CREDENTIALS);
        let form = Form::parse(b"client_id=other").unwrap();
        assert_eq!(presented_client(&basic("abc", "s"), &form).err().unwrap().error, "invalid_request");
        let form = Form::parse(b"client_secret=s").unwrap();
        assert_eq!(presented_client(&HeaderMap::new(), &form).err().unwrap().code, codes::MISSING_PARAMETER);
    }
}
