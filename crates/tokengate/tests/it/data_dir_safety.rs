//! What a first-time user hit: a wrong key-encryption key sealing new keys, a lost `master.key`,
//! two `dev`s on one dir, a failed start rewriting files, an edited policy overwritten, loose file
//! permissions, and a mistyped store path or an unreachable Postgres.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::*;

/// Stops the server cleanly and keeps its data dir for a restart.
fn stop_keeping_dir(mut s: DevServer) -> PathBuf {
    let status = s.terminate();
    assert!(status.success(), "exit status {status}");
    let dir = s.dir.clone();
    s.dir = std::env::temp_dir().join(format!("tokengate-it-gone-{}", uuid::Uuid::new_v4()));
    dir
}

/// Runs `tokengate ARGS` that is expected to exit by itself; a process still running after
/// `bound` is killed and the test fails (it would have hung or started serving).
fn run_to_exit(
    args: &[&str],
    extra: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
    bound: Duration,
) -> (ExitStatus, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).args(extra).stdout(Stdio::null()).stderr(Stdio::piped()).env("TOKENGATE_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status, err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tokengate {args:?} still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn dev_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> = vec!["dev".into(), "--data-dir".into(), dir.into()];
    for flag in ["--issuer-port", "--gateway-port", "--admin-port"] {
        v.push(flag.into());
        v.push("0".into());
    }
    v
}

fn run_dev_to_exit(dir: &Path, extra: &[&str]) -> (ExitStatus, String) {
    let mut args = dev_args(dir);
    args.extend(extra.iter().map(Into::into));
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    run_to_exit(&[], &refs, &[], Duration::from_secs(60))
}

