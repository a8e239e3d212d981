//! Scope parameter handling (RFC 6749 §3.3 with Entra's `/.default` convention).

use crate::errors::{codes, OAuthError};

/// OpenID Connect scopes that name no resource.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The resource identifier named by a client-credentials `scope`: exactly one
/// `{resource}/.default`, OIDC scopes ignored.
pub fn client_credentials_resource(scope: &str) -> Result<String, OAuthError> {
    let mut resources: Vec<&str> = Vec::new();
    for item in scope.split(' ').filter(|s| !s.is_empty()) {
        if OIDC_SCOPES.contains(&item) {
            continue;
        }
        let Some(resource) = item.strip_suffix("/.default") else {
            return Err(OAuthError::invalid_scope(
                codes::CC_SCOPE_WITHOUT_DEFAULT,
                format!("The provided value for scope {item} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."),
            ));
        };
        if resource.is_empty() {
            return Err(OAuthError::invalid_scope(
                codes::INVALID_SCOPE,
                "The provided value for the input parameter 'scope' is not valid.",
            ));
        }
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    match resources.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(OAuthError::invalid_scope(codes::INVALID_SCOPE, "The provided value for the input parameter 'scope' is not valid.")),
        _ => Err(OAuthError::invalid_scope(
            codes::MULTIPLE_RESOURCES,
            "The provided value for the input parameter 'scope' is not valid because it contains more than one resource.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_default_scope() {
        assert_eq!(client_credentials_resource("api://x/.default").unwrap(), "api://x");
        assert_eq!(client_credentials_resource("api://x/.default openid").unwrap(), "api://x");
        assert_eq!(client_credentials_resource("api://x/.default api://x/.default").unwrap(), "api://x");
    }

    #[test]
    fn rejects_like_entra() {
        assert_eq!(client_credentials_resource("api://x/read").unwrap_err().code, codes::CC_SCOPE_WITHOUT_DEFAULT);
        assert_eq!(
            client_credentials_resource("api://x/.default api://y/.default").unwrap_err().code,
            codes::MULTIPLE_RESOURCES
        );
        assert_eq!(client_credentials_resource("").unwrap_err().code, codes::INVALID_SCOPE);
        assert_eq!(client_credentials_resource("/.default").unwrap_err().code, codes::INVALID_SCOPE);
    }
}
