//! `tokengate token get`: decides which client, credential, scope and authority the flags (or a
//! dev dir) name, answers from the cache when it can, refreshes silently when the cached token
//! expired and a refresh token allows, else asks the authority. Prints the access token alone
//! on stdout (or `-o json`); logs nothing that holds a token or secret.

use std::path::{Path, PathBuf};

use super::admin_target::{Output, DEFAULT_DEV_DIR};
use super::authority_client::{AuthorityClient, AuthorityError, ClientAuth, TokenAnswer};
use super::client_assertion_builder::ClientCertificate;
use super::device_code_client;
use super::token_cache::{CacheKey, CachedToken, Lookup, TokenCache};
use super::token_commands::GetArgs;
use super::token_dev_defaults::{dev_defaults, DevDefaults, DevIdentity};
use super::CliError;

/// Scopes MSAL adds to every sign-in: an ID token (who signed in) and a refresh token.
const SIGN_IN_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// Everything a token request needs, resolved from flags and dev defaults.
struct TokenRequest {
    authority: AuthorityClient,
    client_id: String,
    auth: ClientAuth,
    /// The scopes asked for (the cache key's).
    scope: String,
    device_code: bool,
}

impl TokenRequest {
    /// The scope sent: a sign-in also asks for the ID and refresh tokens.
    fn sent_scope(&self) -> String {
        if !self.device_code {
            return self.scope.clone();
        }
        let mut scope = self.scope.clone();
        for extra in SIGN_IN_SCOPES {
            if !self.scope.split_whitespace().any(|s| s.eq_ignore_ascii_case(extra)) {
                scope.push(' ');
                scope.push_str(extra);
            }
        }
        scope
    }
}

/// Where the printed token came from.
#[derive(Clone, Copy)]
enum Source {
    Cache,
    Refresh,
    Authority,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Refresh => "refresh",
            Source::Authority => "authority",
        }
    }
}

pub async fn get(args: &GetArgs) -> Result<(), CliError> {
    let request = resolve(args)?;
    if args.no_cache {
        let answer = acquire(&request).await?;
        let token = cached(&request, &answer, None, crate::state::now());
        return print(&token, Source::Authority, args.output);
    }
    let path = match &args.cache {
        Some(path) => path.clone(),
        None => TokenCache::default_path(&|name| std::env::var(name).ok())?,
    };
    let (token, source) = through_cache(&request, &path, args).await?;
    print(&token, source, args.output)
}

/// The token from the cache, a silent refresh, or the authority (recorded in the cache).
async fn through_cache(request: &TokenRequest, path: &Path, args: &GetArgs) -> Result<(CachedToken, Source), CliError> {
    let key = CacheKey::new(&request.authority.authority, &request.client_id, &request.scope, args.user.as_deref());
    let lock = TokenCache::lock(path)?;
    let mut cache = TokenCache::load(path)?;
    let now = crate::state::now();
    // Forced: any cached access token counts as expired.
    let lookup = cache.lookup(&key, if args.force_refresh { i64::MAX } else { now });
    match lookup {
        Lookup::Valid(token) => return Ok((token, Source::Cache)),
        Lookup::Refresh { key, refresh_token } => match refresh(request, &refresh_token, now).await {
            Ok(answer) => {
                let token = cached(request, &answer, key.user.as_deref(), now);
                cache.record(token.clone());
                cache.save()?;
                return Ok((token, Source::Refresh));
            }
            Err(AuthorityError::Refused { error, line }) if error == "invalid_grant" => {
                eprintln!("note: the cached refresh token was refused ({line}); signing in again");
                cache.forget(&key);
                cache.save()?;
            }
            Err(other) => return Err(other.into_cli(&request.authority.authority)),
        },
        Lookup::Miss => {}
    }
    // A person may take minutes to sign in: other `token get`s should not wait on the lock
    // meanwhile (it is taken again, and the cache read again, to record the answer).
    let (answer, _lock) = if request.device_code {
        drop(lock);
        let answer = acquire(request).await?;
        let lock = TokenCache::lock(path)?;
        cache = TokenCache::load(path)?;
        (answer, lock)
    } else {
        (acquire(request).await?, lock)
    };
    let user = if request.device_code { signed_in_user(&answer).or_else(|| args.user.clone()) } else { None };
    let token = cached(request, &answer, user.as_deref(), crate::state::now());
    cache.record(token.clone());
    cache.save()?;
    Ok((token, Source::Authority))
}

