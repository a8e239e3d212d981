//! The grants the token endpoint serves, parsed once from `grant_type`; each says which clients
//! may use it.

use tokengate_core::errors::codes;
use tokengate_core::grants::on_behalf_of::JWT_BEARER_GRANT;
use tokengate_core::OAuthError;

/// RFC 8628 §3.4.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
    OnBehalfOf,
}

/// Which clients a grant serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKinds {
    /// Only a client that proves itself with a secret or an assertion.
    Confidential,
    /// Also a public client naming itself by `client_id` (PKCE, the device code or the refresh
    /// token binds the request to it).
    PublicOrConfidential,
}

impl GrantType {
    pub fn parse(grant_type: &str) -> Result<GrantType, OAuthError> {
        match grant_type {
            "client_credentials" => Ok(GrantType::ClientCredentials),
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "refresh_token" => Ok(GrantType::RefreshToken),
            DEVICE_CODE_GRANT => Ok(GrantType::DeviceCode),
            JWT_BEARER_GRANT => Ok(GrantType::OnBehalfOf),
            _ => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                codes::UNSUPPORTED_GRANT,
                "The provided value for the input parameter 'grant_type' is not valid.",
            )),
        }
    }

    /// The grant's name in audit actions (`token.<name>`) and metrics.
    pub fn audit_name(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::DeviceCode => "device_code",
            GrantType::OnBehalfOf => "on_behalf_of",
        }
    }

    pub fn clients(self) -> ClientKinds {
        match self {
            GrantType::ClientCredentials | GrantType::OnBehalfOf => ClientKinds::Confidential,
            GrantType::AuthorizationCode | GrantType::RefreshToken | GrantType::DeviceCode => {
                ClientKinds::PublicOrConfidential
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_type_parses_once_and_others_are_unsupported() {
        for (wire, grant) in [
            ("client_credentials", GrantType::ClientCredentials),
            ("authorization_code", GrantType::AuthorizationCode),
            ("refresh_token", GrantType::RefreshToken),
            (DEVICE_CODE_GRANT, GrantType::DeviceCode),
            (JWT_BEARER_GRANT, GrantType::OnBehalfOf),
        ] {
            assert_eq!(GrantType::parse(wire).ok(), Some(grant), "{wire}");
        }
        for bad in ["password", "implicit", "Client_Credentials", "", "urn:ietf:params:oauth:grant-type:saml2-bearer"] {
            let e = GrantType::parse(bad).err().unwrap();
            assert_eq!((e.error, e.code), ("unsupported_grant_type", codes::UNSUPPORTED_GRANT), "{bad}");
        }
    }

    #[test]
    fn only_user_grants_serve_public_clients() {
        assert_eq!(GrantType::ClientCredentials.clients(), ClientKinds::Confidential);
        assert_eq!(GrantType::OnBehalfOf.clients(), ClientKinds::Confidential);
        assert_eq!(GrantType::RefreshToken.clients(), ClientKinds::PublicOrConfidential);
    }
}
