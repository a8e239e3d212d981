//! Matching a request to a route: host, then path (exact, prefix or pattern), then method, in
//! file order — the first route that matches wins. Unmatched requests get 404. Paths arrive
//! normalised (`request_path`) and match case-insensitively unless the route says
//! `case_sensitive = true` (ASP.NET and IIS upstreams ignore case).

use std::sync::Arc;

use axum::http::Method;
use tokengate_core::access::policy::Requirements;

use super::policy_file::RouteConfig;

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathMatcher {
    Exact(String),
    Prefix(String),
    Pattern(Vec<String>),
}

impl PathMatcher {
    fn lower_cased(&self) -> PathMatcher {
        match self {
            PathMatcher::Exact(p) => PathMatcher::Exact(p.to_ascii_lowercase()),
            PathMatcher::Prefix(p) => PathMatcher::Prefix(p.to_ascii_lowercase()),
            PathMatcher::Pattern(s) => PathMatcher::Pattern(s.iter().map(|p| p.to_ascii_lowercase()).collect()),
        }
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatcher::Exact(p) => path == p,
            PathMatcher::Prefix(p) => path.starts_with(p.as_str()),
            PathMatcher::Pattern(segments) => {
                let mut parts = path.split('/');
                for seg in segments {
                    if seg == "**" {
                        return true;
                    }
                    match parts.next() {
                        Some(part) if seg == "*" && !part.is_empty() => {}
                        Some(part) if part == seg => {}
                        _ => return false,
                    }
                }
                parts.next().is_none()
            }
        }
    }
}

/// Where a matched request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    Echo,
    Http { base: String, http2_only: bool },
}

#[derive(Debug)]
pub struct Route {
    pub name: Arc<str>,
    host: Option<String>,
    path: PathMatcher,
    /// Compared with the path as sent; otherwise both sides are ASCII-lower-cased.
    case_sensitive: bool,
    methods: Vec<Method>,
    pub upstream: Upstream,
    pub forward_token: bool,
    /// `None` for public routes.
    pub require: Option<Requirements>,
    /// WebSocket upgrades allowed (no other upgrade ever is).
    pub websocket: bool,
    /// Refused callers get every failing requirement in a problem body.
    pub explain_denials: bool,
}

#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Arc<Route>>,
}

impl RouteTable {
    pub fn compile(configs: &[RouteConfig]) -> RouteTable {
        let routes = configs
            .iter()
            .map(|c| {
                let exact_path = match (&c.path, &c.path_prefix, &c.path_pattern) {
                    (Some(p), _, _) => PathMatcher::Exact(p.clone()),
                    (_, Some(p), _) => PathMatcher::Prefix(p.clone()),
                    (_, _, Some(p)) => PathMatcher::Pattern(p.split('/').map(str::to_owned).collect()),
                    _ => PathMatcher::Exact(String::new()),
                };
                let path = if c.case_sensitive { exact_path } else { exact_path.lower_cased() };
                let upstream = if c.upstream == "echo" {
                    Upstream::Echo
                } else if let Some(rest) = c.upstream.strip_prefix("h2c://") {
                    Upstream::Http { base: format!("http://{}", rest.trim_end_matches('/')), http2_only: true }
                } else {
                    Upstream::Http { base: c.upstream.trim_end_matches('/').to_owned(), http2_only: false }
                };
                Arc::new(Route {
                    name: Arc::from(c.name.as_str()),
                    host: c.host.as_ref().map(|h| h.to_ascii_lowercase()),
                    path,
                    case_sensitive: c.case_sensitive,
                    methods: c.methods.iter().filter_map(|m| Method::from_bytes(m.as_bytes()).ok()).collect(),
                    upstream,
                    forward_token: c.forward_token,
                    require: if c.public { None } else { c.require.clone() },
                    websocket: c.websocket,
                    explain_denials: c.explain_denials,
                })
            })
            .collect();
        RouteTable { routes }
    }

    /// `host` without port, lower-case; `path` the normalised routing path.
    pub fn find(&self, host: Option<&str>, path: &str, method: &Method) -> Option<&Arc<Route>> {
        let lower = path.to_ascii_lowercase();
        self.routes.iter().find(|r| {
            r.host.as_deref().is_none_or(|h| Some(h) == host)
                && r.path.matches(if r.case_sensitive { path } else { &lower })
                && (r.methods.is_empty() || r.methods.contains(method))
        })
    }

    pub fn routes(&self) -> impl Iterator<Item = &Arc<Route>> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, f: impl FnOnce(&mut RouteConfig)) -> RouteConfig {
        let mut c = RouteConfig {
            name: name.into(),
            host: None,
            path_prefix: None,
            path: None,
            path_pattern: None,
            methods: vec![],
            upstream: "echo".into(),
            public: true,
            forward_token: false,
            require: None,
            case_sensitive: false,
            websocket: true,
            explain_denials: false,
        };
        f(&mut c);
        c
    }

    #[test]
    fn first_match_by_host_path_and_method() {
        let table = RouteTable::compile(&[
            route("exact", |c| c.path = Some("/health".into())),
            route("pattern", |c| c.path_pattern = Some("/t/*/orders/**".into())),
            route("one-seg", |c| c.path_pattern = Some("/items/*".into())),
            route("host", |c| {
                c.host = Some("API.example".into());
                c.path_prefix = Some("/".into());
                c.methods = vec!["GET".into()];
            }),
            route("fallback-post", |c| {
                c.path_prefix = Some("/".into());
                c.methods = vec!["POST".into()];
            }),
        ]);
        let name = |host: Option<&str>, path: &str, m: Method| table.find(host, path, &m).map(|r| r.name.to_string());
        assert_eq!(name(None, "/health", Method::GET).as_deref(), Some("exact"));
        assert_eq!(name(None, "/health/x", Method::GET), None);
        assert_eq!(name(None, "/t/abc/orders/1/2", Method::GET).as_deref(), Some("pattern"));
        assert_eq!(name(None, "/t/abc/orders", Method::GET).as_deref(), Some("pattern"));
        assert_eq!(name(None, "/t//orders/1", Method::GET), None, "* needs a non-empty segment");
        assert_eq!(name(None, "/items/7", Method::GET).as_deref(), Some("one-seg"));
        assert_eq!(name(None, "/items/7/8", Method::GET), None);
        assert_eq!(name(Some("api.example"), "/x", Method::GET).as_deref(), Some("host"));
        assert_eq!(name(Some("other"), "/x", Method::GET), None);
        assert_eq!(name(Some("other"), "/x", Method::POST).as_deref(), Some("fallback-post"));
    }

    #[test]
    fn paths_match_case_insensitively_unless_the_route_says_otherwise() {
        let table = RouteTable::compile(&[
            route("demo", |c| {
                c.path_prefix = Some("/Demo/".into());
                c.public = false;
            }),
            route("exact", |c| {
                c.path = Some("/Exact".into());
                c.case_sensitive = true;
            }),
            route("catch-all", |c| c.path_prefix = Some("/".into())),
        ]);
        let name = |path: &str| table.find(None, path, &Method::GET).map(|r| r.name.to_string());
        for p in ["/demo/x", "/DEMO/x", "/dEmO/x"] {
            assert_eq!(name(p).as_deref(), Some("demo"), "{p} must not slip through to the catch-all");
        }
        assert_eq!(name("/Exact").as_deref(), Some("exact"));
        assert_eq!(name("/exact").as_deref(), Some("catch-all"), "case_sensitive = true: the route's own choice");
    }
}
