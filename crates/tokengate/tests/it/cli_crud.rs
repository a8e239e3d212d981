//! Create, show, list, update and delete from the CLI on the admin API, on the real binary: a
//! redirect URI added after `app create` and removed again, a stale ETag refused in one line, an
//! app deleted by name (asked first), a group member removed, a role assigned and unassigned, a
//! consent granted and revoked.

use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::*;

/// `tokengate ARGS --dev-dir DIR` with no terminal on stdin, whatever its outcome.
fn run(s: &DevServer, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--dev-dir")
        .arg(&s.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("cli runs")
}

/// The one error line of a failed command.
fn refusal(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The `etag` line of a `show` table.
fn etag(shown: &str) -> String {
    shown.lines().find_map(|l| l.strip_prefix("etag")).unwrap().trim().to_owned()
}

#[tokio::test]
async fn an_app_is_created_changed_and_deleted_by_name() {
    let s = DevServer::start().await;
    let domain = s.s("/tenant_domain");
    let created = s.cli(&["app", "create", "--tenant", &domain, "--name", "Billing", "--group-claims", "-o", "json"]);
    let app = json(&created);
    assert_eq!(app["group_membership_claims"], true, "flags set right after create: {app}");
    let app_id = app["app_id"].as_str().unwrap().to_owned();

    // A redirect URI after create, by the app's name; then removed again.
    s.cli(&["app", "add-redirect", "Billing", "--redirect-uri", "spa=https://billing.example/cb"]);
    let shown = s.cli(&["app", "show", &app_id]);
    assert!(shown.contains("spa=https://billing.example/cb"), "{shown}");
    let duplicate = run(&s, &["app", "add-redirect", &app_id, "--redirect-uri", "spa=https://billing.example/cb"]);
    let line = refusal(&duplicate);
    assert!(line.starts_with("error: 409: ") && !line.to_lowercase().contains("sql"), "{line}");
    s.cli(&["app", "remove-redirect", "Billing", "--redirect-uri", "https://billing.example/cb"]);
    assert!(!s.cli(&["app", "show", "Billing"]).contains("billing.example"));

    // Update by App ID URI after naming one; a second update from the same read is refused.
    s.cli(&["app", "update", "Billing", "--identifier-uri", "api://billing", "--token-version", "2"]);
    let shown = s.cli(&["app", "show", "api://billing"]);
    assert!(shown.contains("token version    2"), "{shown}");
    let read = etag(&shown);
    s.cli(&["app", "update", "api://billing", "--name", "Invoices", "--if-match", &read]);
    let stale = run(&s, &["app", "update", "api://billing", "--name", "Receipts", "--if-match", &read]);
    let line = refusal(&stale);
    assert!(line.starts_with("error: 412: app api://billing changed since version"), "{line}");
    assert!(line.contains("tokengate app show api://billing"), "{line}");
    assert_eq!(json(&s.cli(&["app", "show", &app_id, "-o", "json"]))["display_name"], "Invoices");

    // Scopes and roles come off again.
    s.cli(&["app", "add-scope", "Invoices", "--value", "Invoices.Read"]);
    s.cli(&["app", "add-role", "Invoices", "--value", "Invoices.Admin", "--members", "user"]);
    s.cli(&["app", "remove-scope", "Invoices", "Invoices.Read"]);
    s.cli(&["app", "remove-role", "Invoices", "Invoices.Admin"]);
    let shown = json(&s.cli(&["app", "show", "Invoices", "-o", "json"]));
    assert_eq!((shown["scopes"].as_array().unwrap().len(), shown["app_roles"].as_array().unwrap().len()), (0, 0));

    // A secret by the app's name.
    assert!(s.cli(&["secret", "create", "Invoices", "--days", "1"]).contains("value (shown once"));

    // Deleting asks; without a terminal only --yes goes ahead.
    let asked = run(&s, &["app", "delete", "Invoices"]);
    assert!(refusal(&asked).contains("pass --yes"));
    s.cli(&["app", "delete", "Invoices", "--yes"]);
    let gone = refusal(&run(&s, &["app", "show", "Invoices"]));
    assert!(gone.contains("no app has the client id, App ID URI or name 'Invoices'"), "{gone}");
    let gone = refusal(&run(&s, &["app", "show", &app_id]));
    assert!(gone.starts_with("error: 404: "), "{gone}");
}

#[tokio::test]
async fn members_roles_and_consents_come_and_go() {
    let s = DevServer::start().await;
    let tid = s.s("/tenant_id");
    let user = s.s("/user/username");
    let api = s.s("/api/app_id");

    // Group: create, add and remove a member, rename, delete by name.
    s.cli(&["group", "create", "--tenant", &tid, "--name", "Auditors"]);
    s.cli(&["group", "add-member", "Auditors", "--user", &user]);
    assert!(s.cli(&["group", "members", "Auditors"]).contains(&user));
    assert!(s.cli(&["user", "groups", &user]).contains("Auditors"));
    s.cli(&["group", "remove-member", "Auditors", "--user", &user]);
    assert!(!s.cli(&["group", "members", "Auditors"]).contains(&user));
    let missing = refusal(&run(&s, &["group", "remove-member", "Auditors", "--user", &user]));
    assert!(missing.starts_with("error: 404: "), "{missing}");
    // App role: assign to a user and to a group by name, list, unassign (by role, by id).
    s.cli(&["app", "add-role", &api, "--value", "Demo.Ops", "--members", "user"]);
    s.cli(&["user", "assign-role", "--principal", &user, "--resource", &api, "--role", "Demo.Ops"]);
    let roles = s.cli(&["user", "roles", &user]);
    assert!(roles.starts_with("ASSIGNMENT ID") && roles.contains("Demo.Ops"), "{roles}");
    s.cli(&["user", "unassign-role", "--principal", &user, "--resource", &api, "--role", "Demo.Ops"]);
    assert!(!s.cli(&["user", "roles", &user]).contains("Demo.Ops"));
    let assigned = json(&s.cli(&[
        "user",
        "assign-role",
        "--tenant",
        &tid,
        "--principal",
        "Auditors",
        "--resource",
        &api,
        "--role",
        "Demo.Ops",
        "-o",
        "json",
    ]));
    let assignment = assigned["id"].as_str().unwrap();
    s.cli(&["user", "unassign-role", "--tenant", &tid, "--principal", "Auditors", "--assignment", assignment]);
    assert!(!s.cli(&["user", "roles", "--tenant", &tid, "Auditors"]).contains("Demo.Ops"));

    // Rename; a name two groups share is refused in words; delete by id.
    s.cli(&["group", "update", "Auditors", "--name", "Reviewers"]);
    let second = json(&s.cli(&["group", "create", "--tenant", &tid, "--name", "Reviewers", "-o", "json"]));
    let ambiguous = refusal(&run(&s, &["group", "show", "Reviewers"]));
    assert!(ambiguous.contains("2 groups are named 'Reviewers'"), "{ambiguous}");
    s.cli(&["group", "delete", second["object_id"].as_str().unwrap(), "--yes"]);
    assert!(s.cli(&["group", "show", "Reviewers"]).contains("Reviewers"));

    // Consent: grant for one user, find it, show it, revoke it.
    let client = s.s("/public_client/client_id");
    let granted = json(&s.cli(&[
        "consent",
        "grant",
        "--tenant",
        &tid,
        "--client",
        &client,
        "--resource",
        &api,
        "--scope",
        "Demo.Write",
        "--user",
        &user,
        "-o",
        "json",
    ]));
    let consent = granted["id"].as_str().unwrap().to_owned();
    let listed = s.cli(&["consent", "list", "--client", &client, "--user", &user]);
    assert!(listed.contains(&consent) && listed.contains("Demo.Write"), "{listed}");
    assert!(s.cli(&["consent", "show", &consent]).contains("Demo.Write"));
    s.cli(&["consent", "revoke", &consent]);
    assert!(!s.cli(&["consent", "list", "--client", &client, "--user", &user]).contains(&consent));
    let gone = refusal(&run(&s, &["consent", "show", &consent]));
    assert!(gone.starts_with("error: 404: "), "{gone}");

    // A tenant with two domains (the second follows the create), renamed, a domain swapped.
    let tenant = json(&s.cli(&[
        "tenant",
        "create",
        "--name",
        "Contoso",
        "--domain",
        "contoso.test",
        "--domain",
        "contoso.example",
        "-o",
        "json",
    ]));
    let domains = tenant["domains"].as_array().unwrap();
    assert!(domains.len() == 2 && domains.iter().any(|d| d == "contoso.example"), "{tenant}");
    s.cli(&["tenant", "update", "contoso.test", "--name", "Contoso Ltd", "--add-domain", "contoso.org"]);
    s.cli(&["tenant", "update", "Contoso Ltd", "--remove-domain", "contoso.example"]);
    let shown = s.cli(&["tenant", "show", "contoso.org"]);
    let domains = shown.lines().find_map(|l| l.strip_prefix("domains")).unwrap().trim();
    assert!(shown.contains("Contoso Ltd") && domains.split(',').count() == 2, "{shown}");
    assert!(!domains.contains("contoso.example") && domains.contains("contoso.org"), "{shown}");
    let wrong = refusal(&run(&s, &["tenant", "update", "contoso.org", "--remove-domain", "nope.test"]));
    assert!(wrong.contains("no domain 'nope.test'"), "{wrong}");

    // A user: update, then delete (asked first).
    let out = Command::new(BIN)
        .args(["user", "create", "--tenant", &tid, "--upn", &format!("temp@{}", s.s("/tenant_domain"))])
        .args(["--name", "Temp", "--dev-dir"])
        .arg(&s.dir)
        .env("TOKENGATE_USER_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let upn = format!("temp@{}", s.s("/tenant_domain"));
    s.cli(&["user", "update", &upn, "--name", "Temporary"]);
    assert!(s.cli(&["user", "show", &upn]).contains("Temporary"));
    s.cli(&["user", "delete", &upn, "--yes"]);
    assert!(refusal(&run(&s, &["user", "show", &upn])).contains(&format!("no user '{upn}'")));
}
