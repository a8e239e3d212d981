//! The CLI on the admin API, on the real binary against a real `tokengate dev`: tables and
//! `-o json`, `--admin-url` with a bearer token or client credentials, an auditor's write refused
//! in one line, a stopped dev named in one line, and `audit tail` printing a new record.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::admin_api::admin_token;
use crate::harness::*;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `tokengate ARGS` with `env`, in a directory holding no `./tokengate-dev` (so only the flags
/// decide the target).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN).args(args).envs(env.iter().copied()).current_dir(std::env::temp_dir()).output().expect("cli runs")
}

#[tokio::test]
async fn dev_dir_commands_print_tables_and_json() {
    let s = DevServer::start().await;
    let tid = s.s("/tenant_id");

    let tenants = s.cli(&["tenant", "list"]);
    let mut lines = tenants.lines();
    assert!(lines.next().unwrap().starts_with("TENANT ID  "), "{tenants}");
    assert!(lines.any(|l| l.starts_with(&tid) && l.contains(&s.s("/tenant_domain"))), "{tenants}");

    let json: Vec<Value> = serde_json::from_str(&s.cli(&["tenant", "list", "-o", "json"])).unwrap();
    assert!(json.iter().any(|t| t["id"] == tid.as_str()), "{json:?}");

    let created = s.cli(&["app", "create", "--tenant", &tid, "--name", "Reports", "--identifier-uri", "api://reports"]);
    let app = created.split_whitespace().nth(1).unwrap().to_owned();
    s.cli(&["app", "add-scope", &app, "--value", "Reports.Read"]);
    let shown: Value = serde_json::from_str(&s.cli(&["app", "show", &app, "-o", "json"])).unwrap();
    assert_eq!(shown["scopes"][0]["value"], "Reports.Read", "{shown}");
    assert!(shown["created_at"].as_str().unwrap().ends_with('Z'), "ISO 8601 UTC: {shown}");
    let table = s.cli(&["app", "show", &app]);
    assert!(table.contains("identifier uris  api://reports"), "{table}");

    // Columns line up: every row's second column starts where the header's does.
    let users = s.cli(&["user", "list", "--tenant", &tid]);
    let column = users.lines().next().unwrap().find("USER PRINCIPAL NAME").unwrap();
    for line in users.lines().skip(1) {
        assert_eq!(&line[column - 2..column], "  ", "{users}");
        assert!(line[column..].split_whitespace().next().unwrap().contains('@'), "{users}");
    }
    let keys = s.cli(&["keys", "list"]);
    assert!(keys.starts_with("KID") && keys.contains("active"), "{keys}");
}

#[tokio::test]
async fn admin_url_takes_a_token_or_client_credentials_and_an_auditor_cannot_write() {
    let s = DevServer::start().await;
    let admin_url = s.s("/admin_url");
    let auditor = admin_token(&s, "auditor").await;

    let nodes = run(&["nodes", "--admin-url", &admin_url, "-o", "json"], &[("TOKENGATE_ADMIN_TOKEN", &auditor)]);
    assert!(nodes.status.success(), "{}", text(&nodes.stderr));
    let nodes: Vec<Value> = serde_json::from_slice(&nodes.stdout).unwrap();
    assert_eq!(nodes[0]["state"], "ready", "{nodes:?}");

    let refused = run(
        &["tenant", "create", "--name", "Nope", "--domain", "nope.test", "--admin-url", &admin_url],
        &[("TOKENGATE_ADMIN_TOKEN", &auditor)],
    );
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: 403: ") && stderr.contains("Tokengate.Admin"), "{stderr}");
    assert!(!stderr.contains(&auditor), "the token is never printed");

    // The admin client by client credentials, trusting the dev CA.
    let secret = s.s("/admin/client_secret");
    let created = run(
        &[
            "tenant",
            "create",
            "--name",
            "Fabrikam",
            "--domain",
            "fabrikam.test",
            "--admin-url",
            &admin_url,
            "--client-id",
            &s.s("/admin/client_id"),
            "--authority",
            &s.authority(),
            "--ca-cert",
            &s.s("/ca_cert"),
        ],
        &[("TOKENGATE_CLIENT_SECRET", &secret)],
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).starts_with("tenant ") && text(&created.stdout).contains("fabrikam.test"));

    let no_credentials = run(&["nodes", "--admin-url", &admin_url], &[]);
    assert!(!no_credentials.status.success());
    assert!(text(&no_credentials.stderr).contains("TOKENGATE_ADMIN_TOKEN"), "{}", text(&no_credentials.stderr));
}

#[tokio::test]
async fn a_stopped_dev_is_named_in_one_line() {
    let mut s = DevServer::start().await;
    assert!(s.terminate().success());
    let out = run(&["tenant", "list", "--dev-dir", s.dir.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: tokengate dev is not running in {}: start it with `cargo run --release -- dev`",
            s.dir.display()
        )
    );
}

#[tokio::test]
async fn audit_tail_prints_a_record_written_after_it_started() {
    let s = DevServer::start().await;
    let client = s.s("/confidential_client/client_id");
    // From seq 0 with filters: the new record arrives whether the tail connected before or after
    // the token request, so no sleep is needed.
    let mut tail = Command::new(BIN)
        .args(["audit", "tail", "-o", "json", "--after", "0", "--action", "token.client_credentials"])
        .args(["--client", &client, "--dev-dir"])
        .arg(&s.dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = tail.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });

    let token = s.demo_token().await;
    let uti = decode_jwt(&token).1["uti"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let record: Value = serde_json::from_str(&line).unwrap();
                assert_eq!(record["action"], "token.client_credentials", "{record}");
                if record["token_id"] == uti.as_str() {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = tail.kill();
    let _ = tail.wait();
    assert!(found, "the tail printed the token's issuance within 30 s");
}
