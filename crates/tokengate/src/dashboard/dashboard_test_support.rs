//! Dashboard handler tests in process: the real admin API over a test store, sessions of an admin
//! and an auditor holding real access tokens of the built-in issuer, and requests as a browser
//! sends them (the session cookie, `Host`, `Origin`, forms with or without their anti-forgery
//! token). The issuer back channel is not reachable here: sign-in is covered end to end in the
//! browser tests (tests/interop/test_dashboard_browser.py).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;

use super::dashboard_sessions::SessionTokens;
use super::dashboard_state::{DashboardParts, DashboardState};
use crate::admin::api::admin_api_tests::{fixture_with, Fixture};
use crate::admin::api::AdminRole;
use crate::state::now;
use crate::test_support::{body_text, send, BASE_URL};

pub const PUBLIC_URL: &str = "http://127.0.0.1:8081";
pub const HOST: &str = "127.0.0.1:8081";

pub struct DashboardFixture {
    pub api: Fixture,
    pub state: Arc<DashboardState>,
    pub router: Router,
    /// Session cookie values.
    pub admin: String,
    pub auditor: String,
}

/// A page's answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

pub async fn fixture() -> DashboardFixture {
    let api = fixture_with(|_| None).await;
    let api_router = crate::admin::api::router(api.state.clone());
    let state = Arc::new(DashboardState::new(DashboardParts {
        api: api_router,
        issuer: Router::new(),
        issuer_url: BASE_URL.into(),
        tenant_id: api.dir.tenant.id,
        client_id: uuid::Uuid::new_v4(),
        admin_api_uri: "api://tokengate-admin".into(),
        public_url: PUBLIC_URL.into(),
    }));
    let session = |token: &str, role: AdminRole, name: &str| {
        let tokens =
            SessionTokens { access_token: token.to_owned(), access_expires: now() + 3_600, refresh_token: None };
        state.sessions.create(name.into(), format!("{name}@test"), role, tokens, now()).id.clone()
    };
    let admin = session(&api.admin, AdminRole::Admin, "Ada Admin");
    let auditor = session(&api.auditor, AdminRole::Auditor, "Otto Auditor");
    let router = super::router(state.clone());
    DashboardFixture { api, state, router, admin, auditor }
}

impl DashboardFixture {
    pub fn cookie(&self, session: &str) -> String {
        format!("{}={session}", self.state.session_cookie_name())
    }

    pub fn csrf(&self, session: &str) -> String {
        self.state.csrf_token(session)
    }

    /// `GET path` as the browser holding `session` (`None`: signed out).
    pub async fn get(&self, path: &str, session: Option<&str>) -> Answer {
        let mut request = Request::builder().method(Method::GET).uri(path).header(header::HOST, HOST);
        if let Some(s) = session {
            request = request.header(header::COOKIE, self.cookie(s));
        }
        self.answer(request.body(Body::empty()).unwrap()).await
    }

    /// A form post from the dashboard's own page: same origin, with the session's token.
    pub async fn post(&self, path: &str, session: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf(session);
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, Some(session), &all, Some(PUBLIC_URL)).await
    }

    /// A form post exactly as given: which session, which fields (no token added), which `Origin`.
    pub async fn post_raw(
        &self,
        path: &str,
        session: Option<&str>,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(s) = session {
            request = request.header(header::COOKIE, self.cookie(s));
        }
        if let Some(o) = origin {
            request = request.header(header::ORIGIN, o);
        }
        self.answer(request.body(Body::from(body)).unwrap()).await
    }

    /// The one-time message the session will see on its next page.
    pub fn flash(&self, session: &str) -> Option<String> {
        self.state.sessions.find(session, now()).and_then(|s| s.take_flash()).map(|f| f.text)
    }

    async fn answer(&self, request: Request<Body>) -> Answer {
        let response = send(self.router.clone(), request).await;
        let status = response.status();
        let headers = response.headers().clone();
        Answer { status, headers, body: body_text(response).await }
    }
}
