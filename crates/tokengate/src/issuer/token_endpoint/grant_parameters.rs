//! Each grant's own parameters, read from the form once, before the client authenticates
//! (a request missing what its grant needs is `invalid_request` whoever sends it).

use tokengate_core::errors::codes;
use tokengate_core::grants::authorization_code::CodeRequest;
use tokengate_core::grants::client_credentials::ResourceParameter;
use tokengate_core::grants::refresh_token::RefreshRequest;
use tokengate_core::OAuthError;

use super::grant_type::GrantType;
use super::Endpoint;
use crate::issuer::form::Form;

pub enum GrantParameters<'f> {
    ClientCredentials(ResourceParameter<'f>),
    AuthorizationCode(CodeRequest<'f>),
    RefreshToken(RefreshRequest<'f>),
    DeviceCode { device_code: &'f str },
    OnBehalfOf { assertion: &'f str, scope: &'f str },
}

impl<'f> GrantParameters<'f> {
    pub fn read(grant: GrantType, endpoint: Endpoint, form: &'f Form) -> Result<GrantParameters<'f>, OAuthError> {
        Ok(match grant {
            GrantType::ClientCredentials => GrantParameters::ClientCredentials(match endpoint {
                Endpoint::V2 => {
                    if form.get("resource").is_some() {
                        return Err(OAuthError::invalid_request(
                            codes::RESOURCE_ON_V2,
                            "The 'resource' request parameter is not supported.",
                        ));
                    }
                    ResourceParameter::Scope(form.require("scope")?)
                }
                Endpoint::V1 => ResourceParameter::Resource(form.require("resource")?),
            }),
            GrantType::AuthorizationCode => GrantParameters::AuthorizationCode(CodeRequest {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri"),
                code_verifier: form.get("code_verifier"),
            }),
            GrantType::RefreshToken => GrantParameters::RefreshToken(RefreshRequest {
                refresh_token: form.require("refresh_token")?,
                scope: form.get("scope"),
            }),
            // MSAL sends the device code as `device_code` and again as `code`.
            GrantType::DeviceCode => GrantParameters::DeviceCode {
                device_code: form.get("device_code").or_else(|| form.get("code")).ok_or_else(|| {
                    OAuthError::invalid_request(
                        codes::MISSING_PARAMETER,
                        "The request body must contain the following parameter: 'device_code'.",
                    )
                })?,
            },
            GrantType::OnBehalfOf => {
                if form.get("requested_token_use") != Some("on_behalf_of") {
                    return Err(OAuthError::invalid_request(
                        codes::MALFORMED_REQUEST,
                        "The jwt-bearer grant needs requested_token_use=on_behalf_of.",
                    ));
                }
                GrantParameters::OnBehalfOf { assertion: form.require("assertion")?, scope: form.require("scope")? }
            }
        })
    }

    /// The `scope` a client-credentials request asked for (its v2 answer repeats it).
    pub fn requested_scope(&self) -> Option<&'f str> {
        match self {
            GrantParameters::ClientCredentials(ResourceParameter::Scope(scope)) => Some(scope),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(grant: GrantType, endpoint: Endpoint, body: &str) -> Result<(), OAuthError> {
        let form = Form::parse(body.as_bytes()).unwrap();
        GrantParameters::read(grant, endpoint, &form).map(|_| ())
    }

    #[test]
    fn each_grant_names_what_it_misses() {
        let missing = |grant, body: &str| read(grant, Endpoint::V2, body).err().unwrap().code;
        assert_eq!(missing(GrantType::ClientCredentials, "a=1"), codes::MISSING_PARAMETER);
        assert_eq!(missing(GrantType::AuthorizationCode, "redirect_uri=x"), codes::MISSING_PARAMETER);
        assert_eq!(missing(GrantType::RefreshToken, "scope=x"), codes::MISSING_PARAMETER);
        assert_eq!(missing(GrantType::DeviceCode, "a=1"), codes::MISSING_PARAMETER);
        assert_eq!(missing(GrantType::OnBehalfOf, "assertion=a&scope=s"), codes::MALFORMED_REQUEST);
        assert_eq!(
            missing(GrantType::OnBehalfOf, "requested_token_use=on_behalf_of&scope=s"),
            codes::MISSING_PARAMETER
        );
        assert!(read(GrantType::DeviceCode, Endpoint::V2, "code=abc").is_ok(), "MSAL's second spelling");
    }

    #[test]
    fn client_credentials_speaks_scope_on_v2_and_resource_on_v1() {
        let v2 = read(GrantType::ClientCredentials, Endpoint::V2, "scope=api://x/.default&resource=api://x");
        assert_eq!(v2.err().unwrap().code, codes::RESOURCE_ON_V2);
        assert!(read(GrantType::ClientCredentials, Endpoint::V1, "resource=api://x").is_ok());
        assert_eq!(
            read(GrantType::ClientCredentials, Endpoint::V1, "scope=api://x/.default").err().unwrap().code,
            codes::MISSING_PARAMETER
        );
    }
}
