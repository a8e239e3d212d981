//! `tokengate token get | decode | explain`: the client side of any Entra-compatible authority
//! (tokengate's issuer or the real Entra ID). The flags live here; each subcommand's work lives
//! in its own file (`token_get`, `token_decode`, `token_explain`).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Subcommand;

use super::admin_target::{Output, TargetArgs};
use super::token_dev_defaults::DevIdentity;
use super::{token_decode, token_explain, token_get, CliError};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Get an access token (client credentials with a secret or certificate, or device code for a
    /// person) and print it alone on stdout, so `$(tokengate token get ...)` works. Cached (0600)
    /// until 5 minutes before it expires; refreshed silently when a refresh token allows.
    Get(GetArgs),
    /// Show a token's header and claims, with times as ISO 8601 and relative to now. Offline:
    /// the signature is NOT verified (use `token explain` for what the gateway would decide).
    Decode {
        /// The token (a compact JWS), or `-` to read it from stdin (also when omitted).
        token: Option<String>,
        /// Output: readable fields, or the decoded header and claims as JSON.
        #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Ask the admin API's token debugger what the gateway would decide: verdict, revocation,
    /// each route's pass or fail with every failing requirement, and what each claim means.
    Explain {
        #[command(flatten)]
        target: TargetArgs,
        /// The token (a compact JWS), or `-` to read it from stdin (also when omitted). It is sent
        /// to the admin API only, which neither stores nor logs it.
        token: Option<String>,
        /// Explain only this route (by name).
        #[arg(long, conflicts_with = "path")]
        route: Option<String>,
        /// With --path: the request's method (default GET).
        #[arg(long, requires = "path")]
        method: Option<String>,
        /// Explain only the route the gateway would pick for this path.
        #[arg(long)]
        path: Option<String>,
        /// With --path: the request's Host, for routes restricted to one.
        #[arg(long, requires = "path")]
        host: Option<String>,
    },
}

/// `token get`'s flags. Without --authority, a dev dir (--dev-dir, or ./tokengate-dev when
/// present) supplies the authority, CA, client, credential and scope.
#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// The authority, e.g. https://login.microsoftonline.com/TENANT_ID or tokengate's
    /// https://HOST:8443/TENANT_ID (default: the dev dir's).
    #[arg(long, env = "TOKENGATE_AUTHORITY")]
    pub authority: Option<String>,
    /// The application (client) id (default: the dev identity's, see --as).
    #[arg(long, env = "TOKENGATE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The scope(s) to ask for, e.g. api://orders/.default for an app-only token (repeat the flag
    /// or separate with spaces).
    #[arg(long)]
    pub scope: Vec<String>,
    /// A file holding the client secret (else TOKENGATE_CLIENT_SECRET; never a flag value, which
    /// other users could see in the process list).
    #[arg(long, value_name = "FILE")]
    pub client_secret_file: Option<PathBuf>,
    /// Authenticate with a certificate instead of a secret: a PEM holding the private key and the
    /// certificate registered on the app (private_key_jwt, RS256, x5t#S256). In a dev dir,
    /// --certificate alone uses the demo daemon's.
    #[arg(long, value_name = "PEM", num_args = 0..=1, default_missing_value = "")]
    pub certificate: Option<String>,
    /// Sign a person in with the device code flow (a public client): the URL and code to enter
    /// go to stderr; the command waits until the sign-in completes or the code expires.
    #[arg(long)]
    pub device_code: bool,
    /// With --device-code: use the cached token of this user (UPN) when several are cached.
    #[arg(long, value_name = "UPN")]
    pub user: Option<String>,
    /// In a dev dir: which identity `tokengate dev` created to act as (default daemon, or user
    /// with --device-code).
    #[arg(long = "as", value_enum, value_name = "IDENTITY")]
    pub identity: Option<DevIdentity>,
    /// A PEM file of CA certificates to trust for the authority besides the public roots
    /// (default: the dev dir's CA).
    #[arg(long, env = "TOKENGATE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// A `tokengate dev` data dir to take defaults from (default: ./tokengate-dev when present).
    #[arg(long)]
    pub dev_dir: Option<PathBuf>,
    /// The token cache file (default: $XDG_CACHE_HOME/tokengate/tokens.json or
    /// ~/.cache/tokengate/tokens.json). Created 0600; refused when others can read it.
    #[arg(long, value_name = "FILE", env = "TOKENGATE_TOKEN_CACHE")]
    pub cache: Option<PathBuf>,
    /// Neither read nor write the token cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Ignore a cached access token: redeem the cached refresh token, or ask anew.
    #[arg(long)]
    pub force_refresh: bool,
    /// Output: the bare access token, or JSON with access_token, token_type, expires_on, scope
    /// and source (cache, refresh or authority).
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn token(command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Get(args) => token_get::get(&args).await,
        TokenCommand::Decode { token, output } => token_decode::decode(&read_token(token)?, output),
        TokenCommand::Explain { target, token, route, method, path, host } => {
            let request =
                tokengate_proto::admin::TokenDebugRequest { token: read_token(token)?, route, method, path, host };
            token_explain::explain(&target, request).await
        }
    }
}

/// The token argument, or stdin for `-` (or nothing, when stdin is not a terminal). A pasted
/// `Bearer ` prefix or `Authorization:` header name is dropped.
fn read_token(arg: Option<String>) -> Result<String, CliError> {
    let text = match arg.as_deref() {
        Some("-") => read_stdin()?,
        Some(token) => token.to_owned(),
        None if std::io::stdin().is_terminal() => {
            return Err(CliError::Argument("pass the token, or `-` to read it from stdin".into()))
        }
        None => read_stdin()?,
    };
    Ok(clean_token(&text))
}

fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|source| CliError::File { path: PathBuf::from("-"), source })?;
    Ok(text)
}

fn clean_token(text: &str) -> String {
    let mut token = text.trim();
    if let Some(rest) = token.strip_prefix("Authorization:").or_else(|| token.strip_prefix("authorization:")) {
        token = rest.trim();
    }
    if token.len() > 7 && token[..7].eq_ignore_ascii_case("bearer ") {
        token = token[7..].trim();
    }
    token.to_owned()
}

#[cfg(test)]
mod tests {
    use super::clean_token;

    #[test]
    fn a_pasted_header_or_bearer_prefix_is_dropped() {
        assert_eq!(clean_token("  a.b.c\n"), "a.b.c");
        assert_eq!(clean_token("Bearer a.b.c"), "a.b.c");
        assert_eq!(clean_token("Authorization: bearer a.b.c\n"), "a.b.c");
    }
}
