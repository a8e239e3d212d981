//! The gateway policy file (TOML): trusted issuers and routes. Parsed and validated as a whole
//! (every problem listed); a file that fails validation never replaces the running policy.

use std::collections::HashSet;
use std::path::Path;

pub use tokengate_core::access::policy_document::{IssuerKindConfig, PolicyDocument, RouteConfig, IDENTITY_CLAIMS};
use tokengate_core::jws::JwsAlgorithm;

/// Problems that make a policy file unusable, all of them.
pub fn validate(policy: &PolicyDocument, base: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let s = &policy.settings;
    if !(0..=3600).contains(&s.clock_skew) {
        problems.push("settings.clock_skew must lie within 0..=3600".to_owned());
    }
    if !(1024..=256 * 1024).contains(&s.max_token_bytes) {
        problems.push("settings.max_token_bytes must lie within 1024..=262144".to_owned());
    }
    if s.upstream_timeout_seconds == 0 || s.connect_timeout_seconds == 0 {
        problems.push("settings timeouts must be at least 1 second".to_owned());
    }
    for (header, claim) in &s.identity_headers {
        if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            problems.push(format!("settings.identity_headers: '{header}' is not a header name"));
        }
        if !IDENTITY_CLAIMS.contains(&claim.as_str()) {
            problems.push(format!(
                "settings.identity_headers: unknown claim '{claim}' (one of {})",
                IDENTITY_CLAIMS.join(", ")
            ));
        }
    }

    let mut issuer_names = HashSet::new();
    for (i, issuer) in policy.issuers.iter().enumerate() {
        let at = format!("issuer #{} ({})", i + 1, issuer.name);
        if !issuer_names.insert(issuer.name.as_str()) {
            problems.push(format!("{at}: duplicate issuer name"));
        }
        match issuer.kind {
            IssuerKindConfig::Builtin => {
                if issuer.authority.is_some() || issuer.discovery_url.is_some() {
                    problems.push(format!("{at}: the builtin issuer takes no authority or discovery_url"));
                }
            }
            IssuerKindConfig::Entra => match &issuer.authority {
                None => problems.push(format!(
                    "{at}: kind = \"entra\" needs authority = \"https://login.microsoftonline.com/<tenant>\""
                )),
                Some(a) => {
                    if !a.starts_with("https://") {
                        problems.push(format!("{at}: authority must be https"));
                    }
                    let tenant = a.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                    if ["common", "organizations"].contains(&tenant)
                        && issuer.tenants.as_ref().is_none_or(|t| t.is_empty())
                    {
                        problems
                            .push(format!("{at}: a multi-tenant authority ({tenant}) needs a `tenants` allow-list"));
                    }
                }
            },
            IssuerKindConfig::Oidc => match &issuer.discovery_url {
                None => problems.push(format!("{at}: kind = \"oidc\" needs discovery_url")),
                Some(u) if !u.starts_with("https://") => problems.push(format!("{at}: discovery_url must be https")),
                Some(_) => {}
            },
        }
        if let Some(algs) = &issuer.algorithms {
            for a in algs {
                if JwsAlgorithm::parse(a).is_none() {
                    problems.push(format!(
                        "{at}: algorithm '{a}' is not supported (RS256, PS256, ES256; never HMAC or none)"
                    ));
                }
            }
        }
        if let Some(ca) = &issuer.ca_file {
            let path = if ca.is_absolute() { ca.clone() } else { base.join(ca) };
            if !path.is_file() {
                problems.push(format!("{at}: ca_file '{}' does not exist", path.display()));
            }
        }
        if issuer.refresh_seconds == 0 || issuer.max_key_age_seconds < issuer.refresh_seconds {
            problems.push(format!("{at}: need refresh_seconds >= 1 and max_key_age_seconds >= refresh_seconds"));
        }
    }

    let mut route_names = HashSet::new();
    for (i, route) in policy.routes.iter().enumerate() {
        let at = format!("route #{} ({})", i + 1, route.name);
        if !route_names.insert(route.name.as_str()) {
            problems.push(format!("{at}: duplicate route name"));
        }
        let matchers = [&route.path_prefix, &route.path, &route.path_pattern].iter().filter(|m| m.is_some()).count();
        if matchers != 1 {
            problems.push(format!("{at}: give exactly one of path_prefix, path, path_pattern"));
        }
        for p in [&route.path_prefix, &route.path, &route.path_pattern].into_iter().flatten() {
            if !p.starts_with('/') {
                problems.push(format!("{at}: paths start with '/' ('{p}')"));
            } else {
                // Requests are matched in normal form; a path that is not would never match.
                match tokengate_core::access::request_path::normalise(p) {
                    Ok(n) if n.path == *p && n.routing == *p => {}
                    Ok(n) => problems.push(format!("{at}: path '{p}' is not in normal form (write '{}')", n.routing)),
                    Err(e) => problems.push(format!("{at}: path '{p}' cannot be matched ({})", e.code())),
                }
            }
        }
        if let Some(p) = &route.path_pattern {
            if p.split('/').rev().skip(1).any(|seg| seg == "**") {
                problems.push(format!("{at}: '**' may only end a path_pattern"));
            }
        }
        for m in &route.methods {
            if axum::http::Method::from_bytes(m.as_bytes()).is_err() || m.to_ascii_uppercase() != *m {
                problems.push(format!("{at}: method '{m}' must be an upper-case HTTP method"));
            }
        }
        if route.upstream != "echo" {
            match route.upstream.parse::<axum::http::Uri>() {
                Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https" | "h2c")) && uri.host().is_some() => {
                    if uri.path() != "/" && !uri.path().is_empty() {
                        problems.push(format!("{at}: upstream takes no path ('{}')", route.upstream));
                    }
                }
                _ => problems.push(format!(
                    "{at}: upstream '{}' must be http://, https://, h2c://host:port or echo",
                    route.upstream
                )),
            }
        }
        match (&route.require, route.public) {
            (Some(_), true) => problems.push(format!("{at}: a public route takes no `require`")),
            (None, false) => problems.push(format!("{at}: needs `public = true` or a [route.require] table")),
            (Some(req), false) => {
                for p in req.problems() {
                    problems.push(format!("{at}: {p}"));
                }
                for name in &req.issuers {
                    if !issuer_names.contains(name.as_str()) {
                        problems.push(format!("{at}: unknown issuer '{name}'"));
                    }
                }
            }
            (None, true) => {}
        }
    }
    problems
}