async fn refresh(request: &TokenRequest, refresh_token: &str, now: i64) -> Result<TokenAnswer, AuthorityError> {
    let scope = request.sent_scope();
    request.authority.refresh(&request.client_id, &request.auth, &scope, refresh_token, now).await
}

/// A new token from the authority: device code sign-in or client credentials.
async fn acquire(request: &TokenRequest) -> Result<TokenAnswer, CliError> {
    if request.device_code {
        return device_code_client::sign_in(
            &request.authority,
            &request.client_id,
            &request.auth,
            &request.sent_scope(),
        )
        .await;
    }
    let now = crate::state::now();
    request
        .authority
        .client_credentials(&request.client_id, &request.auth, &request.scope, now)
        .await
        .map_err(|e| e.into_cli(&request.authority.authority))
}

fn cached(request: &TokenRequest, answer: &TokenAnswer, user: Option<&str>, now: i64) -> CachedToken {
    CachedToken {
        key: CacheKey::new(&request.authority.authority, &request.client_id, &request.scope, user),
        access_token: answer.access_token.clone(),
        token_type: answer.token_type.clone(),
        granted_scope: answer.scope.clone().unwrap_or_else(|| request.scope.clone()),
        expires_on: now + answer.expires_in.max(0),
        refresh_token: answer.refresh_token.clone(),
    }
}

/// Who signed in, from the ID token (or the access token when it is a readable JWT).
fn signed_in_user(answer: &TokenAnswer) -> Option<String> {
    let claims = |jwt: &str| -> Option<serde_json::Value> {
        let payload = jwt.split('.').nth(1)?;
        serde_json::from_slice(&tokengate_core::encoding::b64url_decode(payload)?).ok()
    };
    [answer.id_token.as_deref(), Some(answer.access_token.as_str())].into_iter().flatten().find_map(|jwt| {
        let c = claims(jwt)?;
        ["preferred_username", "upn", "unique_name", "oid", "sub"]
            .iter()
            .find_map(|name| c.get(*name).and_then(|v| v.as_str()).map(str::to_owned))
    })
}

fn print(token: &CachedToken, source: Source, output: Output) -> Result<(), CliError> {
    match output {
        Output::Table => println!("{}", token.access_token),
        Output::Json => super::table::print_json(&serde_json::json!({
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_on": super::token_decode::iso8601(token.expires_on),
            "scope": token.granted_scope,
            "source": source.as_str(),
        }))?,
    }
    Ok(())
}

/// The request the flags name, with a dev dir's defaults filling the gaps (only when no
/// --authority is given, or it is the dev dir's own).
fn resolve(args: &GetArgs) -> Result<TokenRequest, CliError> {
    let dev = dev_for(args)?;
    let authority = args.authority.clone().or_else(|| dev.as_ref().map(|d| d.authority.clone())).ok_or_else(|| {
        CliError::Argument("pass --authority URL (or run in a tokengate dev checkout, or --dev-dir DIR)".into())
    })?;
    let ca_path = args.ca_cert.clone().or_else(|| dev.as_ref().map(|d| d.ca_cert.clone()));
    let ca_pem = match &ca_path {
        Some(path) => Some(std::fs::read(path).map_err(|source| CliError::File { path: path.clone(), source })?),
        None => None,
    };
    let client_id = args
        .client_id
        .clone()
        .or_else(|| dev.as_ref().map(|d| d.client_id.clone()))
        .ok_or_else(|| CliError::Argument("pass --client-id (the application id)".into()))?;
    // A dev identity's credentials serve only that identity's client.
    let dev = dev.filter(|d| d.client_id.eq_ignore_ascii_case(&client_id));
    let device_code = args.device_code || dev.as_ref().is_some_and(|d| d.device_code);
    let scope = if args.scope.is_empty() {
        dev.as_ref()
            .map(|d| d.scope.clone())
            .ok_or_else(|| CliError::Argument("pass --scope, e.g. api://APP/.default for an app-only token".into()))?
    } else {
        args.scope.join(" ")
    };
    let auth = credential(args, dev.as_ref(), device_code)?;
    Ok(TokenRequest {
        authority: AuthorityClient::new(&authority, ca_pem.as_deref())?,
        client_id,
        auth,
        scope,
        device_code,
    })
}

