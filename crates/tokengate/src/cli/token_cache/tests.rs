use std::os::unix::fs::PermissionsExt;

use super::*;

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("tokengate-cache-test-{}", uuid::Uuid::new_v4()))
}

fn key(user: Option<&str>) -> CacheKey {
    CacheKey::new("https://login.example/TENANT/", "Client-1", "api://x/.default", user)
}

fn token(key: CacheKey, access: &str, expires_on: i64, refresh: Option<&str>) -> CachedToken {
    CachedToken {
        key,
        access_token: access.into(),
        token_type: "Bearer".into(),
        granted_scope: "api://x/.default".into(),
        expires_on,
        refresh_token: refresh.map(str::to_owned),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_file_is_0600_in_a_0700_directory_and_reads_back() {
    let dir = temp_dir();
    let path = dir.join("nested").join("tokens.json");
    let mut cache = TokenCache::load(&path).unwrap();
    cache.record(token(key(None), "at-1", 10_000, None));
    cache.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(&dir), 0o700);
    let again = TokenCache::load(&path).unwrap();
    assert!(matches!(again.lookup(&key(None), 0), Lookup::Valid(t) if t.access_token == "at-1"));
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("tokens.json")]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_cache_others_can_read_or_write_is_refused() {
    let dir = temp_dir();
    let path = dir.join("tokens.json");
    let mut cache = TokenCache::load(&path).unwrap();
    cache.record(token(key(None), "at-1", 10_000, None));
    cache.save().unwrap();
    for loose in [0o640, 0o604, 0o620, 0o644] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
        let Err(e) = TokenCache::load(&path) else { panic!("mode {loose:o} accepted") };
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(TokenCache::load(&path).is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_symlink_is_refused() {
    let dir = temp_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("elsewhere.json");
    std::fs::write(&target, "{}").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.join("tokens.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert!(TokenCache::load(&link).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn keys_ignore_case_scope_order_and_trailing_slashes_but_not_client_scope_or_user() {
    let a = CacheKey::new("https://Login.Example/T", "ABC", "openid api://x/Read", None);
    let b = CacheKey::new("https://login.example/T/", "abc", "api://x/read  openid openid", None);
    assert_eq!(a, b);
    assert_ne!(a, CacheKey::new("https://login.example/T", "other", "openid api://x/read", None));
    assert_ne!(a, CacheKey::new("https://login.example/T", "abc", "api://x/read", None));
    assert_ne!(a, CacheKey::new("https://login.example/OTHER", "abc", "openid api://x/read", None));

    let mut cache = TokenCache { path: temp_dir().join("t.json"), tokens: vec![] };
    cache.record(token(key(Some("Ann@Example")), "ann", 10_000, None));
    assert!(matches!(cache.lookup(&key(Some("ann@example")), 0), Lookup::Valid(t) if t.access_token == "ann"));
    assert_eq!(cache.lookup(&key(Some("bob@example")), 0), Lookup::Miss);
    // No user named: the one user who signed in for that request.
    assert!(matches!(cache.lookup(&key(None), 0), Lookup::Valid(t) if t.access_token == "ann"));
    cache.record(token(key(Some("bob@example")), "bob", 10_000, None));
    assert_eq!(cache.lookup(&key(None), 0), Lookup::Miss, "two users: ambiguous");
}

#[test]
fn a_token_is_served_only_with_more_than_five_minutes_left() {
    let mut cache = TokenCache { path: temp_dir().join("t.json"), tokens: vec![] };
    cache.record(token(key(None), "at", 10_000, None));
    assert!(matches!(cache.lookup(&key(None), 10_000 - 301), Lookup::Valid(_)));
    assert_eq!(cache.lookup(&key(None), 10_000 - 300), Lookup::Miss);
    assert_eq!(cache.lookup(&key(None), 20_000), Lookup::Miss);
}

#[test]
fn an_expired_token_with_a_refresh_token_asks_for_a_refresh_and_rotation_keeps_the_new_one() {
    let dir = temp_dir();
    let path = dir.join("tokens.json");
    let user = key(Some("ann@example"));
    let mut cache = TokenCache::load(&path).unwrap();
    cache.record(token(user.clone(), "at-1", 1_000, Some("rt-1")));
    cache.save().unwrap();

    let cache = TokenCache::load(&path).unwrap();
    let Lookup::Refresh { key: k, refresh_token } = cache.lookup(&user, 900) else { panic!("refresh expected") };
    assert_eq!((k, refresh_token.as_str()), (user.clone(), "rt-1"));

    // The authority rotated the refresh token: the new one is written, the old one gone.
    let mut cache = cache;
    cache.record(token(user.clone(), "at-2", 5_000, Some("rt-2")));
    cache.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("rt-2") && !text.contains("rt-1"), "{text}");
    let cache = TokenCache::load(&path).unwrap();
    assert!(matches!(cache.lookup(&user, 900), Lookup::Valid(t) if t.access_token == "at-2"));

    // An answer without a refresh token keeps the one the entry had.
    let mut cache = cache;
    cache.record(token(user.clone(), "at-3", 9_000, None));
    assert_eq!(cache.tokens[0].refresh_token.as_deref(), Some("rt-2"));
    cache.forget(&user);
    assert_eq!(cache.lookup(&user, 0), Lookup::Miss);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_default_path_follows_xdg_then_home() {
    let xdg = |name: &str| match name {
        "XDG_CACHE_HOME" => Some("/x/cache".to_owned()),
        "HOME" => Some("/home/a".to_owned()),
        _ => None,
    };
    assert_eq!(TokenCache::default_path(&xdg).unwrap(), PathBuf::from("/x/cache/tokengate/tokens.json"));
    let home = |name: &str| (name == "HOME").then(|| "/home/a".to_owned());
    assert_eq!(TokenCache::default_path(&home).unwrap(), PathBuf::from("/home/a/.cache/tokengate/tokens.json"));
    assert!(TokenCache::default_path(&|_| None).is_err());
}

#[test]
fn debug_never_shows_a_token() {
    let t = token(key(None), "secret-access", 1, Some("secret-refresh"));
    let shown = format!("{t:?} {:?}", Lookup::Valid(t.clone()));
    assert!(!shown.contains("secret-"), "{shown}");
}
