//! The `dev` data dir as a resource with an owner: one `dev` at a time (an exclusive lock held for
//! the life of the process), owner-only permissions, and a gateway policy that is the user's once
//! they edit it. Must never rewrite a file before the start it belongs to has succeeded.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tokengate_core::encoding::{hex_upper, sha256};

use crate::dev_error::DevError;

/// Held while `dev` runs; the OS releases it when the process ends, however it ends.
pub struct DataDirLock {
    _file: File,
}

/// Takes the data dir's lock, or says who holds it.
pub fn lock(dir: &Path) -> Result<DataDirLock, DevError> {
    let path = dir.join("dev.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(DevError::file(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default().trim().to_owned();
            let holder = (!holder.is_empty()).then_some(holder);
            return Err(DevError::InUse { dir: dir.to_owned(), holder });
        }
        Err(std::fs::TryLockError::Error(source)) => return Err(DevError::Lock { path, source }),
    }
    file.set_len(0).and_then(|_| write!(file, "{}", std::process::id())).map_err(DevError::file(&path))?;
    Ok(DataDirLock { _file: file })
}

/// Creates the data dir owner-only (0700) — it holds the key-encryption key, password hashes and
/// secrets — and tightens a dir created before this rule. Returns its canonical path.
pub fn create_private_dir(dir: &Path) -> Result<PathBuf, DevError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(DevError::file(dir))?;
    set_mode(dir, 0o700)?;
    std::fs::canonicalize(dir).map_err(DevError::file(dir))
}

/// The store's files are owner-only (0600); tightens files created before this rule.
pub fn tighten_store_files(dir: &Path) -> Result<(), DevError> {
    for name in ["tokengate.db", "tokengate.db-wal", "tokengate.db-shm"] {
        let path = dir.join(name);
        if path.exists() {
            set_mode(&path, 0o600)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), DevError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(DevError::file(path))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), DevError> {
    Ok(())
}

/// Which gateway policy a `dev` start runs, and whether the generated one is to be written.
pub struct PolicyPlan {
    pub path: PathBuf,
    pub text: String,
    /// Write `text` to `path` once the start has succeeded (only ever the generated policy).
    pub write_generated: bool,
    /// Said to the user at start (e.g. an edited policy was kept).
    pub notice: Option<String>,
}

/// Fingerprint of the policy `dev` last generated, beside it: a file that still matches is ours to
/// regenerate (new ports, `--upstream`); one that does not was edited and is kept.
fn fingerprint_path(policy: &Path) -> PathBuf {
    policy.with_extension("toml.generated")
}

pub fn plan_policy(
    dir: &Path,
    user_policy: Option<&Path>,
    reset: bool,
    generated: String,
    upstream_given: bool,
) -> Result<PolicyPlan, DevError> {
    if let Some(path) = user_policy {
        let path =
            std::fs::canonicalize(path).map_err(|source| DevError::PolicyFile { path: path.to_owned(), source })?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(source) => return Err(DevError::PolicyFile { path, source }),
        };
        let notice = upstream_given.then(|| {
            format!("--upstream is not applied to --policy {}: set the upstream in that file", path.display())
        });
        return Ok(PolicyPlan { path, text, write_generated: false, notice });
    }
    let path = dir.join("gateway.toml");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(DevError::File { path, source }),
    };
    let recorded = std::fs::read_to_string(fingerprint_path(&path)).unwrap_or_default();
    match current {
        Some(text) if !reset && hex_upper(&sha256(text.as_bytes())) != recorded.trim() => {
            let mut notice = format!("keeping your edited {} (pass --reset-policy to regenerate it)", path.display());
            if upstream_given {
                notice.push_str("; --upstream is not applied to an edited policy");
            }
            Ok(PolicyPlan { path, text, write_generated: false, notice: Some(notice) })
        }
        _ => Ok(PolicyPlan { path, text: generated, write_generated: true, notice: None }),
    }
}

/// Writes the generated policy and its fingerprint (after a successful start).
pub fn write_generated_policy(plan: &PolicyPlan) -> Result<(), DevError> {
    if !plan.write_generated {
        return Ok(());
    }
    crate::dev::write_atomic(&plan.path, &plan.text)?;
    crate::dev::write_atomic(&fingerprint_path(&plan.path), &hex_upper(&sha256(plan.text.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tg-datadir-{}", uuid::Uuid::new_v4()));
        create_private_dir(&dir).unwrap()
    }

    #[test]
    fn a_second_lock_on_the_same_dir_is_refused_and_names_the_holder() {
        let dir = temp_dir();
        let _held = lock(&dir).unwrap();
        let second = lock(&dir).err().unwrap().to_string();
        assert!(second.contains("in use by another `tokengate dev`"), "{second}");
        assert!(second.contains(&format!("pid {}", std::process::id())), "{second}");
    }

    #[test]
    fn the_lock_is_released_when_dropped() {
        let dir = temp_dir();
        drop(lock(&dir).unwrap());
        assert!(lock(&dir).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_is_owner_only_even_if_it_existed_wider() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tg-datadir-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dir = create_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn generated_policy_is_regenerated_but_an_edited_one_is_kept() {
        let dir = temp_dir();
        let first = plan_policy(&dir, None, false, "v1".into(), false).unwrap();
        assert!(first.write_generated);
        write_generated_policy(&first).unwrap();
        // Unedited: ours to regenerate (e.g. another --upstream).
        let second = plan_policy(&dir, None, false, "v2".into(), true).unwrap();
        assert!(second.write_generated);
        assert_eq!(second.text, "v2");
        write_generated_policy(&second).unwrap();
        // Edited by the user: kept, with a notice, even when --upstream is given.
        std::fs::write(dir.join("gateway.toml"), "mine").unwrap();
        let third = plan_policy(&dir, None, false, "v3".into(), true).unwrap();
        assert!(!third.write_generated);
        assert_eq!(third.text, "mine");
        let notice = third.notice.unwrap();
        assert!(notice.contains("--reset-policy") && notice.contains("--upstream"), "{notice}");
        // Asked to reset: regenerated.
        let fourth = plan_policy(&dir, None, true, "v4".into(), false).unwrap();
        assert!(fourth.write_generated);
        assert_eq!(fourth.text, "v4");
    }

    #[test]
    fn a_policy_file_of_the_users_is_used_as_is() {
        let dir = temp_dir();
        let own = dir.join("own.toml");
        std::fs::write(&own, "own").unwrap();
        let plan = plan_policy(&dir, Some(&own), false, "generated".into(), false).unwrap();
        assert_eq!(plan.text, "own");
        assert!(!plan.write_generated);
        assert!(plan_policy(&dir, Some(&dir.join("missing.toml")), false, "g".into(), false).is_err());
    }
}
