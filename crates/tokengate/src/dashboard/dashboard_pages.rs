//! How every dashboard page is framed and answered: the shared layout (navigation, who is
//! signed in, the one-time message), the security headers, and the one error type of the
//! dashboard's handlers, rendered as a page a person can act on.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::admin_calls::ApiFailure;
use super::dashboard_sessions::{Flash, FlashKind};
use super::dashboard_state::DashboardState;
use super::signed_in::SignedIn;
use crate::web::html_response::{html_with_csp, see_other};

/// The navigation's sections, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Policies,
    Debugger,
    Apps,
    Directory,
    Revocations,
    Keys,
    Audit,
}

/// One navigation link.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

const NAV: [(Section, &str, &str); 8] = [
    (Section::Overview, "/dashboard/", "Overview"),
    (Section::Policies, "/dashboard/policies", "Routes & policies"),
    (Section::Debugger, "/dashboard/debugger", "Token debugger"),
    (Section::Apps, "/dashboard/apps", "Apps"),
    (Section::Directory, "/dashboard/users", "Users & groups"),
    (Section::Revocations, "/dashboard/revocations", "Revocations"),
    (Section::Keys, "/dashboard/keys", "Keys"),
    (Section::Audit, "/dashboard/audit", "Audit log"),
];

/// What the layout template shows around every page's content.
pub struct Layout {
    pub title: String,
    pub nav: Vec<NavLink>,
    pub user_name: String,
    pub user_principal_name: String,
    pub role_label: &'static str,
    /// False for an auditor: write controls are not rendered (and refused if posted).
    pub can_write: bool,
    /// The anti-forgery token every form carries as `csrf`.
    pub csrf: String,
    pub flash: Option<Flash>,
}

impl Layout {
    pub fn new(signed_in: &SignedIn, title: impl Into<String>, section: Section) -> Layout {
        let session = &signed_in.session;
        Layout {
            title: title.into(),
            nav: NAV.iter().map(|(s, href, label)| NavLink { href, label, current: *s == section }).collect(),
            user_name: session.user_name.clone(),
            user_principal_name: session.user_principal_name.clone(),
            role_label: if session.can_write() { "Admin" } else { "Auditor (read only)" },
            can_write: session.can_write(),
            csrf: signed_in.csrf.clone(),
            flash: session.take_flash(),
        }
    }

    pub fn flash_class(&self) -> &'static str {
        self.flash.as_ref().map_or("", |f| f.kind.css_class())
    }
}

/// A page with the dashboard's headers: no framing, no caching, its CSP.
pub fn page(state: &DashboardState, status: StatusCode, template: &impl Template) -> Response {
    html_with_csp(status, template, &state.csp)
}

/// After a successful form: the one-time message, then `303` to `location` (a reload never
/// re-posts the form).
pub fn done(signed_in: &SignedIn, message: impl Into<String>, location: &str) -> Response {
    signed_in.session.set_flash(FlashKind::Done, message);
    see_other(location)
}

/// After a failed form: the API's reason as the one-time message, then back to `location`.
pub fn failed(signed_in: &SignedIn, failure: &ApiFailure, location: &str) -> Response {
    signed_in.session.set_flash(FlashKind::Failed, failure.message.clone());
    see_other(location)
}

/// Why a dashboard request could not be answered with its page.
#[derive(Debug)]
pub enum DashboardError {
    /// The admin API refused or failed; its words are shown.
    Api(ApiFailure),
    /// The request itself is wrong (a bad form value, an unknown id).
    BadRequest(String),
    /// A write by someone who may only read, or a form without its anti-forgery token.
    Forbidden(String),
    NotFound(String),
    /// Signing in did not finish; says what to do.
    SignIn(String),
    /// The dashboard cannot run on this node (not configured); says how to fix it.
    Unavailable(String),
    /// Signed in at the issuer as someone holding no admin role: offers signing out there, so
    /// another account can sign in (the SSO session would otherwise sign the same one in again).
    NoAdminRole {
        message: String,
        sign_out_url: String,
    },
}

impl From<ApiFailure> for DashboardError {
    fn from(f: ApiFailure) -> Self {
        DashboardError::Api(f)
    }
}

#[derive(Template)]
#[template(path = "dashboard/problem.html")]
struct ProblemPage<'a> {
    title: &'a str,
    message: &'a str,
    sign_in_link: bool,
    sign_out_url: Option<&'a str>,
}

impl DashboardError {
    fn parts(&self) -> (StatusCode, &'static str, &str) {
        match self {
            DashboardError::Api(f) => {
                let title = match f.status {
                    StatusCode::FORBIDDEN => "Not allowed",
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::UNAUTHORIZED => "Signed out",
                    s if s.is_client_error() => "The admin API refused this",
                    _ => "The admin API failed",
                };
                (f.status, title, &f.message)
            }
            DashboardError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Check what you entered", m),
            DashboardError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            DashboardError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            DashboardError::SignIn(m) => (StatusCode::BAD_REQUEST, "Sign-in did not finish", m),
            DashboardError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "The dashboard is not available", m),
            DashboardError::NoAdminRole { message, .. } => (StatusCode::FORBIDDEN, "Not allowed", message),
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let (status, title, message) = self.parts();
        let sign_in_link = matches!(self, DashboardError::SignIn(_))
            || matches!(&self, DashboardError::Api(f) if f.status == StatusCode::UNAUTHORIZED);
        let sign_out_url = match &self {
            DashboardError::NoAdminRole { sign_out_url, .. } => Some(sign_out_url.as_str()),
            _ => None,
        };
        html_with_csp(
            status,
            &ProblemPage { title, message, sign_in_link, sign_out_url },
            crate::web::html_response::CSP_WITH_OWN_STYLES,
        )
    }
}
