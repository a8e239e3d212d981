#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

use super::*;

const API_ID: &str = "6f1c1d52-8a3e-4a4e-9d7e-0c5b8f0e1a2b";
const TENANT: &str = "11111111-1111-1111-1111-111111111111";
const OTHER_TENANT: &str = "22222222-2222-2222-2222-222222222222";

const ISSUERS: &str = r#"
[[issuer]]
name = "tokengate"
kind = "builtin"
"#;

fn doc(text: &str) -> PolicyDocument {
    crate::gateway::policy_file::parse(text, std::path::Path::new("gateway.toml")).unwrap()
}

fn route(name: &str, matcher: &str, extra: &str) -> String {
    format!(
        "[[route]]\nname = \"{name}\"\n{matcher}\nupstream = \"echo\"\n{extra}\n[route.require]\nissuers = [\"tokengate\"]\naudiences = [\"{API_ID}\", \"api://orders\"]\n"
    )
}

fn warned(text: &str) -> Vec<String> {
    warnings(&doc(text), &[])
}

#[test]
fn a_sound_policy_has_no_warnings() {
    let text = format!(
        "{ISSUERS}tenants = [\"{TENANT}\"]\n{}{}{}",
        route("orders-read", "path_prefix = \"/orders/\"", "methods = [\"GET\"]"),
        route("orders-write", "path_prefix = \"/orders/\"", "methods = [\"POST\"]"),
        route("all", "path_prefix = \"/\"", ""),
    );
    assert_eq!(warnings(&doc(&text), &[TENANT.to_owned()]), Vec::<String>::new());
}

#[test]
fn a_v2_route_without_the_client_id_form_is_flagged() {
    let uri_only = format!(
        "{ISSUERS}[[route]]\nname = \"r\"\npath_prefix = \"/r/\"\nupstream = \"echo\"\n[route.require]\nissuers = [\"tokengate\"]\naudiences = [\"api://orders\"]\n"
    );
    let w = warned(&uri_only);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("route 'r' accepts v2 tokens") && w[0].contains("client id"), "{}", w[0]);
    // Restricted to v1 on purpose: nothing to say.
    assert!(warned(&uri_only.replace("audiences", "versions = [\"1.0\"]\naudiences")).is_empty());
    // The reverse: a v1-only route naming the API by GUID alone.
    let guid_v1 = uri_only
        .replace("\"api://orders\"", &format!("\"{API_ID}\""))
        .replace("audiences", "versions = [\"1.0\"]\naudiences");
    let w = warned(&guid_v1);
    assert!(w.len() == 1 && w[0].contains("App ID URI"), "{w:?}");
    // OIDC issuers put anything in aud: not ours to judge.
    let oidc = uri_only.replace(
        "kind = \"builtin\"",
        "kind = \"oidc\"\ndiscovery_url = \"https://idp.example/.well-known/openid-configuration\"",
    );
    assert!(warned(&oidc).is_empty());
}

#[test]
fn a_builtin_issuer_leaving_out_tenants_of_the_store_is_flagged() {
    let text = format!("{ISSUERS}tenants = [\"{TENANT}\"]\n{}", route("r", "path = \"/r\"", ""));
    let w = warnings(&doc(&text), &[TENANT.to_owned(), OTHER_TENANT.to_owned()]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains(OTHER_TENANT) && w[0].contains("tenant_not_allowed"), "{}", w[0]);
    assert!(warnings(&doc(&text), &[TENANT.to_owned()]).is_empty());
    let open = format!("{ISSUERS}{}", route("r", "path = \"/r\"", ""));
    assert!(
        warnings(&doc(&open), &[TENANT.to_owned(), OTHER_TENANT.to_owned()]).is_empty(),
        "no allow-list: every tenant"
    );
}