/// The dev defaults that apply: a dev dir exists (named or ./tokengate-dev) and its authority
/// is the one asked for (or none is).
fn dev_for(args: &GetArgs) -> Result<Option<DevDefaults>, CliError> {
    let dir = match &args.dev_dir {
        Some(dir) => Some(dir.clone()),
        None => Some(PathBuf::from(DEFAULT_DEV_DIR)).filter(|d| d.join("dev.json").exists()),
    };
    let Some(dir) = dir else {
        return match args.identity {
            Some(_) => Err(CliError::Argument("--as needs a dev dir: pass --dev-dir DIR".into())),
            None => Ok(None),
        };
    };
    let identity = args.identity.unwrap_or(if args.device_code { DevIdentity::User } else { DevIdentity::Daemon });
    let defaults = dev_defaults(&dir, identity)?;
    let same_authority = args
        .authority
        .as_deref()
        .is_none_or(|a| a.trim_end_matches('/').eq_ignore_ascii_case(defaults.authority.trim_end_matches('/')));
    Ok(same_authority.then_some(defaults))
}

/// The credential: --certificate, --client-secret-file, TOKENGATE_CLIENT_SECRET, the dev
/// identity's secret; none for a device code sign-in without one.
fn credential(args: &GetArgs, dev: Option<&DevDefaults>, device_code: bool) -> Result<ClientAuth, CliError> {
    if let Some(pem) = &args.certificate {
        let pem = match dev.and_then(|d| d.certificate.clone()) {
            Some(dev_pem) if pem.is_empty() => dev_pem,
            _ if pem.is_empty() => {
                return Err(CliError::Argument("--certificate needs a PEM file outside a dev dir".into()))
            }
            _ => PathBuf::from(pem),
        };
        return Ok(ClientAuth::Certificate(ClientCertificate::from_pem_file(&pem)?));
    }
    if let Some(file) = &args.client_secret_file {
        let text = std::fs::read_to_string(file).map_err(|source| CliError::File { path: file.clone(), source })?;
        let secret = text.trim();
        if secret.is_empty() {
            return Err(CliError::Argument(format!("--client-secret-file {}: the file is empty", file.display())));
        }
        return Ok(ClientAuth::Secret(secret.to_owned()));
    }
    if let Some(secret) = std::env::var("TOKENGATE_CLIENT_SECRET").ok().filter(|s| !s.trim().is_empty()) {
        return Ok(ClientAuth::Secret(secret.trim().to_owned()));
    }
    if let Some(secret) = dev.and_then(|d| d.client_secret.clone()) {
        return Ok(ClientAuth::Secret(secret));
    }
    if device_code {
        return Ok(ClientAuth::Public);
    }
    Err(CliError::Argument(
        "client credentials need a secret (TOKENGATE_CLIENT_SECRET or --client-secret-file FILE) or --certificate PEM"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(scope: &str, device_code: bool) -> TokenRequest {
        TokenRequest {
            authority: AuthorityClient::new("https://login.example/t", None).unwrap(),
            client_id: "c".into(),
            auth: ClientAuth::Public,
            scope: scope.into(),
            device_code,
        }
    }

    #[test]
    fn a_sign_in_also_asks_for_id_and_refresh_tokens_once() {
        assert_eq!(request("api://x/.default", false).sent_scope(), "api://x/.default");
        assert_eq!(request("api://x/Read", true).sent_scope(), "api://x/Read openid profile offline_access");
        assert_eq!(
            request("api://x/Read offline_access", true).sent_scope(),
            "api://x/Read offline_access openid profile"
        );
    }

    #[test]
    fn the_signed_in_user_comes_from_the_id_token() {
        let jwt =
            |claims: serde_json::Value| format!("e30.{}.c2ln", tokengate_core::encoding::b64url(claims.to_string()));
        let answer = TokenAnswer {
            access_token: "opaque".into(),
            token_type: "Bearer".into(),
            scope: None,
            expires_in: 3600,
            refresh_token: None,
            id_token: Some(jwt(serde_json::json!({"preferred_username": "ann@example", "oid": "o"}))),
        };
        assert_eq!(signed_in_user(&answer).as_deref(), Some("ann@example"));
        let answer = TokenAnswer { id_token: None, access_token: jwt(serde_json::json!({"oid": "o-1"})), ..answer };
        assert_eq!(signed_in_user(&answer).as_deref(), Some("o-1"));
    }
}
