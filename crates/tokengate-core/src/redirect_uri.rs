//! Redirect URI matching, exactly as registered (Entra: AADSTS50011 otherwise). The one exception
//! is RFC 8252 §7.3: native public clients listen on a loopback port chosen at run time, so for
//! `PublicClient` registrations on `http://localhost` / `127.0.0.1` / `[::1]` the port may differ.
//! Nothing else is forgiven: case, trailing slash, dot segments, query, fragment, userinfo.

use crate::directory::{AppRegistration, RedirectPlatform, RedirectUri};

/// The registration `presented` matches, if any.
pub fn registered_redirect<'a>(app: &'a AppRegistration, presented: &str) -> Option<&'a RedirectUri> {
    if presented.contains('#') || presented.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    if let Some(exact) = app.redirect_uris.iter().find(|r| r.uri == presented) {
        return Some(exact);
    }
    let presented_loopback = loopback_without_port(presented)?;
    app.redirect_uris.iter().find(|r| {
        r.platform == RedirectPlatform::PublicClient
            && loopback_without_port(&r.uri).as_deref() == Some(&presented_loopback)
    })
}

/// `http://{loopback host}{path}` with the port removed, for loopback http URIs only.
fn loopback_without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
    if path.split(['/', '?']).any(|segment| segment == ".." || segment == ".") {
        return None;
    }
    let (host, port) = match authority.strip_prefix("[::1]") {
        Some(after) => ("[::1]", after),
        None => authority.find(':').map_or((authority, ""), |i| (&authority[..i], &authority[i..])),
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && matches!(host, "localhost" | "127.0.0.1" | "[::1]")).then(|| format!("http://{host}{path}"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::directory::SignInAudience;
    use uuid::Uuid;

    /// An app with one redirect URI (other modules' tests build on it).
    pub(crate) fn app(platform: RedirectPlatform, uri: &str) -> AppRegistration {
        AppRegistration {
            app_id: Uuid::from_u128(1),
            tenant_id: Uuid::from_u128(2),
            display_name: "a".into(),
            identifier_uris: vec![],
            sign_in_audience: SignInAudience::AzureADMyOrg,
            access_token_accepted_version: Some(2),
            scopes: vec![],
            app_roles: vec![],
            redirect_uris: vec![RedirectUri { platform, uri: uri.into() }],
            is_public_client: platform == RedirectPlatform::PublicClient,
            single_use_client_assertions: false,
            entra_compatible_refresh_tokens: false,
            group_membership_claims: false,
            required_resource_access: vec![],
            created_at: 0,
        }
    }

    #[test]
    fn exact_match_only_for_web() {
        let a = app(RedirectPlatform::Web, "https://app.example/callback");
        assert!(registered_redirect(&a, "https://app.example/callback").is_some());
        for bad in [
            "https://app.example/callback/",
            "https://APP.example/callback",
            "https://app.example/Callback",
            "https://app.example/callback/../evil",
            "https://app.example/callback?x=1",
            "https://app.example/callback#f",
            "https://good@app.example/callback",
            "https://app.example@evil.example/callback",
            "http://app.example/callback",
            "https://app.example:8443/callback",
            "https://app.example/callback\n",
        ] {
            assert!(registered_redirect(&a, bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn loopback_port_variance_only_for_public_clients() {
        let public = app(RedirectPlatform::PublicClient, "http://localhost");
        assert!(registered_redirect(&public, "http://localhost").is_some());
        assert!(registered_redirect(&public, "http://localhost:51234").is_some());
        assert!(registered_redirect(&public, "http://localhost:51234/x").is_none(), "path must match");
        assert!(registered_redirect(&public, "http://127.0.0.1:51234").is_none(), "host must match");
        assert!(registered_redirect(&public, "http://localhost:51234@evil.example").is_none());
        assert!(registered_redirect(&public, "http://localhost.evil.example:5").is_none());
        assert!(registered_redirect(&public, "https://localhost:51234").is_none());
        let web = app(RedirectPlatform::Web, "http://localhost:3000/cb");
        assert!(registered_redirect(&web, "http://localhost:3001/cb").is_none(), "web apps: exact");
    }
}
