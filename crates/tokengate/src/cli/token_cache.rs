//! The `token get` cache: access and refresh tokens per authority + client + scope (+ user), in
//! one JSON file only its owner can read (0600 in a 0700 directory), replaced atomically, and
//! refused when anyone else can read it. Decides nothing about HTTP: it answers "still good",
//! "refresh with this" or "nothing", and records what the authority answered.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CliError;

/// A cached access token is used only while it has at least this long left (MSAL's margin).
pub const EXPIRY_MARGIN_SECONDS: i64 = 300;
const FORMAT_VERSION: u32 = 1;

/// What a cache entry is for. Two requests share an entry only when all of it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    pub authority: String,
    pub client_id: String,
    /// The requested scopes, lower case, sorted, deduplicated.
    pub scope: String,
    /// The signed-in user (lower case UPN or object id); `None` for app-only tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl CacheKey {
    pub fn new(authority: &str, client_id: &str, scope: &str, user: Option<&str>) -> CacheKey {
        let mut scopes: Vec<String> = scope.split_whitespace().map(str::to_lowercase).collect();
        scopes.sort();
        scopes.dedup();
        CacheKey {
            authority: authority.trim_end_matches('/').to_lowercase(),
            client_id: client_id.trim().to_lowercase(),
            scope: scopes.join(" "),
            user: user.map(str::to_lowercase),
        }
    }

    /// The same request for any user (the device-code flow does not know who signs in).
    fn same_request(&self, other: &CacheKey) -> bool {
        self.authority == other.authority && self.client_id == other.client_id && self.scope == other.scope
    }
}

/// One cached answer of the authority.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedToken {
    #[serde(flatten)]
    pub key: CacheKey,
    pub access_token: String,
    pub token_type: String,
    /// The scopes the authority granted (its `scope`).
    pub granted_scope: String,
    /// Unix seconds.
    pub expires_on: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("key", &self.key)
            .field("expires_on", &self.expires_on)
            .finish_non_exhaustive()
    }
}

/// What the cache can do for a request.
#[derive(PartialEq, Eq)]
pub enum Lookup {
    /// A token with more than the margin left.
    Valid(CachedToken),
    /// Expired (or nearly): redeem this refresh token for the entry's key.
    Refresh {
        key: CacheKey,
        refresh_token: String,
    },
    Miss,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Valid(token) => f.debug_tuple("Valid").field(token).finish(),
            Lookup::Refresh { key, .. } => f.debug_struct("Refresh").field("key", key).finish_non_exhaustive(),
            Lookup::Miss => f.write_str("Miss"),
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    tokens: Vec<CachedToken>,
}

/// The cache's content, read from and written to `path`.
pub struct TokenCache {
    path: PathBuf,
    tokens: Vec<CachedToken>,
}

impl TokenCache {
    /// `$XDG_CACHE_HOME/tokengate/tokens.json`, else `~/.cache/tokengate/tokens.json`.
    pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, CliError> {
        let base = match env("XDG_CACHE_HOME").filter(|d| Path::new(d).is_absolute()) {
            Some(dir) => PathBuf::from(dir),
            None => match env("HOME").filter(|h| !h.is_empty()) {
                Some(home) => Path::new(&home).join(".cache"),
                None => {
                    return Err(CliError::Argument("no HOME or XDG_CACHE_HOME: pass --cache FILE or --no-cache".into()))
                }
            },
        };
        Ok(base.join("tokengate").join("tokens.json"))
    }

    /// The cache at `path` (empty when the file does not exist yet). Refuses a file others can
    /// read or write, or that is not a plain file.
    pub fn load(path: &Path) -> Result<TokenCache, CliError> {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TokenCache { path: path.to_owned(), tokens: Vec::new() })
            }
            Err(source) => return Err(CliError::File { path: path.to_owned(), source }),
        };
        if !meta.file_type().is_file() {
            return Err(cache_error(path, "is not a regular file (a symlink?): remove it"));
        }
        if let Some(mode) = loose_mode(&meta) {
            return Err(cache_error(
                path,
                &format!("can be read or written by others (mode {mode:o}): `chmod 600` it or delete it"),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| CliError::File { path: path.to_owned(), source })?;
        let file: CacheFile = if text.trim().is_empty() {
            CacheFile::default()
        } else {
            serde_json::from_str(&text).map_err(|e| cache_error(path, &format!("is not a token cache: {e}")))?
        };
        if file.version > FORMAT_VERSION {
            return Err(cache_error(path, "was written by a newer tokengate: pass --cache FILE or --no-cache"));
        }
        Ok(TokenCache { path: path.to_owned(), tokens: file.tokens })
    }

    /// What the cache holds for `key` at `now`. A key without a user also matches the one entry
    /// of that request with a user (the person who signed in last); several are ambiguous: a miss.
    pub fn lookup(&self, key: &CacheKey, now: i64) -> Lookup {
        let entry = match self.tokens.iter().find(|t| &t.key == key) {
            Some(entry) => Some(entry),
            None if key.user.is_none() => {
                let mut users = self.tokens.iter().filter(|t| t.key.same_request(key) && t.key.user.is_some());
                match (users.next(), users.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
            None => None,
        };
        let Some(entry) = entry else { return Lookup::Miss };
        if entry.expires_on - EXPIRY_MARGIN_SECONDS > now {
            return Lookup::Valid(entry.clone());
        }
        match &entry.refresh_token {
            Some(refresh_token) => Lookup::Refresh { key: entry.key.clone(), refresh_token: refresh_token.clone() },
            None => Lookup::Miss,
        }
    }

    /// Records an answer for `token.key`, replacing the entry. An answer without a refresh token
    /// (some authorities send none on refresh) keeps the one the entry had.
    pub fn record(&mut self, mut token: CachedToken) {
        if let Some(old) = self.tokens.iter().position(|t| t.key == token.key) {
            let old = self.tokens.remove(old);
            if token.refresh_token.is_none() {
                token.refresh_token = old.refresh_token;
            }
        }
        self.tokens.push(token);
    }

    /// Forgets `key` (its refresh token was refused).
    pub fn forget(&mut self, key: &CacheKey) {
        self.tokens.retain(|t| &t.key != key);
    }

    /// Writes the cache atomically: a new 0600 file beside it, renamed over it. Creates a
    /// missing directory 0700.
    pub fn save(&self) -> Result<(), CliError> {
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let text = serde_json::to_string_pretty(&CacheFile { version: FORMAT_VERSION, tokens: self.tokens.clone() })?;
        let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("tokens.json");
        let suffix = tokengate_core::encoding::b64url(tokengate_core::encoding::random_bytes::<6>());
        let tmp = dir.join(format!(".{name}.{suffix}.tmp"));
        let written = write_private_new(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, &self.path));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(CliError::File { path: self.path.clone(), source });
        }
        Ok(())
    }

    /// An exclusive lock beside the cache file, held until dropped: two `token get` at once
    /// must not both redeem (and so burn) one rotating refresh token.
    pub fn lock(path: &Path) -> Result<File, CliError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        create_private_dir(dir)?;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&lock_path).map_err(|source| CliError::File { path: lock_path.clone(), source })?;
        file.lock().map_err(|source| CliError::File { path: lock_path, source })?;
        Ok(file)
    }
}

fn cache_error(path: &Path, why: &str) -> CliError {
    CliError::Argument(format!("token cache {} {why}", path.display()))
}

/// The mode bits when group or others have any access.
#[cfg(unix)]
fn loose_mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| CliError::File { path: dir.to_owned(), source })
}

fn write_private_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[path = "token_cache/tests.rs"]
mod tests;
