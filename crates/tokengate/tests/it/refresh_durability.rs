//! `kill -9` in the middle of refresh-token rotation: after a restart the family has exactly one
//! way forward, nothing is half-written, and the audit log agrees with the state.

use std::time::Duration;

use tokengate_core::audit::AuditSource;
use tokengate_core::store::{AuditQuery, AuditStore};

use crate::delegated_flows::{authorize_url, browser, redeem, refresh, sign_in_for_code, VERIFIER};
use crate::harness::*;

#[tokio::test]
async fn kill_9_during_rotation_leaves_one_live_token_per_family() {
    let mut s = DevServer::start().await;
    let mut b = browser(&s);
    let code = sign_in_for_code(&s, &mut b, &authorize_url(&s, &[])).await;
    let (status, body) = redeem(&s, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{body}");

    // Rotate as fast as one client can, and kill -9 the server mid-stream.
    let pid = s.child.as_ref().unwrap().id().to_string();
    let rotate = async {
        let mut last = body["refresh_token"].as_str().unwrap().to_owned();
        let mut received = 0u32;
        let client_id = s.s("/public_client/client_id");
        loop {
            let form =
                [("grant_type", "refresh_token"), ("client_id", client_id.as_str()), ("refresh_token", last.as_str())];
            // The kill cuts a request off: that ends the loop (no panic on a transport error).
            let Ok(r) = s.http.post(s.token_url()).form(&form).send().await else { return (received, last) };
            if r.status() != 200 {
                return (received, last);
            }
            let Ok(next) = r.json::<serde_json::Value>().await else { return (received, last) };
            received += 1;
            last = next["refresh_token"].as_str().unwrap().to_owned();
        }
    };
    let kill = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let status = std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        assert!(status.success());
    };
    let ((received, last), ()) = tokio::join!(rotate, kill);
    assert!(received >= 3, "rotations happened before the kill ({received})");
    let _ = s.child.take().unwrap().wait();

    // Restart on the same store.
    let dir = s.dir.clone();
    std::mem::forget(std::mem::replace(&mut s.dir, std::env::temp_dir().join("tokengate-it-moved")));
    drop(s);
    let s = DevServer::start_in(dir).await;

    // The last token the client received still works — as the live token, or (if the crash
    // came after the commit and before the response) as the immediately previous one within the
    // grace window, which withdraws the successor the client never saw.
    let (status, body) = refresh(&s, &last, None).await;
    assert_eq!(status, 200, "the client can go on after the crash: {body}");
    let next = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh(&s, &next, None).await;
    assert_eq!(status, 200, "one chain, no fork: {body}");
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["oid"], s.s("/user/object_id"));

    // Audit agrees with state: one `refresh_token.rotated` record per committed rotation — the
    // ones the client saw, at most one it did not (committed, response lost), and the two above.
    let store = tokengate_store::SqliteStore::open(&s.dir.join("tokengate.db")).await.unwrap();
    let rotated = store
        .audit_events(&AuditQuery {
            source: Some(AuditSource::Issuer),
            action: Some("refresh_token.rotated".into()),
            limit: 100_000,
        })
        .await
        .unwrap()
        .len() as u32;
    assert!(
        rotated == received + 2 || rotated == received + 3,
        "{rotated} rotations audited, {received} seen before the kill (+2 after)"
    );
}
