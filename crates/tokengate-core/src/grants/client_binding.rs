//! Whether redeeming a code or refresh token needs client credentials. Entra decides by the
//! platform of the redirect URI the code was issued to — not by the app as a whole — so a hybrid
//! app (secret + web redirect + SPA or mobile redirect) still needs its secret for what its web
//! redirect received, and the refresh-token family carries that decision.

use serde::{Deserialize, Serialize};

use crate::client_auth::ClientAuthMethod;
use crate::directory::{AppRegistration, RedirectPlatform};
use crate::errors::{codes, OAuthError};
use crate::redirect_uri::registered_redirect;

/// How a code and its refresh-token family must be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientBinding {
    /// A web redirect of a confidential client: client credentials on every redemption.
    Confidential,
    /// A single-page-app redirect: no secret, but only cross-origin (browser) requests.
    Spa,
    /// A mobile/desktop redirect, or an app that allows public client flows: no secret.
    Public,
}

impl ClientBinding {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientBinding::Confidential => "confidential",
            ClientBinding::Spa => "spa",
            ClientBinding::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "confidential" => Some(ClientBinding::Confidential),
            "spa" => Some(ClientBinding::Spa),
            "public" => Some(ClientBinding::Public),
            _ => None,
        }
    }

    /// A code answered to a redirect URI of `platform`.
    pub fn for_redirect(platform: RedirectPlatform, app: &AppRegistration) -> Self {
        match platform {
            RedirectPlatform::Spa => ClientBinding::Spa,
            RedirectPlatform::PublicClient => ClientBinding::Public,
            // "Allow public client flows" (isFallbackPublicClient) lets a web redirect go without a secret.
            RedirectPlatform::Web if app.is_public_client => ClientBinding::Public,
            RedirectPlatform::Web => ClientBinding::Confidential,
        }
    }

    /// A code stored before its platform was recorded: the platform its redirect URI is
    /// registered with now; an unregistered one needs credentials.
    pub fn for_legacy_code(redirect_uri: &str, app: &AppRegistration) -> Self {
        registered_redirect(app, redirect_uri)
            .map_or(ClientBinding::Confidential, |r| ClientBinding::for_redirect(r.platform, app))
    }

    /// A family started before its binding was recorded: credentials whenever the app has a web
    /// redirect and does not allow public client flows (the safe reading for hybrid apps).
    pub fn for_legacy_family(app: &AppRegistration) -> Self {
        let web = app.redirect_uris.iter().any(|r| r.platform == RedirectPlatform::Web);
        if web && !app.is_public_client {
            ClientBinding::Confidential
        } else {
            ClientBinding::Public
        }
    }

    /// A sign-in with no redirect URI (device code, on-behalf-of): as the client authenticated.
    pub fn for_client_auth(client_auth: ClientAuthMethod) -> Self {
        if client_auth == ClientAuthMethod::Public {
            ClientBinding::Public
        } else {
            ClientBinding::Confidential
        }
    }

    /// Refuses a redemption that does not authenticate the client as this binding asks.
    /// `origin` is the request's `Origin` header (browsers send it on cross-origin requests).
    pub fn check(self, client_auth: ClientAuthMethod, origin: Option<&str>) -> Result<(), OAuthError> {
        match self {
            ClientBinding::Confidential if client_auth == ClientAuthMethod::Public => Err(OAuthError::invalid_client(
                codes::NO_CLIENT_CREDENTIAL,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )),
            ClientBinding::Spa if origin.is_none_or(str::is_empty) => Err(OAuthError::invalid_request(
                codes::SPA_CROSS_ORIGIN_ONLY,
                "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::RedirectUri;
    use uuid::Uuid;

    fn hybrid(is_public_client: bool) -> AppRegistration {
        let mut app = crate::redirect_uri::tests::app(RedirectPlatform::Web, "https://app.example/cb");
        app.app_id = Uuid::new_v4();
        app.is_public_client = is_public_client;
        app.redirect_uris.push(RedirectUri { platform: RedirectPlatform::Spa, uri: "http://localhost:3000".into() });
        app.redirect_uris
            .push(RedirectUri { platform: RedirectPlatform::PublicClient, uri: "http://localhost".into() });
        app
    }

    #[test]
    fn the_redirect_platform_decides_not_the_app() {
        let app = hybrid(false);
        assert_eq!(ClientBinding::for_redirect(RedirectPlatform::Web, &app), ClientBinding::Confidential);
        assert_eq!(ClientBinding::for_redirect(RedirectPlatform::Spa, &app), ClientBinding::Spa);
        assert_eq!(ClientBinding::for_redirect(RedirectPlatform::PublicClient, &app), ClientBinding::Public);
        assert_eq!(ClientBinding::for_redirect(RedirectPlatform::Web, &hybrid(true)), ClientBinding::Public);
        assert_eq!(ClientBinding::for_legacy_code("https://app.example/cb", &app), ClientBinding::Confidential);
        assert_eq!(ClientBinding::for_legacy_code("http://localhost:3000", &app), ClientBinding::Spa);
        assert_eq!(ClientBinding::for_legacy_code("http://localhost:5555", &app), ClientBinding::Public);
        assert_eq!(ClientBinding::for_legacy_code("https://gone.example/cb", &app), ClientBinding::Confidential);
        assert_eq!(ClientBinding::for_legacy_family(&app), ClientBinding::Confidential);
        assert_eq!(ClientBinding::for_legacy_family(&hybrid(true)), ClientBinding::Public);
    }

    #[test]
    fn checks_credentials_and_origin() {
        let public = ClientAuthMethod::Public;
        let secret = ClientAuthMethod::Secret;
        let e = ClientBinding::Confidential.check(public, Some("https://app.example")).unwrap_err();
        assert_eq!((e.status, e.error, e.code), (401, "invalid_client", codes::NO_CLIENT_CREDENTIAL));
        assert!(ClientBinding::Confidential.check(secret, None).is_ok());
        let e = ClientBinding::Spa.check(public, None).unwrap_err();
        assert_eq!((e.status, e.error, e.code), (400, "invalid_request", codes::SPA_CROSS_ORIGIN_ONLY));
        assert!(ClientBinding::Spa.check(public, Some("")).is_err());
        assert!(ClientBinding::Spa.check(public, Some("http://localhost:3000")).is_ok());
        assert!(ClientBinding::Public.check(public, None).is_ok());
        for b in [ClientBinding::Confidential, ClientBinding::Spa, ClientBinding::Public] {
            assert_eq!(ClientBinding::parse(b.as_str()), Some(b));
        }
        assert_eq!(ClientBinding::parse("web"), None);
    }
}
