//! `tokengate token get | decode | explain` on the real binary against a real `tokengate dev`:
//! client credentials with a secret and with a certificate (tokens the dev gateway accepts), the
//! second call served from the 0600 cache, an explicit authority with the secret from the
//! environment, a refusal in one AADSTS line, the device code flow approved through the issuer's
//! pages with a silent refresh that stores the rotated refresh token, offline decode, and
//! explain naming the role a route misses.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::browser::Browser;
use crate::device_code_flow::enter_code;
use crate::harness::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `tokengate ARGS` with `env`, from a directory holding no `./tokengate-dev`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TOKENGATE_CLIENT_SECRET")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .expect("cli runs")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "failed: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `token get -o json` against the dev dir with this cache.
fn get_json(s: &DevServer, cache: &Path, extra: &[&str]) -> Value {
    let dir = s.dir.to_str().unwrap();
    let mut args = vec!["token", "get", "--dev-dir", dir, "--cache", cache.to_str().unwrap(), "-o", "json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&run(&args, &[]))).unwrap()
}

async fn gateway_status(s: &DevServer, path: &str, token: &str) -> u16 {
    s.http.get(s.gateway(path)).bearer_auth(token).send().await.unwrap().status().as_u16()
}

fn cache_path(s: &DevServer, name: &str) -> PathBuf {
    s.dir.join("cli-cache").join(name)
}

#[tokio::test]
async fn token_get_with_a_secret_or_certificate_is_cached_and_accepted_and_explained() {
    let s = DevServer::start().await;
    let dir = s.dir.to_str().unwrap().to_owned();
    let cache = cache_path(&s, "tokens.json");

    // The bare token on stdout, alone on its line.
    let printed = ok(&run(&["token", "get", "--dev-dir", &dir, "--cache", cache.to_str().unwrap()], &[]));
    assert_eq!(printed.lines().count(), 1, "{printed}");
    let token = printed.trim().to_owned();
    assert_eq!(gateway_status(&s, "/demo/hello", &token).await, 200);
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(cache.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);

    // Again: the same token, from the cache, without a request.
    let again = get_json(&s, &cache, &[]);
    assert_eq!((again["access_token"].as_str(), again["source"].as_str()), (Some(token.as_str()), Some("cache")));
    assert_eq!(again["token_type"], "Bearer");
    assert!(again["expires_on"].as_str().unwrap().ends_with('Z'), "{again}");
    let forced = get_json(&s, &cache, &["--force-refresh"]);
    assert_eq!(forced["source"], "authority", "no refresh token for client credentials: asked anew");
    assert_ne!(forced["access_token"], token.as_str());

    // The demo daemon's certificate: private_key_jwt, azpacr 2.
    let cert_cache = cache_path(&s, "cert.json");
    let by_cert = get_json(&s, &cert_cache, &["--certificate", &s.s("/confidential_client/certificate_pem")]);
    assert_eq!(by_cert["source"], "authority");
    let cert_token = by_cert["access_token"].as_str().unwrap();
    assert_eq!(decode_jwt(cert_token).1["azpacr"], "2", "authenticated by certificate");
    assert_eq!(gateway_status(&s, "/demo/hello", cert_token).await, 200);
    let short = get_json(&s, &cert_cache, &["--certificate"]);
    assert_eq!((short["access_token"].as_str(), short["source"].as_str()), (Some(cert_token), Some("cache")));

    // Any authority: explicit flags, the secret from the environment, no cache.
    let secret = s.s("/confidential_client/client_secret");
    let (authority, client_id, ca) = (s.authority(), s.s("/confidential_client/client_id"), s.s("/ca_cert"));
    let scope = s.api_scope();
    let explicit = [
        "token",
        "get",
        "--authority",
        &authority,
        "--client-id",
        &client_id,
        "--ca-cert",
        &ca,
        "--scope",
        &scope,
        "--no-cache",
    ];
    let out = run(&explicit, &[("TOKENGATE_CLIENT_SECRET", &secret)]);
    let explicit_token = ok(&out).trim().to_owned();
    assert_eq!(decode_jwt(&explicit_token).1["azpacr"], "1");
    assert_eq!(gateway_status(&s, "/demo/hello", &explicit_token).await, 200);

    // A wrong secret: one line with the AADSTS code, never the secret.
    let refused = run(&explicit, &[("TOKENGATE_CLIENT_SECRET", "not-the-secret")]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AADSTS7000215") && stderr.contains("invalid_client"), "{stderr}");
    assert!(!stderr.contains("not-the-secret") && refused.stdout.is_empty(), "{stderr}");

    // A cache others can read is refused.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = run(&["token", "get", "--dev-dir", &dir, "--cache", cache.to_str().unwrap()], &[]);
    assert!(!loose.status.success() && text(&loose.stderr).contains("chmod 600"), "{}", text(&loose.stderr));

    // Decode, offline.
    let decoded = ok(&run(&["token", "decode", &token], &[]));
    assert!(decoded.lines().next().unwrap().contains("NOT verified"), "{decoded}");
    assert!(decoded.lines().any(|l| l.trim_start().starts_with("exp") && l.contains("(in ")), "{decoded}");
    assert!(decoded.lines().any(|l| l.trim_start().starts_with("roles") && l.contains("Demo.Read.All")), "{decoded}");
    let json: Value = serde_json::from_str(&ok(&run(&["token", "decode", &token, "-o", "json"], &[]))).unwrap();
    assert_eq!((json["signature_verified"].as_bool(), json["header"]["alg"].as_str()), (Some(false), Some("RS256")));
    assert_eq!(json["claims"]["aud"], decode_jwt(&token).1["aud"]);
    let mut piped = Command::new(BIN)
        .args(["token", "decode", "-", "-o", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut piped.stdin.take().unwrap(), format!("Bearer {token}\n").as_bytes()).unwrap();
    let from_stdin: Value = serde_json::from_slice(&piped.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(from_stdin["claims"], json["claims"]);

    // Explain through the admin API: the demo route passes, demo-write names the missing role.
    let explained = s.cli(&["token", "explain", &token, "--route", "demo"]);
    assert!(explained.starts_with("verdict     verified"), "{explained}");
    assert!(explained.lines().any(|l| l.starts_with("demo ") && l.contains("pass")), "{explained}");
    assert!(explained.lines().any(|l| l.starts_with("roles") && l.len() > 40), "claims with meanings: {explained}");
    let write = s.cli(&["token", "explain", &token, "--route", "demo-write"]);
    let line = write.lines().find(|l| l.starts_with("demo-write")).unwrap_or_else(|| panic!("{write}"));
    assert!(line.contains("FAIL") && line.contains("Demo.Write.All"), "{write}");
    let json: Value =
        serde_json::from_str(&s.cli(&["token", "explain", &token, "--route", "demo-write", "-o", "json"])).unwrap();
    assert_eq!(json["routes"][0]["passes"], false, "{json}");
    assert!(json["routes"][0]["failing"].to_string().contains("Demo.Write.All"), "{json}");
}

/// Runs `token get --as user` while a person approves the code it prints on stderr.
async fn device_code_sign_in(s: &DevServer, cache: &Path) -> Value {
    let mut child = Command::new(BIN)
        .args(["token", "get", "--as", "user", "--dev-dir", s.dir.to_str().unwrap(), "-o", "json", "--cache"])
        .arg(cache)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let line =
        tokio::task::spawn_blocking(move || BufReader::new(stderr).lines().next().unwrap().unwrap()).await.unwrap();
    let user_code =
        line.split("enter the code ").nth(1).unwrap_or_else(|| panic!("{line}")).split_whitespace().next().unwrap();
    assert!(line.contains("/devicelogin"), "{line}");

    let mut b = Browser::new(&std::fs::read(s.s("/ca_cert")).unwrap());
    let confirm = enter_code(s, &mut b, user_code).await;
    assert_eq!(b.consent(&confirm, "accept").await.status, 200);

    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "token get did not finish after the sign-in");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn device_code_sign_in_is_cached_and_refreshed_silently_with_the_rotated_refresh_token() {
    let s = DevServer::start().await;
    let cache = cache_path(&s, "tokens.json");

    let signed_in = device_code_sign_in(&s, &cache).await;
    assert_eq!(signed_in["source"], "authority");
    let token = signed_in["access_token"].as_str().unwrap().to_owned();
    let claims = decode_jwt(&token).1;
    assert_eq!(
        (claims["scp"].as_str(), claims["oid"].as_str()),
        (Some("Demo.Read"), Some(s.s("/user/object_id").as_str()))
    );
    assert_eq!(gateway_status(&s, "/demo/hello", &token).await, 200);

    // Again: from the cache, no sign-in.
    let again = get_json(&s, &cache, &["--as", "user"]);
    assert_eq!((again["access_token"].as_str(), again["source"].as_str()), (Some(token.as_str()), Some("cache")));

    // Expired in the cache: refreshed silently, and the rotated refresh token replaces the old one.
    let mut file: Value = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let entry = &mut file["tokens"][0];
    assert_eq!(entry["user"], s.s("/user/username").to_lowercase(), "{entry}");
    let first_refresh = entry["refresh_token"].as_str().unwrap().to_owned();
    entry["expires_on"] = Value::from(0);
    std::fs::write(&cache, file.to_string()).unwrap();
    let refreshed = get_json(&s, &cache, &["--as", "user"]);
    assert_eq!(refreshed["source"], "refresh", "{refreshed}");
    let new_token = refreshed["access_token"].as_str().unwrap();
    assert_ne!(new_token, token);
    assert_eq!(gateway_status(&s, "/demo/hello", new_token).await, 200);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    let second_refresh = file["tokens"][0]["refresh_token"].as_str().unwrap();
    assert_ne!(second_refresh, first_refresh, "the rotated refresh token is stored");
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o600);
    let served = get_json(&s, &cache, &["--as", "user"]);
    assert_eq!((served["access_token"].as_str(), served["source"].as_str()), (Some(new_token), Some("cache")));
}