/// The signing keys of a stopped dev dir, read from its store directly.
fn kids(dir: &Path) -> String {
    let store = format!("sqlite://{}", dir.join("tokengate.db").display());
    let out = Command::new(BIN).args(["keys", "list", "--store", &store]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn key_writes_prove_the_key_encryption_key_first() {
    let s = DevServer::start().await;
    let dir = stop_keeping_dir(s);
    let before = kids(&dir);
    let store = format!("sqlite://{}", dir.join("tokengate.db").display());
    let wrong = tokengate_core::encoding::b64([9u8; 32]);
    for command in [vec!["keys", "rotate"], vec!["keys", "remove", before.split_whitespace().next().unwrap()]] {
        let (status, err) = run_to_exit(
            &command,
            &["--store".as_ref(), store.as_ref()],
            &[("TOKENGATE_KEY_ENCRYPTION_KEY", &wrong)],
            Duration::from_secs(60),
        );
        assert!(!status.success(), "{command:?} with a wrong key-encryption key must fail");
        assert!(err.contains("does not open the signing keys") && err.contains("Nothing was changed"), "{err}");
    }
    assert_eq!(kids(&dir), before, "no key was written");

    // The deployment still starts with its own key, and signs.
    let again = DevServer::start_in(dir).await;
    assert_eq!(again.secret_token().await.0, 200);
}

#[tokio::test]
async fn a_missing_master_key_beside_sealed_keys_is_an_error_never_a_new_key() {
    let s = DevServer::start().await;
    let dir = stop_keeping_dir(s);
    std::fs::remove_file(dir.join("master.key")).unwrap();

    let (status, err) = run_dev_to_exit(&dir, &[]);
    assert!(!status.success());
    assert!(err.contains("master.key is missing") && err.contains("keys reset"), "{err}");
    assert!(!dir.join("master.key").exists(), "a new key-encryption key was made silently");
    let cli = Command::new(BIN).args(["keys", "list", "--dev-dir"]).arg(&dir).output().unwrap();
    assert!(!cli.status.success(), "the CLI does not invent a key either");

    // The documented recovery: a new key, then every signing key replaced.
    std::fs::write(dir.join("master.key"), format!("{}\n", tokengate_core::encoding::b64([5u8; 32]))).unwrap();
    let reset = Command::new(BIN).args(["keys", "reset", "--dev-dir"]).arg(&dir).output().unwrap();
    assert!(!reset.status.success(), "reset asks for --confirm");
    let reset = Command::new(BIN).args(["keys", "reset", "--confirm", "--dev-dir"]).arg(&dir).output().unwrap();
    assert!(reset.status.success(), "{}", String::from_utf8_lossy(&reset.stderr));
    let again = DevServer::start_in(dir).await;
    assert_eq!(again.secret_token().await.0, 200);
}

#[tokio::test]
async fn one_dev_per_data_dir_and_a_failed_start_rewrites_nothing() {
    let s = DevServer::start().await;
    let dev_json = std::fs::read(s.dir.join("dev.json")).unwrap();
    let policy = std::fs::read(s.dir.join("gateway.toml")).unwrap();

    let (status, err) = run_dev_to_exit(&s.dir, &[]);
    assert!(!status.success());
    assert!(err.contains("in use by another `tokengate dev`"), "{err}");
    assert_eq!(std::fs::read(s.dir.join("dev.json")).unwrap(), dev_json, "dev.json rewritten by the refused start");
    assert_eq!(std::fs::read(s.dir.join("gateway.toml")).unwrap(), policy);
    // The first one is unharmed.
    assert_eq!(s.secret_token().await.0, 200);

    // A start that fails later (its gateway port is taken) leaves the files of the last good one,
    // even when it was asked for another upstream.
    let dir = stop_keeping_dir(s);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (status, _) = run_dev_to_exit(&dir, &["--gateway-port", &port, "--upstream", "http://127.0.0.1:9"]);
    assert!(!status.success());
    assert_eq!(std::fs::read(dir.join("dev.json")).unwrap(), dev_json);
    assert_eq!(std::fs::read(dir.join("gateway.toml")).unwrap(), policy, "gateway.toml rewritten by a failed start");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_edited_policy_survives_restarts_and_a_users_file_is_used_as_is() {
    let s = DevServer::start().await;
    let path = s.dir.join("gateway.toml");
    let edited = format!(
        "{}\n[[route]]\nname = \"mine\"\npath_prefix = \"/mine/\"\nupstream = \"echo\"\npublic = true\n",
        std::fs::read_to_string(&path).unwrap()
    );
    let gateway = s.gateway("/mine/x");
    let http = s.http.clone();
    s.set_policy(&edited, || async { http.get(&gateway).send().await.map(|r| r.status() == 200).unwrap_or(false) })
        .await;
    let dir = stop_keeping_dir(s);

    let again = DevServer::start_in(dir.clone()).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited, "the edited policy was overwritten");
    assert_eq!(again.http.get(again.gateway("/mine/x")).send().await.unwrap().status(), 200);
    let dir = stop_keeping_dir(again);

    // --reset-policy regenerates it.
    let reset = DevServer::start_with(dir.clone(), &["--reset-policy"]).await;
    assert!(!std::fs::read_to_string(&path).unwrap().contains("name = \"mine\""));
    assert_eq!(reset.http.get(reset.gateway("/mine/x")).send().await.unwrap().status(), 404);
    let dir = stop_keeping_dir(reset);

    // --policy FILE runs the user's file, never rewritten.
    let own = dir.join("own-policy.toml");
    std::fs::write(&own, &edited).unwrap();
    let with_own = DevServer::start_with(dir, &["--policy", own.to_str().unwrap()]).await;
    assert_eq!(with_own.s("/gateway_policy"), std::fs::canonicalize(&own).unwrap().to_str().unwrap());
    assert_eq!(with_own.http.get(with_own.gateway("/mine/x")).send().await.unwrap().status(), 200);
    assert_eq!(std::fs::read_to_string(&own).unwrap(), edited);
}

#[cfg(unix)]
#[tokio::test]
async fn data_dir_and_store_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let s = DevServer::start().await;
    assert_eq!(s.secret_token().await.0, 200);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&s.dir), 0o700);
    for name in ["tokengate.db", "tokengate.db-wal", "master.key", "server-key.pem", "confidential-client.pem"] {
        let path = s.dir.join(name);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        } else {
            assert_ne!(name, "tokengate.db", "the store file exists");
        }
    }
}

#[tokio::test]
async fn a_mistyped_store_is_an_error_naming_it_and_nothing_is_created() {
    let missing_dir = std::env::temp_dir().join(format!("tokengate-typo-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&missing_dir).unwrap();
    let typo = missing_dir.join("tokengte.db");
    let url = format!("sqlite://{}", typo.display());
    let (status, err) = run_to_exit(&["tenant", "list", "--store", &url], &[], &[], Duration::from_secs(60));
    assert!(!status.success());
    assert!(err.contains(&typo.display().to_string()) && err.contains("does not exist"), "{err}");
    assert!(!typo.exists(), "a mistyped path became a new store");
    let _ = std::fs::remove_dir_all(&missing_dir);
}

#[tokio::test]
async fn an_unresponsive_postgres_fails_fast_naming_host_and_port() {
    // A loopback listener that accepts connections and never answers: the client must give up by
    // itself (bounded) and say where it tried.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = silent.accept().await {
            held.push(conn);
        }
    });
    let url = format!("postgres://tokengate:secret-password@127.0.0.1:{port}/tokengate");
    let (status, err) = tokio::task::spawn_blocking(move || {
        run_to_exit(&["tenant", "list", "--store", &url], &[], &[], Duration::from_secs(25))
    })
    .await
    .unwrap();
    holder.abort();
    assert!(!status.success());
    assert!(err.contains(&format!("127.0.0.1:{port}")) && err.contains("cannot reach"), "{err}");
    assert!(!err.contains("secret-password"), "the password is never printed: {err}");
}
