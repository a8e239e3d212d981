//! `keys list | rotate | remove | reset`: the arguments, and the direct-store implementation
//! (`--config`/`--store`; `reset` always).

use std::sync::Arc;

use clap::Subcommand;
use tokengate_core::keys::KeyEncryptionKey;
use tokengate_core::store::Store;
use tokengate_core::tokens::TokenSettings;

use super::CliError;
use crate::signing_keys;
use crate::state::now;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// List signing keys and their states.
    List,
    /// Promote the published next key, retire the active one (kept in JWKS until its tokens expire), publish a new next key.
    Rotate,
    /// Emergency removal: drop a key from the JWKS at once (tokens it signed stop validating).
    Remove {
        /// The key id, as `keys list` shows it.
        // Key ids are base64url, so one may start with `-`: it is a value here, not a flag.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Recovery when the key-encryption key is lost: drop EVERY signing key and create new ones
    /// sealed with the current key-encryption key. Every token issued so far stops validating.
    Reset {
        /// Required: says you understand every issued token stops validating.
        #[arg(long)]
        confirm: bool,
    },
}

pub async fn keys(store: &Arc<dyn Store>, kek: Option<KeyEncryptionKey>, command: KeyCommand) -> Result<(), CliError> {
    let need_kek = || kek.as_ref().ok_or(CliError::NeedsKeyEncryptionKey);
    let max_age = TokenSettings::default().max_token_age();
    match command {
        KeyCommand::List => {
            for k in store.signing_keys().await? {
                let until = k.retire_after.map(|t| format!("  published until {t}")).unwrap_or_default();
                println!("{}  {}{}", k.kid, k.state.as_str(), until);
            }
        }
        KeyCommand::Rotate => {
            let active = signing_keys::rotate(store.as_ref(), need_kek()?, max_age, now()).await?;
            println!("rotated: {active} is now active; running issuers pick it up within their reload period");
        }
        KeyCommand::Remove { kid } => {
            signing_keys::remove(store.as_ref(), need_kek()?, &kid, None, max_age, now()).await?;
            println!("key {kid} removed");
        }
        KeyCommand::Reset { confirm } => {
            if !confirm {
                return Err(CliError::ResetNotConfirmed);
            }
            let active = signing_keys::reset(store.as_ref(), need_kek()?, now()).await?;
            println!("every signing key replaced: {active} is now active");
        }
    }
    Ok(())
}
