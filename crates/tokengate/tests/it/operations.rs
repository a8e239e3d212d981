use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokengate_core::store::{AuditQuery, AuditStore};

use crate::harness::*;

#[tokio::test]
async fn key_rotation_publishes_ahead_and_keeps_old_keys_until_tokens_expire() {
    let s = DevServer::start().await;
    let jwks_url = format!("{}/discovery/v2.0/keys", s.authority());
    let (_, body) = s.secret_token().await;
    let old_token = body["access_token"].as_str().unwrap().to_owned();
    let old_kid = decode_jwt(&old_token).0["kid"].as_str().unwrap().to_owned();
    let before: Value = s.http.get(&jwks_url).send().await.unwrap().json().await.unwrap();
    let next_kid = before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .find(|k| *k != old_kid)
        .expect("a next key is published ahead");

    let out = s.cli(&["keys", "rotate"]);
    assert!(out.contains(&next_kid), "the published next key becomes active: {out}");

    // The running issuer picks the rotation up by itself (reload period 5 s in dev).
    let deadline = Instant::now() + Duration::from_secs(30);
    let new_token = loop {
        let (_, body) = s.secret_token().await;
        let token = body["access_token"].as_str().unwrap().to_owned();
        if decode_jwt(&token).0["kid"] == next_kid.as_str() {
            break token;
        }
        assert!(Instant::now() < deadline, "new key not used within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let after: Value = s.http.get(&jwks_url).send().await.unwrap().json().await.unwrap();
    let kids: Vec<&str> = after["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids.len(), 3, "retired, active and a new next key: {kids:?}");
    verify_with_jwks(&old_token, &after);
    verify_with_jwks(&new_token, &after);

    // Emergency removal: the old key leaves the JWKS, its tokens no longer verify.
    s.cli(&["keys", "remove", &old_kid]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let jwks: Value = s.http.get(&jwks_url).send().await.unwrap().json().await.unwrap();
        if !jwks["keys"].as_array().unwrap().iter().any(|k| k["kid"] == old_kid.as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "removed key still published after 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = s.cli(&["keys", "list"]);
    assert!(!listed.contains(&old_kid));
}

#[tokio::test]
async fn audit_records_every_decision_and_the_store_holds_nothing_usable() {
    let mut s = DevServer::start().await;
    let (status, body) = s.secret_token().await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap().to_owned();
    let uti = decode_jwt(&token).1["uti"].as_str().unwrap().to_owned();
    let (status, _) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/confidential_client/client_id")),
                ("client_secret", "wrong-secret-value"),
                ("scope", &s.api_scope()),
            ],
        )
        .await;
    assert_eq!(status, 401);

    // SIGTERM: clean exit, audit queue flushed before exit.
    let status = s.terminate();
    assert!(status.success(), "exit status {status}");

    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    let events = store
        .audit_events(&AuditQuery { action: Some("token.client_credentials".into()), limit: 100, ..Default::default() })
        .await
        .unwrap();
    let allowed =
        events.iter().find(|e| e.token_id.as_deref() == Some(uti.as_str())).expect("issued token audited by uti");
    assert_eq!(allowed.status, Some(200));
    assert_eq!(allowed.client_id.as_deref(), Some(s.s("/confidential_client/client_id").as_str()));
    assert_eq!(allowed.client_ip.as_deref(), Some("127.0.0.1"));
    let denied =
        events.iter().find(|e| e.reason.as_deref() == Some("AADSTS7000215")).expect("denial audited with reason");
    assert_eq!(denied.status, Some(401));

    // A dump of the database holds no secret, token or private key.
    let mut dump = std::fs::read(s.dir.join("tokengate.db")).unwrap();
    if let Ok(wal) = std::fs::read(s.dir.join("tokengate.db-wal")) {
        dump.extend(wal);
    }
    let contains = |needle: &str| dump.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&s.s("/confidential_client/client_secret")), "client secret stored in clear");
    assert!(!contains(&s.s("/admin/client_secret")), "admin secret stored in clear");
    assert!(!contains("wrong-secret-value"), "presented secret stored");
    assert!(!contains(&token), "access token stored");
    assert!(!contains("PRIVATE KEY"), "PEM private key stored");

    // Restart on the same dir: same tenant, same clients, the old secret still works.
    let dir = s.dir.clone();
    let tenant = s.s("/tenant_id");
    std::mem::forget(std::mem::replace(&mut s.dir, std::env::temp_dir().join("tokengate-it-moved")));
    drop(s);
    let again = DevServer::start_in(dir).await;
    assert_eq!(again.s("/tenant_id"), tenant);
    assert_eq!(again.secret_token().await.0, 200);
}

#[tokio::test]
async fn serve_validates_config_up_front_and_runs_from_a_real_config() {
    let dir = std::env::temp_dir().join(format!("tokengate-serve-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[issuer]\nlisten = \"nope\"\ntls_cert = \"missing.pem\"\n[tokens]\nclock_skew = -1\n")
        .unwrap();
    let out = Command::new(BIN).args(["serve", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in ["issuer.listen", "tls_cert", "tls_key", "clock skew", "key-encryption key"] {
        assert!(err.contains(expected), "problem about {expected} not listed: {err}");
    }

    // A real config: certificate files from a dev data dir, its own SQLite file and key.
    let dev = DevServer::start().await;
    let (ca, cert, key) = (dev.dir.join("ca.pem"), dev.dir.join("server.pem"), dev.dir.join("server-key.pem"));
    for (from, to) in [(&ca, "ca.pem"), (&cert, "server.pem"), (&key, "server-key.pem")] {
        std::fs::copy(from, dir.join(to)).unwrap();
    }
    drop(dev);
    std::fs::write(dir.join("kek"), format!("{}\n", tokengate_core::encoding::b64([7u8; 32]))).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gateway_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        dir.join("gateway.toml"),
        "[[issuer]]\nname = \"local\"\nkind = \"builtin\"\n[[route]]\nname = \"inventory\"\npath_prefix = \"/inventory/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"local\"]\naudiences = [\"api://inventory\"]\nroles_any = [\"Inventory.Read\"]\n",
    )
    .unwrap();
    let good = dir.join("tokengate.toml");
    std::fs::write(
        &good,
        format!("[store]\nurl = \"sqlite://tokengate.db\"\n[issuer]\nlisten = \"127.0.0.1:{port}\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n[keys]\nencryption_key_file = \"kek\"\n[gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\npolicy_file = \"gateway.toml\"\ntls_cert = \"server.pem\"\ntls_key = \"server-key.pem\"\n"),
    )
    .unwrap();
    let check = Command::new(BIN).args(["serve", "--check", "--config"]).arg(&good).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // No store is created by accident: the CLI names the missing file; `init` creates it.
    let before_init = Command::new(BIN).args(["tenant", "list", "--config"]).arg(&good).output().unwrap();
    assert!(!before_init.status.success());
    let err = String::from_utf8_lossy(&before_init.stderr);
    assert!(err.contains("tokengate.db") && err.contains("does not exist"), "{err}");
    assert!(!dir.join("tokengate.db").exists(), "a store was created by a read");
    let init = Command::new(BIN).args(["init", "--config"]).arg(&good).output().unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));

    // Directory set-up through the CLI against the same config.
    let cli = |args: &[&str]| {
        let out = Command::new(BIN).args(args).arg("--config").arg(&good).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tenant = cli(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.test"])
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let api = cli(&[
        "app",
        "create",
        "--tenant",
        &tenant,
        "--name",
        "Inventory",
        "--identifier-uri",
        "api://inventory",
        "--token-version",
        "2",
    ])
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_owned();
    cli(&["app", "add-role", &api, "--value", "Inventory.Read"]);
    let client =
        cli(&["app", "create", "--tenant", &tenant, "--name", "Worker"]).split_whitespace().nth(1).unwrap().to_owned();
    let secret_out = cli(&["secret", "create", &client, "--days", "30"]);
    let secret =
        secret_out.lines().find_map(|l| l.strip_prefix("value (shown once, store it now): ")).unwrap().to_owned();
    cli(&[
        "grant",
        "app-role",
        "--tenant",
        &tenant,
        "--client",
        &client,
        "--resource",
        &api,
        "--role",
        "Inventory.Read",
    ]);
    assert!(cli(&["grant", "list", "--tenant", &tenant, "--client", &client]).contains("Inventory.Read"));
    assert!(cli(&["secret", "list", &client]).contains(&secret[..3]));
    assert!(!cli(&["secret", "list", &client]).contains(&secret), "secret values are never shown again");

    let mut child =
        Command::new(BIN).args(["serve", "--config"]).arg(&good).env("TOKENGATE_LOG", "warn").spawn().unwrap();
    let http = https_client(&std::fs::read(dir.join("ca.pem")).unwrap());
    let url = format!("https://127.0.0.1:{port}/fabrikam.test/oauth2/v2.0/token");
    let deadline = Instant::now() + Duration::from_secs(60);
    let body: Value = loop {
        let sent = http
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client),
                ("client_secret", &secret),
                ("scope", "api://inventory/.default"),
            ])
            .send()
            .await;
        if let Ok(r) = sent {
            assert_eq!(r.status(), 200);
            break r.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let claims = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["roles"], serde_json::json!(["Inventory.Read"]));
    assert_eq!(claims["tid"], tenant);
    // The gateway of the same process validates that token (v2: aud is the client id, so the
    // policy's App ID URI does not match) — and a v2 policy naming the client id would.
    let token = body["access_token"].as_str().unwrap();
    // The gateway listener serves HTTPS with the configured certificate (HTTP/2 by ALPN).
    let gw = https_client(&std::fs::read(dir.join("ca.pem")).unwrap());
    let r = gw.get(format!("https://127.0.0.1:{gateway_port}/inventory/x")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 401, "aud is the API's client id for v2 tokens");
    std::fs::write(
        dir.join("gateway.toml"),
        format!("[[issuer]]\nname = \"local\"\nkind = \"builtin\"\n[[route]]\nname = \"inventory\"\npath_prefix = \"/inventory/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"local\"]\naudiences = [\"api://inventory\", \"{api}\"]\nroles_any = [\"Inventory.Read\"]\n"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r =
            gw.get(format!("https://127.0.0.1:{gateway_port}/inventory/x")).bearer_auth(token).send().await.unwrap();
        if r.status() == 200 {
            let seen: serde_json::Value = r.json().await.unwrap();
            assert_eq!(seen["headers"]["x-forwarded-proto"], "https");
            break;
        }
        assert!(Instant::now() < deadline, "policy not reloaded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn users_groups_and_consent_through_the_cli() {
    let s = DevServer::start().await;
    let tid = s.s("/tenant_id");
    let domain = s.s("/tenant_domain");
    assert_eq!(s.s("/user/username"), format!("demo@{domain}"));
    assert!(s.s("/user/password").len() >= 16);
    assert!(s.s("/admin_user/username").starts_with("admin@"));
    let listed = s.cli(&["user", "list", "--tenant", &tid]);
    assert!(listed.contains(&s.s("/user/object_id")) && listed.contains("admin@"), "{listed}");

    let run = |args: &[&str], password: Option<&str>| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).arg("--dev-dir").arg(&s.dir);
        if let Some(p) = password {
            cmd.env("TOKENGATE_USER_PASSWORD", p);
        }
        cmd.output().unwrap()
    };
    let out = run(
        &["user", "create", "--tenant", &tid, "--upn", &format!("Bob@{domain}"), "--name", "Bob"],
        Some("a long enough password"),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bob = String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).unwrap().to_owned();
    let refused = run(
        &["user", "create", "--tenant", &tid, "--upn", "eve@elsewhere.example", "--name", "Eve"],
        Some("a long enough password"),
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a verified domain"));
    let no_password =
        run(&["user", "create", "--tenant", &tid, "--upn", &format!("carol@{domain}"), "--name", "Carol"], None);
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("TOKENGATE_USER_PASSWORD"));
    let weak = run(
        &["user", "create", "--tenant", &tid, "--upn", &format!("carol@{domain}"), "--name", "Carol"],
        Some("short"),
    );
    assert!(String::from_utf8_lossy(&weak.stderr).contains("8 to 256"));

    s.cli(&["user", "disable", &bob]);
    assert!(s.cli(&["user", "list", "--tenant", &tid]).lines().any(|l| l.contains(&bob) && l.ends_with("disabled")));
    let group =
        s.cli(&["group", "create", "--tenant", &tid, "--name", "Ops"]).split_whitespace().nth(1).unwrap().to_owned();
    s.cli(&["group", "add-member", &group, "--user", &bob]);
    s.cli(&[
        "user",
        "assign-role",
        "--tenant",
        &tid,
        "--principal",
        &group,
        "--resource",
        &s.s("/api/app_id"),
        "--role",
        "Demo.Admin",
    ]);
    let app_only_role = run(
        &[
            "user",
            "assign-role",
            "--tenant",
            &tid,
            "--principal",
            &bob,
            "--resource",
            &s.s("/api/app_id"),
            "--role",
            "Demo.Read.All",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&app_only_role.stderr).contains("cannot be assigned to users"));
    let consent = s.cli(&[
        "consent",
        "grant",
        "--tenant",
        &tid,
        "--client",
        &s.s("/public_client/client_id"),
        "--resource",
        &s.s("/api/app_id"),
        "--scope",
        "Demo.Write",
        "--user",
        &bob,
    ]);
    assert!(consent.contains("Demo.Write"));
    let bad_scope = run(
        &[
            "consent",
            "grant",
            "--tenant",
            &tid,
            "--client",
            &s.s("/public_client/client_id"),
            "--resource",
            &s.s("/api/app_id"),
            "--scope",
            "Nope",
        ],
        None,
    );
    assert!(!bad_scope.status.success());

    // No password in clear in the store.
    let mut dump = std::fs::read(s.dir.join("tokengate.db")).unwrap();
    if let Ok(wal) = std::fs::read(s.dir.join("tokengate.db-wal")) {
        dump.extend(wal);
    }
    for secret in [s.s("/user/password"), "a long enough password".to_owned()] {
        assert!(!dump.windows(secret.len()).any(|w| w == secret.as_bytes()), "password stored in clear");
    }
}

/// The allocator settings mimalloc reads only at start (`allocator_settings.rs`): the process
/// starts itself again with them, keeping its pid, and runs without transparent huge pages.
#[tokio::test]
async fn the_process_runs_with_its_allocator_settings() {
    let s = DevServer::start().await;
    let pid = s.child.as_ref().expect("running").id();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("the process environment");
    let environ: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    for setting in ["MIMALLOC_PURGE_DELAY=100", "MIMALLOC_ALLOW_THP=0"] {
        assert!(environ.contains(&setting.as_bytes()), "{setting} in the environment of pid {pid}");
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process status");
    // Linux reports it since 5.0; an older kernel has nothing to check.
    if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
