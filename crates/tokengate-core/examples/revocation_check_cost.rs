//! What the per-request revocation check costs with 100,000 live revocations (issue #10's target:
//! ≤ 1 µs, no allocation). Run: `cargo run --release -p tokengate-core --example revocation_check_cost`
//! (bench/revocation.sh does, and records the figures). An instrumented allocator proves the check
//! allocates nothing.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tokengate_core::access::revocation::RevocationSet;
use tokengate_core::access::VerifiedToken;
use tokengate_core::revocations::{NewRevocation, Revocation, RevocationTarget};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn token(uti: &str, oid: &str, client: &str, kid: &str) -> VerifiedToken {
    VerifiedToken {
        issuer: Arc::from("tokengate"),
        iss: "https://login.example/t/v2.0".into(),
        aud: vec![Arc::from("api")].into_boxed_slice(),
        aud_is_array: false,
        tid: Some("6b0e7f36-0000-4000-8000-000000000001".into()),
        oid: Some(oid.into()),
        sub: Some("s".into()),
        client_id: Some(client.into()),
        uti: Some(uti.into()),
        ver: Some("2.0".into()),
        scp_present: false,
        idtyp: Some("app".into()),
        scopes: Box::new([]),
        roles: vec![Arc::from("Orders.Read.All")].into_boxed_slice(),
        groups: Box::new([]),
        groups_overage: false,
        exp: 2_000_000_000,
        iat: Some(1_900_000_000),
        kid: kid.into(),
        cae_capable: false,
        extra: Box::new([]),
    }
}

fn main() {
    const LIVE: usize = 100_000;
    const CHECKS: u64 = 5_000_000;
    // 100,000 revocations of every kind: 70% tokens, 20% users, 9% clients, the rest keys.
    let tenant = "6b0e7f36-0000-4000-8000-000000000001";
    let rows: Vec<Revocation> = (0..LIVE)
        .map(|i| {
            let target = match i % 100 {
                0..=69 => RevocationTarget::Token { token_id: format!("uti-{i:08}-AAAAAAAAAAAAAA") },
                70..=89 => RevocationTarget::User {
                    tenant_id: tenant.into(),
                    object_id: format!("{i:08}-0000-4000-8000-000000000000"),
                },
                90..=98 => RevocationTarget::Client {
                    client_id: format!("{i:08}-1111-4000-8000-000000000000"),
                    disable_credentials: false,
                },
                _ => RevocationTarget::Key { kid: format!("kid-{i:08}") },
            };
            Revocation {
                version: i as i64 + 1,
                revocation: NewRevocation::at(target, "bench", None, 1_950_000_000_000),
            }
        })
        .collect();
    let set = RevocationSet::default();
    set.resync(&rows, LIVE as i64, 1);
    assert_eq!(set.len(), LIVE);

    let passing = token(
        "uti-live-AAAAAAAAAAAAAAAAAA",
        "99999999-0000-4000-8000-000000000000",
        "99999999-1111-4000-8000-000000000000",
        "kid-live",
    );
    let revoked_user = token("uti-live-AAAAAAAAAAAAAAAAAA", "00000070-0000-4000-8000-000000000000", "c", "kid-live");
    let revoked_token = token("uti-00000005-AAAAAAAAAAAAAA", "o", "c", "kid-live");
    assert!(set.check(&passing).is_none());
    assert!(set.check(&revoked_user).is_some());
    assert!(set.check(&revoked_token).is_some());

    for (name, t) in [
        ("not revoked (every lookup misses)", &passing),
        ("revoked user", &revoked_user),
        ("revoked token", &revoked_token),
    ] {
        // Warm up, then count.
        for _ in 0..100_000 {
            black_box(set.check(black_box(t)));
        }
        let region = Region::new(GLOBAL);
        let started = Instant::now();
        for _ in 0..CHECKS {
            black_box(set.check(black_box(t)));
        }
        let elapsed = started.elapsed();
        let allocated = region.change().allocations;
        println!(
            "{name:<36} {:>7.1} ns per check, {allocated} allocations in {CHECKS} checks ({LIVE} live revocations)",
            elapsed.as_nanos() as f64 / CHECKS as f64
        );
    }
}
