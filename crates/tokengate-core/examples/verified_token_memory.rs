//! Heap bytes each verified token keeps in the gateway's verified-token cache (issue #13: bounded
//! memory with 100,000 distinct tokens cached). The tokens are those of one busy API: the same
//! issuer, tenant, audience, client app, roles and key, each with its own `oid`, `sub` and `uti`.
//! They are verified as the gateway does and cached, and an instrumented allocator counts what
//! stays allocated.
//!
//! Two variants run on the same tokens:
//! - `shared`: the cache's claim interner, as the gateway runs it;
//! - `unshared`: an interner with no room, so every value is copied per token (what each entry
//!   held before the interner, plus Arc's 16-byte header per value).
//!
//! Run: `cargo run --release -p tokengate-core --example verified_token_memory`.

use std::alloc::System;
use std::sync::Arc;

use serde_json::json;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use tokengate_core::access::claim_interner::ClaimInterner;
use tokengate_core::access::token_validation::{verify, ValidationContext};
use tokengate_core::access::trusted_issuer::{
    IssuerKind, IssuerMaterial, IssuerPattern, TrustedIssuer, TrustedIssuers,
};
use tokengate_core::access::verified_cache::VerifiedCache;
use tokengate_core::access::verifying_keys::parse_jwks;
use tokengate_core::jws::JwsAlgorithm;
use tokengate_core::keys::SigningKey;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const TOKENS: usize = 10_000;
const NOW: i64 = 1_900_000_000;
const TENANT: &str = "6b0e7f36-0000-4000-8000-000000000001";
const BASE: &str = "https://login.example";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (key, _) = SigningKey::generate(NOW)?;
    let issuer = TrustedIssuer::new("entra", IssuerKind::Entra, None, vec![JwsAlgorithm::Rs256]);
    let jwks = json!({ "keys": [key.jwk] }).to_string();
    issuer.replace_material(IssuerMaterial {
        patterns: vec![IssuerPattern { template: format!("{BASE}/{{tenantid}}/v2.0"), version: Some("2.0") }],
        keys: parse_jwks(jwks.as_bytes(), &[JwsAlgorithm::Rs256])?,
    });
    let issuers = TrustedIssuers { issuers: vec![Arc::new(issuer)] };

    eprintln!("signing {TOKENS} tokens…");
    let tokens = (0..TOKENS)
        .map(|i| {
            let user = format!("{i:08}-0000-4000-8000-000000000000");
            let claims = json!({
                "aud": "api://orders.contoso.example", "iss": format!("{BASE}/{TENANT}/v2.0"),
                "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "tid": TENANT, "ver": "2.0",
                "azp": "99999999-1111-4000-8000-000000000000", "azpacr": "1", "idtyp": "app",
                "oid": user, "sub": user, "uti": format!("uti{i:019}"),
                "roles": ["Orders.Read.All", "Orders.Write.All"],
            });
            key.sign_jwt(&claims, false)
        })
        .collect::<Result<Vec<String>, _>>()?;

    for (name, room) in [("shared", 16_384), ("unshared", 0)] {
        let interner = ClaimInterner::new(room);
        let cache = VerifiedCache::new(100_000);
        let ctx = ValidationContext {
            issuers: &issuers,
            skew: 300,
            max_token_len: 16 * 1024,
            extra_claims: &[],
            now: NOW,
            interner: &interner,
        };
        let region = Region::new(GLOBAL);
        for token in &tokens {
            let verified = verify(token, &ctx).map_err(|e| format!("a token did not verify: {e:?}"))?;
            cache.insert(VerifiedCache::key(token), Arc::new(verified));
        }
        let change = region.change();
        assert_eq!(cache.len(), TOKENS);
        let kept = change.bytes_allocated as i64 - change.bytes_deallocated as i64;
        println!(
            "{name:<9} {:>6.0} bytes and {:>5.1} allocations kept per cached token (a verified token; the cache's slots were allocated before)",
            kept as f64 / TOKENS as f64,
            (change.allocations as f64 - change.deallocations as f64) / TOKENS as f64,
        );
    }
    Ok(())
}
