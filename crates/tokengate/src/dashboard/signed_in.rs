//! Who is asking: the session behind the browser's cookie (renewing its access token when it is
//! about to expire), and — for every form — the checks a state change must pass first: same
//! origin, the session's anti-forgery token, and the Admin role (an auditor's post is refused
//! here, and would be by the admin API too).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::admin_calls::Caller;
use super::dashboard_pages::DashboardError;
use super::dashboard_sessions::{DashboardSession, SessionTokens};
use super::dashboard_state::DashboardState;
use super::issuer_back_channel;
use crate::client_address::PeerAddr;
use crate::state::now;
use crate::web::cookies::cookie;
use crate::web::csrf::same_origin;
use crate::web::html_response::see_other;

/// An access token this close to expiry is renewed before use.
const RENEW_BEFORE_S: i64 = 60;
/// The largest form a dashboard page posts (a policy document is the biggest).
const MAX_FORM_BYTES: usize = 1024 * 1024;

/// A signed-in person's request.
pub struct SignedIn {
    pub session: Arc<DashboardSession>,
    pub access_token: String,
    pub peer: Option<PeerAddr>,
    /// The anti-forgery token for this session's forms.
    pub csrf: String,
}

impl SignedIn {
    /// How the admin API is called on this person's behalf.
    pub fn caller(&self) -> Caller<'_> {
        Caller { access_token: &self.access_token, peer: self.peer }
    }
}

/// Where a signed-out visitor goes: to sign in, and back to what they asked for (a `GET`), or
/// a page saying the session ended (anything else: the form cannot be replayed).
fn signed_out(parts: &Parts) -> Response {
    if parts.method != Method::GET {
        return DashboardError::Api(super::admin_calls::ApiFailure {
            status: StatusCode::UNAUTHORIZED,
            message: "Your dashboard session ended before this was sent; nothing was changed. Sign in again, then repeat it."
                .into(),
        })
        .into_response();
    }
    let back = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/dashboard/");
    let location = format!("/dashboard/sign-in?return_to={}", super::admin_calls::encode(back));
    // An htmx request (a live region refreshing) must move the whole page, not swap in sign-in.
    if parts.headers.contains_key("hx-request") {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert("hx-redirect", v);
        }
        return response;
    }
    see_other(&location)
}

impl FromRequestParts<Arc<DashboardState>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<DashboardState>) -> Result<Self, Response> {
        let now = now();
        let Some(id) = cookie(&parts.headers, state.session_cookie_name()) else { return Err(signed_out(parts)) };
        let Some(session) = state.sessions.find(&id, now) else { return Err(signed_out(parts)) };
        let peer = parts.extensions.get::<PeerAddr>().copied();
        let Some(mut tokens) = session.tokens() else { return Err(signed_out(parts)) };
        if tokens.access_expires - now < RENEW_BEFORE_S {
            match renew(state, &tokens, peer, now).await {
                Some(renewed) => {
                    session.set_tokens(renewed.clone());
                    tokens = renewed;
                }
                None => {
                    state.sessions.end(&session.id);
                    return Err(signed_out(parts));
                }
            }
        }
        let csrf = state.csrf_token(&session.id);
        Ok(SignedIn { session, access_token: tokens.access_token, peer, csrf })
    }
}

/// New tokens by the session's refresh token; `None` if there is none or it is refused (the
/// person was revoked or disabled: the session ends with it).
async fn renew(
    state: &DashboardState,
    tokens: &SessionTokens,
    peer: Option<PeerAddr>,
    now: i64,
) -> Option<SessionTokens> {
    let refresh_token = tokens.refresh_token.as_deref()?;
    match issuer_back_channel::refresh(state, refresh_token, peer).await {
        Ok(answer) => Some(SessionTokens {
            access_token: answer.access_token,
            access_expires: now + answer.expires_in,
            refresh_token: answer.refresh_token.or_else(|| tokens.refresh_token.clone()),
        }),
        Err(reason) => {
            tracing::info!(%reason, "a dashboard session's token could not be renewed; it ends");
            None
        }
    }
}

/// A form post that may change something: signed in, same origin, the session's anti-forgery
/// token in the field `csrf`, and the Admin role. `T` is the form's other fields.
pub struct WriteForm<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

/// A form post anyone signed in may make (sign-out, a token debugger run, a simulation): the
/// same checks except the role.
pub struct ReadForm<T> {
    pub signed_in: SignedIn,
    pub form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<DashboardState>> for WriteForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<DashboardState>) -> Result<Self, Response> {
        let (signed_in, form) = checked_form(request, state).await?;
        if !signed_in.session.can_write() {
            return Err(DashboardError::Forbidden(
                "You are signed in as an auditor: you can see everything here and change nothing. \
                 Changes need the app role Tokengate.Admin on the admin API app."
                    .into(),
            )
            .into_response());
        }
        Ok(WriteForm { signed_in, form })
    }
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<DashboardState>> for ReadForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &Arc<DashboardState>) -> Result<Self, Response> {
        let (signed_in, form) = checked_form(request, state).await?;
        Ok(ReadForm { signed_in, form })
    }
}

async fn checked_form<T: DeserializeOwned>(
    request: Request,
    state: &Arc<DashboardState>,
) -> Result<(SignedIn, T), Response> {
    let (mut parts, body) = request.into_parts();
    if !same_origin(&parts.headers, &state.public_url) {
        return Err(forged());
    }
    let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| DashboardError::BadRequest("The form is too large.".into()).into_response())?;
    let token = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
    if !token.is_some_and(|t| state.csrf_token_valid(&signed_in.session.id, &t)) {
        return Err(forged());
    }
    let form = parse_form(parts, bytes).await?;
    Ok((signed_in, form))
}

/// The fields as `T`, with serde's words if they do not fit.
async fn parse_form<T: DeserializeOwned>(mut parts: Parts, bytes: Bytes) -> Result<T, Response> {
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    let request = Request::from_parts(parts, Body::from(bytes));
    match axum::Form::<T>::from_request(request, &()).await {
        Ok(axum::Form(form)) => Ok(form),
        Err(rejection) => Err(DashboardError::BadRequest(format!("The form could not be read: {}", rejection.body_text()))
            .into_response()),
    }
}

fn forged() -> Response {
    DashboardError::Forbidden(
        "This form did not come from this dashboard's own page (its anti-forgery check failed), so nothing was \
         changed. Reload the page and submit it again."
            .into(),
    )
    .into_response()
}