#[test]
fn issuers_accepting_what_an_earlier_one_accepts_are_flagged() {
    let entra = |name: &str, tenant: &str, tenants: &str| {
        format!("[[issuer]]\nname = \"{name}\"\nkind = \"entra\"\nauthority = \"https://login.microsoftonline.com/{tenant}\"\n{tenants}\n")
    };
    let allow = format!("tenants = [\"{TENANT}\"]");
    let text = format!(
        "{}{}{}",
        entra("any", "organizations", &allow),
        entra("contoso", TENANT, ""),
        entra("fabrikam", OTHER_TENANT, "")
    );
    let w = warned(&text);
    assert_eq!(w.len(), 2, "a multi-tenant authority shadows every tenant's: {w:?}");
    assert!(w[0].contains("issuer 'contoso' is shadowed by issuer 'any'"), "{}", w[0]);
    let text = format!("{}{}", entra("contoso", TENANT, ""), entra("fabrikam", OTHER_TENANT, ""));
    assert!(warned(&text).is_empty(), "different tenants");
    let text = format!("{}{}", entra("a", TENANT, ""), entra("b", &format!("{TENANT}/"), ""));
    assert_eq!(warned(&text).len(), 1, "the same authority, spelled with a slash");
    let text = format!("{ISSUERS}[[issuer]]\nname = \"again\"\nkind = \"builtin\"\n");
    assert!(warned(&text)[0].contains("issuer 'again' is shadowed"));
}

#[test]
fn routes_an_earlier_route_always_catches_are_flagged() {
    let shadowed = |first: (&str, &str), second: (&str, &str)| {
        let text = format!("{ISSUERS}{}{}", route("first", first.0, first.1), route("second", second.0, second.1));
        warned(&text).iter().any(|w| w.contains("route 'second' can never match: route 'first'"))
    };
    let prefix = |p: &str| format!("path_prefix = \"{p}\"");
    let exact = |p: &str| format!("path = \"{p}\"");
    let pattern = |p: &str| format!("path_pattern = \"{p}\"");
    // Same or broader prefix, any method.
    assert!(shadowed((&prefix("/"), ""), (&prefix("/orders/"), "")));
    assert!(shadowed((&prefix("/orders/"), ""), (&exact("/orders/1"), "")));
    assert!(shadowed((&prefix("/orders/"), ""), (&pattern("/orders/*/lines"), "")));
    assert!(shadowed((&prefix("/Orders/"), ""), (&prefix("/orders/x"), "case_sensitive = true")));
    assert!(shadowed((&pattern("/orders/**"), ""), (&prefix("/orders/a/"), "")));
    assert!(shadowed((&pattern("/t/*/orders/**"), ""), (&pattern("/t/*/orders/*"), "")));
    assert!(shadowed((&exact("/health"), ""), (&exact("/health"), "methods = [\"GET\"]")));
    // Methods: broader or equal.
    assert!(shadowed((&prefix("/o/"), "methods = [\"GET\", \"POST\"]"), (&prefix("/o/"), "methods = [\"GET\"]")));
    // Not shadowed: narrower first, other methods, other hosts, case-sensitive first.
    assert!(!shadowed((&prefix("/orders/"), ""), (&prefix("/"), "")));
    assert!(!shadowed((&prefix("/o/"), "methods = [\"GET\"]"), (&prefix("/o/"), "")));
    assert!(!shadowed((&prefix("/o/"), "methods = [\"GET\"]"), (&prefix("/o/"), "methods = [\"POST\"]")));
    assert!(!shadowed((&prefix("/o/"), "host = \"a.test\""), (&prefix("/o/"), "")));
    assert!(!shadowed((&prefix("/o/"), "case_sensitive = true"), (&prefix("/o/x"), "")));
    assert!(!shadowed((&pattern("/orders/*"), ""), (&pattern("/orders/**"), "")));
    assert!(!shadowed((&pattern("/orders/**"), ""), (&prefix("/orders"), "")), "/orders matches /ordersx too");
    assert!(!shadowed((&exact("/a"), ""), (&prefix("/a"), "")));
    assert!(!shadowed((&prefix("/orders/"), ""), (&pattern("/orders/**"), "")), "the pattern also matches /orders");
}
