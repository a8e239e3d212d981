//! Versioned gateway policies end to end, on real processes sharing one real Postgres: a policy
//! file applied through the CLI (diff and simulation first) runs on every gateway node once
//! `policy apply --wait` returns, every decision names the version that made it, a rollback
//! restores the old behaviour everywhere, and editing the dev node's policy file publishes a
//! version too. The order of events is the test: no timing assertion.

use std::time::Duration;

use serde_json::Value;

use crate::cluster::{pg_server, psql, Cluster};

const ALLOWED_EVERYWHERE: [u16; 3] = [200, 200, 200];
const FORBIDDEN_EVERYWHERE: [u16; 3] = [403, 403, 403];

fn stricter(policy: &str) -> String {
    let read = "roles_any = [\"Demo.Read.All\"]\nscopes_any = [\"Demo.Read\"]";
    assert!(policy.contains(read), "the dev policy's demo route: {policy}");
    policy.replacen(read, "roles_any = [\"Demo.Admin.All\"]\nscopes_any = [\"Demo.Admin\"]", 1)
}

fn history(c: &Cluster) -> Value {
    let (ok, out, err) = c.cli(&["policy", "history", "-o", "json"]);
    assert!(ok, "policy history: {err}");
    serde_json::from_str(&out).unwrap()
}

#[tokio::test]
async fn an_applied_policy_runs_on_every_node_and_a_rollback_restores_it() {
    let Some(server) = pg_server() else { return };
    let c = Cluster::start(&server, 2).await;
    let token = c.issuer.demo_token().await;
    assert_eq!(c.statuses(&token).await, ALLOWED_EVERYWHERE);

    // Three nodes with the same file: it was published once (the others found it published).
    let first = history(&c);
    assert_eq!(first["items"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["published"], 1);
    assert!(first["items"][0]["origin"].as_str().unwrap().starts_with("file:"), "{first}");

    let original = std::fs::read_to_string(c.issuer.s("/gateway_policy")).unwrap();
    let draft = c.issuer.dir.join("admins-only.toml");
    std::fs::write(&draft, stricter(&original)).unwrap();
    let draft = draft.to_str().unwrap();

    // A dry run names the change and the requests it would refuse (the three just allowed; the
    // audit writer commits in the background, so ask again until they are in: bounded).
    let mut preview = String::new();
    for _ in 0..50 {
        let (ok, out, err) = c.cli(&["policy", "apply", "-f", draft, "--dry-run"]);
        assert!(ok, "dry run: {err}");
        preview = out;
        if !preview.contains(": 0 would now be denied") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        preview.contains("~ route demo: require.roles_any: [\"Demo.Read.All\"] -> [\"Demo.Admin.All\"]"),
        "{preview}"
    );
    assert!(!preview.contains(": 0 would now be denied"), "{preview}");
    assert!(preview.contains("denied: insufficient_scope"), "{preview}");
    assert_eq!(history(&c)["published"], 1, "a dry run publishes nothing");

    // Without a terminal and without --yes nothing is published.
    let (ok, _, err) = c.cli(&["policy", "apply", "-f", draft]);
    assert!(!ok && err.contains("--yes"), "{err}");

    let (ok, out, err) = c.cli(&["policy", "apply", "-f", draft, "-m", "admins only", "--yes", "--wait"]);
    assert!(ok, "apply: {err}");
    assert!(out.contains("version 2") && out.contains("3 live gateway node(s) run version 2"), "{out}");
    assert_eq!(c.statuses(&token).await, FORBIDDEN_EVERYWHERE, "every node runs version 2 once apply returns");

    // Applying the same file again changes nothing.
    let (ok, out, _) = c.cli(&["policy", "apply", "-f", draft, "--yes"]);
    assert!(ok && out.contains("no changes"), "{out}");

    // Every decision names its version: the refusals above were decided under v2 (bounded wait
    // for the background audit writers of three nodes).
    let mut decided_under_v2 = 0;
    for _ in 0..50 {
        decided_under_v2 = psql(
            &c.db.url,
            "SELECT count(*) FROM audit_events WHERE action = 'gateway.request' AND detail::jsonb->>'policy_version' = 'v2' AND reason = 'insufficient_scope'",
        )
        .parse::<i64>()
        .unwrap();
        if decided_under_v2 >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(decided_under_v2 >= 3, "{decided_under_v2} refusals recorded under v2");

    let (ok, out, err) = c.cli(&["policy", "rollback", "--to", "1", "--yes", "--wait"]);
    assert!(ok, "rollback: {err}");
    assert!(out.contains("version 3"), "{out}");
    assert_eq!(c.statuses(&token).await, ALLOWED_EVERYWHERE, "the rollback runs everywhere once it returns");

    let (ok, table, _) = c.cli(&["policy", "history"]);
    assert!(ok);
    assert!(table.contains("admins only") && table.contains("(rollback to 1)"), "{table}");
    let (ok, shown, _) = c.cli(&["policy", "show"]);
    assert!(ok && shown.starts_with("# version 3 by ") && shown.contains("roles_any = [\"Demo.Read.All\"]"), "{shown}");
    let (ok, changes, _) = c.cli(&["policy", "diff", "--from", "1", "--to", "2"]);
    assert!(ok && changes.lines().count() == 2, "{changes}");

    // Each version was audited with the one who published it.
    let audited = psql(&c.db.url, "SELECT count(*) FROM audit_events WHERE action = 'policy.published'");
    assert_eq!(audited, "3");

    // Editing the dev node's policy file publishes a new version, which every node runs.
    std::fs::write(c.issuer.s("/gateway_policy"), stricter(&original)).unwrap();
    let mut latest = Value::Null;
    for _ in 0..100 {
        latest = history(&c);
        if latest["published"] == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(latest["published"], 4, "{latest}");
    assert!(latest["items"][0]["message"].as_str().unwrap().contains("changed"), "{latest}");
    let (ok, out, err) = c.cli(&["policy", "apply", "-f", draft, "--yes", "--wait"]);
    assert!(ok && out.contains("no changes"), "the file's content is what v4 holds: {out} {err}");
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses = c.statuses(&token).await;
        if statuses == FORBIDDEN_EVERYWHERE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(statuses, FORBIDDEN_EVERYWHERE);
}
