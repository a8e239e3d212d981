//! The confirmation step of a revocation: the target the person typed (a UPN, a client id, a
//! pasted token, a kid) resolved through the admin API into who or what it is, and the words
//! saying everything the revocation will cover. A pasted token is read only for its `uti`/`jti`
//! here and then dropped: the confirmation page carries the id, never the token.

use std::sync::Arc;

use axum::http::StatusCode;
use tokengate_proto::admin::{
    AppView, RevocationTargetView, SigningKeyView, TokenDebugRequest, TokenExplanation, UserView,
};

use super::super::admin_calls::{encode, ApiFailure, Caller};
use super::super::dashboard_pages::DashboardError;
use super::super::dashboard_state::DashboardState;
use super::RevokeAsked;

/// What the confirmation page shows and carries to the final write (as hidden fields).
pub struct Confirmation {
    pub title: String,
    /// `user`, `client`, `token` or `key`.
    pub kind: &'static str,
    /// The resolved id: object id, client id, token id (uti/jti) or kid.
    pub target: String,
    pub tenant_id: String,
    pub disable_credentials: bool,
    pub reason: String,
    /// Who or what, in words ("Demo User (demo@contoso.example)").
    pub who: String,
    /// Facts about the target (label, value).
    pub facts: Vec<(String, String)>,
    /// Everything the revocation covers, one sentence each.
    pub covers: Vec<String>,
    /// What it does not do, so nobody expects more.
    pub leaves: Vec<String>,
}

/// Resolves the form's target and says what revoking it covers; a target that cannot be
/// resolved is a 400 page saying what to enter instead.
pub async fn confirmation(
    state: &Arc<DashboardState>,
    caller: Caller<'_>,
    asked: RevokeAsked,
) -> Result<Confirmation, DashboardError> {
    let target = asked.target.trim().to_owned();
    if target.is_empty() {
        return Err(DashboardError::BadRequest("Enter what to revoke first, then continue.".into()));
    }
    let reason = asked.reason.trim().to_owned();
    let disable_credentials = asked.disable_credentials.is_some_and(|v| v == "on" || v == "true");
    let base = Confirmation {
        title: String::new(),
        kind: "token",
        target: String::new(),
        tenant_id: String::new(),
        disable_credentials,
        reason,
        who: String::new(),
        facts: vec![],
        covers: vec![],
        leaves: vec![],
    };
    match asked.kind.as_str() {
        "user" => user(state, caller, &target, base).await,
        "client" => client(state, caller, &target, base).await,
        "token" => token(state, caller, &target, base).await,
        "key" => key(state, caller, &target, base).await,
        other => Err(DashboardError::BadRequest(format!(
            "'{other}' is not something this page revokes: choose a user, a client app, a token or a key."
        ))),
    }
}

/// A 404 from the API as "check what you entered".
fn not_found(hint: String) -> impl FnOnce(ApiFailure) -> DashboardError {
    move |f| match f.status {
        StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => DashboardError::BadRequest(hint),
        _ => DashboardError::Api(f),
    }
}

async fn user(
    state: &DashboardState,
    caller: Caller<'_>,
    target: &str,
    base: Confirmation,
) -> Result<Confirmation, DashboardError> {
    let path = format!("/admin/v1/users/{}", encode(target));
    let user: UserView = state.calls.get(caller, &path).await.map_err(not_found(format!(
        "No user is named {target}. Enter a user principal name (name@domain) or object id from Users & groups."
    )))?;
    let name = &user.display_name;
    Ok(Confirmation {
        title: format!("Revoke {name}?"),
        kind: "user",
        target: user.object_id.clone(),
        tenant_id: user.tenant_id.clone(),
        who: format!("{name} ({})", user.user_principal_name),
        facts: vec![
            ("User principal name".into(), user.user_principal_name.clone()),
            ("Object id (oid)".into(), user.object_id.clone()),
            ("Tenant".into(), user.tenant_id.clone()),
            ("Account".into(), if user.enabled { "enabled".into() } else { "disabled".into() }),
        ],
        covers: vec![
            format!("every access token issued to {name} before now, refused by every gateway"),
            format!("every refresh-token family of {name}: no new tokens from them"),
            format!("every browser sign-in session of {name} at the issuer, and any pending device approval"),
        ],
        leaves: vec![format!(
            "{name} can sign in again and get new tokens afterwards: to stop that, disable the account in Users & groups."
        )],
        ..base
    })
}

async fn client(
    state: &DashboardState,
    caller: Caller<'_>,
    target: &str,
    base: Confirmation,
) -> Result<Confirmation, DashboardError> {
    let path = format!("/admin/v1/apps/{}", encode(target));
    let app: AppView = state.calls.get(caller, &path).await.map_err(not_found(format!(
        "No app has the client id {target}. Enter an application (client) id from Apps."
    )))?;
    let name = &app.display_name;
    let mut covers = vec![
        format!("every access token {name} holds that was issued before now, for users or for itself, refused by every gateway"),
        format!("every refresh token issued to {name}"),
    ];
    let leaves = if base.disable_credentials {
        covers.push(format!("every client secret and certificate of {name} is deleted: it gets no new token until it is given a new credential"));
        vec![]
    } else {
        vec![format!("{name} keeps its secrets and certificates and can get new tokens at once: tick “also delete its credentials” to stop that.")]
    };
    Ok(Confirmation {
        title: format!("Revoke {name}?"),
        kind: "client",
        target: app.app_id.clone(),
        who: format!("{name} (client id {})", app.app_id),
        facts: vec![
            ("Application (client) id".into(), app.app_id.clone()),
            ("Kind".into(), if app.is_public_client { "public client".into() } else { "confidential client".into() }),
            ("Tenant".into(), app.tenant_id.clone()),
        ],
        covers,
        leaves,
        ..base
    })
}