/// A node's policy file as read: the declarative form it publishes (`policy_publishing`).
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub path: std::path::PathBuf,
    pub document: PolicyDocument,
    /// The text as written (kept with the version, comments included).
    pub text: String,
}

/// Reads and validates a policy file, keeping its text.
pub fn read(path: &Path) -> Result<PolicyFile, Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let document = parse(&text, path)?;
    Ok(PolicyFile { path: path.to_path_buf(), document, text })
}

/// Validates policy text that is (or is about to be) the content of `path`.
pub fn parse(text: &str, path: &Path) -> Result<PolicyDocument, Vec<String>> {
    let policy: PolicyDocument = toml::from_str(text).map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let problems = validate(&policy, path.parent().unwrap_or(Path::new(".")));
    if problems.is_empty() {
        Ok(policy)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed() {
        let text = r#"
            [[issuer]]
            name = "e"
            kind = "entra"
            authority = "http://login/common"
            algorithms = ["HS256"]

            [[issuer]]
            name = "e"
            kind = "oidc"

            [[route]]
            name = "r"
            path_prefix = "x"
            path = "/y"
            upstream = "ftp://x"
            methods = ["get"]

            [[route]]
            name = "s"
            path = "/s"
            upstream = "echo"
            [route.require]
            issuers = ["nope"]
            audiences = []
        "#;
        let policy: PolicyDocument = toml::from_str(text).unwrap();
        let problems = validate(&policy, Path::new("."));
        let all = problems.join("\n");
        for needle in [
            "must be https",
            "allow-list",
            "HS256",
            "duplicate issuer",
            "needs discovery_url",
            "exactly one",
            "start with '/'",
            "ftp://",
            "upper-case",
            "public = true",
            "unknown issuer",
            "audience",
        ] {
            assert!(all.contains(needle), "missing '{needle}' in:\n{all}");
        }
    }

    #[test]
    fn a_good_file_passes() {
        let text = r#"
            [[issuer]]
            name = "tokengate"
            kind = "builtin"
            [[route]]
            name = "orders"
            path_pattern = "/tenants/*/orders/**"
            methods = ["GET"]
            upstream = "http://127.0.0.1:9000"
            [route.require]
            issuers = ["tokengate"]
            audiences = ["api://orders"]
            roles_any = ["Orders.Read.All"]
            [[route]]
            name = "health"
            path = "/healthz"
            upstream = "echo"
            public = true
        "#;
        let policy: PolicyDocument = toml::from_str(text).unwrap();
        assert_eq!(validate(&policy, Path::new(".")), Vec::<String>::new());
    }
}