/// A pasted token (two dots) is read for its id and what it says about whom; otherwise the text
/// is taken as the id itself.
async fn token(
    state: &DashboardState,
    caller: Caller<'_>,
    target: &str,
    base: Confirmation,
) -> Result<Confirmation, DashboardError> {
    if target.matches('.').count() != 2 {
        return Ok(Confirmation {
            title: "Revoke this token?".into(),
            kind: "token",
            target: target.to_owned(),
            who: format!("the access token with id {target}"),
            facts: vec![("Token id (uti or jti)".into(), target.to_owned())],
            covers: vec![format!("the one access token whose uti or jti is {target}, refused by every gateway")],
            leaves: vec![
                "Its user's or client's other tokens stay valid: revoke the user or client app to end those.".into()
            ],
            ..base
        });
    }
    let request = TokenDebugRequest { token: target.to_owned(), route: None, method: None, path: None, host: None };
    let explained: TokenExplanation =
        state.calls.post(caller, "/admin/v1/debug/token", &request).await.map_err(not_found(
            "This is not a token that can be read: paste the whole access token, or enter its uti or jti.".into(),
        ))?;
    let claim = |name: &str| explained.claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let Some(id) = claim("uti").or_else(|| claim("jti")) else {
        return Err(DashboardError::BadRequest(
            "This token carries neither uti nor jti, so it cannot be revoked alone: revoke its user or client app instead.".into(),
        ));
    };
    let holder =
        claim("name").or_else(|| claim("preferred_username")).or_else(|| claim("oid")).unwrap_or_else(|| "?".into());
    let client_id = claim("azp").or_else(|| claim("appid")).unwrap_or_else(|| "?".into());
    let expires = explained.claims.get("exp").and_then(|v| v.as_i64()).map(crate::admin::api::iso8601);
    let mut facts = vec![
        ("Token id (uti or jti)".into(), id.clone()),
        ("Subject".into(), holder.clone()),
        ("Client id".into(), client_id.clone()),
    ];
    if let Some(exp) = &expires {
        facts.push(("Expires".into(), exp.clone()));
    }
    Ok(Confirmation {
        title: "Revoke this token?".into(),
        kind: "token",
        target: id.clone(),
        who: format!("the access token {id} of {holder}, requested by client {client_id}"),
        facts,
        covers: vec![format!("this one access token ({id}), refused by every gateway until it expires")],
        leaves: vec![
            "Its user's or client's other tokens stay valid: revoke the user or client app to end those.".into()
        ],
        ..base
    })
}

async fn key(
    state: &DashboardState,
    caller: Caller<'_>,
    kid: &str,
    base: Confirmation,
) -> Result<Confirmation, DashboardError> {
    let keys: Vec<SigningKeyView> = state.calls.get(caller, "/admin/v1/keys").await?;
    let own = keys.iter().find(|k| k.kid == kid);
    let mut covers = vec![format!(
        "every token signed by key {kid} is refused on every gateway at once, also those not yet expired"
    )];
    let mut facts = vec![("Key id (kid)".into(), kid.to_owned())];
    match own {
        Some(k) => {
            facts.push(("State".into(), k.state.clone()));
            facts.push(("Created".into(), k.created_at.clone()));
            if k.state == "active" {
                covers.push("it is the active key: the issuer rotates first, so the next key signs from now on".into());
            }
            covers.push("it leaves the issuer's published keys (JWKS)".into());
        }
        None => {
            facts.push(("Issuer".into(), "not one of the built-in issuer's keys (a trusted external issuer's)".into()))
        }
    }
    Ok(Confirmation {
        title: format!("Remove signing key {kid}?"),
        kind: "key",
        target: kid.to_owned(),
        who: match own {
            Some(k) => format!("the built-in issuer's {} signing key {kid}", k.state),
            None => format!("the key {kid} of a trusted external issuer"),
        },
        facts,
        covers,
        leaves: vec![
            "Everyone holding a token it signed must get a new one: expect a wave of sign-ins and token requests."
                .into(),
        ],
        ..base
    })
}

/// The confirmed form's fields as the API's request.
pub struct ConfirmedFields {
    pub target: RevocationTargetView,
    pub reason: Option<String>,
}

impl ConfirmedFields {
    pub fn from_form(form: RevokeAsked) -> Result<ConfirmedFields, DashboardError> {
        let id = form.target.trim().to_owned();
        if id.is_empty() {
            return Err(DashboardError::BadRequest(
                "The confirmation names nothing to revoke: start again from Revocations.".into(),
            ));
        }
        let target = match form.kind.as_str() {
            "user" => RevocationTargetView::User { tenant_id: form.tenant_id.trim().to_owned(), object_id: id },
            "client" => RevocationTargetView::Client {
                client_id: id,
                disable_credentials: form.disable_credentials.is_some_and(|v| v == "true" || v == "on"),
            },
            // A raw token is never stored as a revocation's id: only its uti/jti, from the confirmation.
            "token" if id.matches('.').count() == 2 => {
                return Err(DashboardError::BadRequest(
                    "Paste a token on the Revocations page: it is confirmed by its id.".into(),
                ))
            }
            "token" => RevocationTargetView::Token { token_id: id },
            "key" => RevocationTargetView::Key { kid: id },
            other => return Err(DashboardError::BadRequest(format!("'{other}' is not something this page revokes."))),
        };
        let reason = Some(form.reason.trim().to_owned()).filter(|r| !r.is_empty());
        Ok(ConfirmedFields { target, reason })
    }
}
