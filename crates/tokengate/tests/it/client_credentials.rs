use serde_json::Value;

use crate::harness::*;

fn assert_v2_app_only_shape(s: &DevServer, claims: &Value, azpacr: &str) {
    let client_id = s.s("/confidential_client/client_id");
    assert_eq!(claims["aud"], s.s("/api/app_id"), "v2 aud is the resource's client id");
    assert_eq!(claims["iss"], s.s("/issuer"));
    assert_eq!(claims["azp"], client_id);
    assert_eq!(claims["azpacr"], azpacr);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["tid"], s.s("/tenant_id"));
    assert_eq!(claims["sub"], claims["oid"], "app-only sub = service principal oid");
    assert!(claims.get("scp").is_none(), "app-only tokens never carry scp");
    assert!(claims.get("appid").is_none());
    assert_eq!(claims["roles"], s.dev["confidential_client"]["granted_app_roles"]);
    assert_eq!(claims["iat"], claims["nbf"]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let iat = claims["iat"].as_i64().unwrap();
    assert!((now - 300 - iat).abs() <= 5, "iat back-dated by 300 s");
    let lifetime = claims["exp"].as_i64().unwrap() - now;
    assert!((3595..=5405).contains(&lifetime), "lifetime 60–90 min, got {lifetime}");
    for opaque in ["aio", "rh", "uti"] {
        assert!(claims[opaque].as_str().is_some_and(|v| !v.is_empty()), "{opaque}");
    }
}

/// Claims in Entra's order: `aud` first, `ver` last (some parsers and humans compare raw payloads).
fn assert_entra_claim_order(token: &str) {
    let payload = tokengate_core::encoding::b64url_decode(token.split('.').nth(1).unwrap()).unwrap();
    let text = String::from_utf8(payload).unwrap();
    assert!(text.starts_with("{\"aud\":"), "{text}");
    assert!(text.ends_with("\"ver\":\"2.0\"}"), "{text}");
}

#[tokio::test]
async fn secret_in_body_and_basic_both_issue_verifiable_v2_tokens() {
    let s = DevServer::start().await;
    let jwks: Value =
        s.http.get(format!("{}/discovery/v2.0/keys", s.authority())).send().await.unwrap().json().await.unwrap();

    let r = s
        .http
        .post(s.token_url())
        .header("client-request-id", "7c9c5a4c-1f5e-4b1e-9d7e-8d7f5b0a1c2d")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &s.s("/confidential_client/client_id")),
            ("client_secret", &s.s("/confidential_client/client_secret")),
            ("scope", &s.api_scope()),
            ("client_info", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["client-request-id"], "7c9c5a4c-1f5e-4b1e-9d7e-8d7f5b0a1c2d");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], s.api_scope(), "scope echoed verbatim");
    assert!(body["expires_in"].as_u64().unwrap() > 300);
    assert_eq!(body["expires_in"], body["ext_expires_in"]);
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let (header, _) = decode_jwt(token);
    assert_eq!(header["typ"], "JWT");
    assert!(header.get("x5t").is_none(), "v2 tokens carry kid only");
    let claims = verify_with_jwks(token, &jwks);
    assert_v2_app_only_shape(&s, &claims, "1");
    assert_entra_claim_order(token);

    // HTTP Basic (values form-encoded inside base64, RFC 6749 §2.3.1).
    let r = s
        .http
        .post(s.token_url())
        .basic_auth(s.s("/confidential_client/client_id"), Some(s.s("/confidential_client/client_secret")))
        .form(&[("grant_type", "client_credentials"), ("scope", &s.api_scope())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let claims2 = verify_with_jwks(body["access_token"].as_str().unwrap(), &jwks);
    assert_v2_app_only_shape(&s, &claims2, "1");
    assert_ne!(claims["uti"], claims2["uti"], "every token has its own uti");

    // The client id GUID also names the resource; the tenant's domain names the tenant.
    let url = format!("{}/{}/oauth2/v2.0/token", s.base_url(), s.s("/tenant_domain"));
    let scope = format!("{}/.default", s.s("/api/app_id"));
    let (status, body) = s
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/confidential_client/client_id")),
                ("client_secret", &s.s("/confidential_client/client_secret")),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(verify_with_jwks(body["access_token"].as_str().unwrap(), &jwks)["aud"], s.s("/api/app_id"));
}

#[tokio::test]
async fn wrong_secret_and_unknown_client_are_indistinguishable() {
    let s = DevServer::start().await;
    let scope = s.api_scope();
    let client_id = s.s("/confidential_client/client_id");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (st1, wrong) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", "not-the-secret"),
                ("scope", &scope),
            ],
        )
        .await;
    let (st2, missing) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &unknown),
                ("client_secret", "not-the-secret"),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!((st1, st2), (401, 401));
    assert_eq!(wrong["error"], "invalid_client");
    assert_eq!(wrong["error"], missing["error"]);
    assert_eq!(aadsts(&wrong), 7000215);
    assert_eq!(aadsts(&missing), 7000215);
    let first_line = |b: &Value| {
        b["error_description"].as_str().unwrap().lines().next().unwrap().replace(&client_id, "X").replace(&unknown, "X")
    };
    assert_eq!(first_line(&wrong), first_line(&missing));
    // Entra's full error body.
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(wrong[field].is_string(), "{field}");
    }
    assert!(wrong["error_description"].as_str().unwrap().contains("\r\nTrace ID: "));

    // No credential at all.
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[("grant_type", "client_credentials"), ("client_id", &client_id), ("scope", &scope)],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (401, 7000218));
}

#[tokio::test]
async fn secret_guessing_is_rate_limited_per_client() {
    let s = DevServer::start().await;
    let scope = s.api_scope();
    let client_id = s.s("/confidential_client/client_id");
    let mut limited = None;
    for attempt in 0..40 {
        let r = s
            .http
            .post(s.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &format!("guess-{attempt}")),
                ("scope", &scope),
            ])
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited = Some(attempt);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    assert_eq!(limited, Some(20), "the 21st guess within a minute is refused");
    // Once limited, even the right secret is refused: the guesser learns nothing.
    let (status, body) = s.secret_token().await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "temporarily_unavailable");
    // Another client is unaffected by this client's budget.
    let (status, _) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/admin/client_id")),
                ("client_secret", &s.s("/admin/client_secret")),
                ("scope", &format!("{}/.default", s.s("/admin/app_id_uri"))),
            ],
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn v1_endpoint_and_v1_resources() {
    let s = DevServer::start().await;
    let tid = s.s("/tenant_id");
    let client_id = s.s("/confidential_client/client_id");
    let secret = s.s("/confidential_client/client_secret");
    let v1_url = format!("{}/oauth2/token", s.authority());

    // The version follows the resource (v2 demo API), not the endpoint.
    let (status, body) = s
        .post_form(
            &v1_url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("resource", &s.s("/api/app_id_uri")),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["expires_in"].as_str().map(|v| v.parse::<u64>().is_ok()),
        Some(true),
        "v1 answers with string numbers"
    );
    assert_eq!(decode_jwt(body["access_token"].as_str().unwrap()).1["ver"], "2.0");

    // A resource registered with accessTokenAcceptedVersion 1 (Entra's default) gets v1 tokens.
    let out = s.cli(&["app", "create", "--tenant", &tid, "--name", "Legacy API", "--identifier-uri", "api://legacy"]);
    let legacy = out.split_whitespace().nth(1).unwrap().to_owned();
    s.cli(&["app", "add-role", &legacy, "--value", "Legacy.Read"]);
    s.cli(&[
        "grant",
        "app-role",
        "--tenant",
        &tid,
        "--client",
        &client_id,
        "--resource",
        &legacy,
        "--role",
        "Legacy.Read",
    ]);
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("scope", "api://legacy/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["x5t"], header["kid"], "v1 header carries x5t");
    assert_eq!(claims["ver"], "1.0");
    assert_eq!(claims["aud"], "api://legacy");
    assert_eq!(claims["iss"], format!("{}/{tid}/", s.base_url()));
    assert_eq!(claims["appid"], client_id);
    assert_eq!(claims["appidacr"], "1");
    assert!(claims.get("azp").is_none());
    assert_eq!(claims["roles"], serde_json::json!(["Legacy.Read"]));
    let jwks: Value =
        s.http.get(format!("{}/common/discovery/keys", s.base_url())).send().await.unwrap().json().await.unwrap();
    verify_with_jwks(token, &jwks);

    // A resource with no role granted to this client: token without `roles` (as Entra).
    let out = s.cli(&[
        "app",
        "create",
        "--tenant",
        &tid,
        "--name",
        "Other API",
        "--identifier-uri",
        "api://other",
        "--token-version",
        "2",
    ]);
    assert!(out.contains("created"));
    let (status, body) = s
        .post_form(
            &s.token_url(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id),
                ("client_secret", &secret),
                ("scope", "api://other/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(decode_jwt(body["access_token"].as_str().unwrap()).1.get("roles").is_none());
}

#[tokio::test]
async fn multi_tenant_apps_get_tokens_in_tenants_that_consented() {
    let s = DevServer::start().await;
    let home = s.s("/tenant_id");
    let id_of = |out: String| out.split_whitespace().nth(1).unwrap().to_owned();
    let other = id_of(s.cli(&["tenant", "create", "--name", "Fabrikam", "--domain", "fabrikam.test"]));
    let api = id_of(s.cli(&[
        "app",
        "create",
        "--tenant",
        &home,
        "--name",
        "SaaS API",
        "--identifier-uri",
        "api://saas",
        "--audience",
        "multi",
        "--token-version",
        "2",
    ]));
    s.cli(&["app", "add-role", &api, "--value", "Saas.Read"]);
    let client = id_of(s.cli(&["app", "create", "--tenant", &home, "--name", "SaaS worker", "--audience", "multi"]));
    let secret_out = s.cli(&["secret", "create", &client]);
    let secret =
        secret_out.lines().find_map(|l| l.strip_prefix("value (shown once, store it now): ")).unwrap().to_owned();
    let other_token_url = format!("{}/fabrikam.test/oauth2/v2.0/token", s.base_url());
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "api://saas/.default"),
    ];

    // Before the other tenant consents, the client does not exist there (same answer as a wrong secret).
    let (status, body) = s.post_form(&other_token_url, &form).await;
    assert_eq!((status, aadsts(&body)), (401, 7000215), "{body}");

    // A single-tenant app cannot be provisioned elsewhere.
    let refused = std::process::Command::new(BIN)
        .args(["app", "provision", &s.s("/api/app_id"), "--tenant", &other, "--dev-dir"])
        .arg(&s.dir)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("single-tenant"));

    s.cli(&["app", "provision", &client, "--tenant", &other]);
    // The resource is not provisioned in the other tenant yet.
    let (status, body) = s.post_form(&other_token_url, &form).await;
    assert_eq!((status, aadsts(&body)), (400, 500011), "{body}");

    s.cli(&["app", "provision", &api, "--tenant", &other]);
    s.cli(&["grant", "app-role", "--tenant", &other, "--client", &client, "--resource", &api, "--role", "Saas.Read"]);
    let (status, body) = s.post_form(&other_token_url, &form).await;
    assert_eq!(status, 200, "{body}");
    let claims = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["tid"], other);
    assert_eq!(claims["iss"], format!("{}/{other}/v2.0", s.base_url()));
    assert_eq!(claims["roles"], serde_json::json!(["Saas.Read"]));
    assert_eq!(claims["aud"], api);

    // In the home tenant the same client holds no role on the API: token without roles.
    let (status, body) = s.post_form(&s.token_url(), &form).await;
    assert_eq!(status, 200, "{body}");
    let home_claims = decode_jwt(body["access_token"].as_str().unwrap()).1;
    assert_eq!(home_claims["tid"], home);
    assert!(home_claims.get("roles").is_none());
    assert_ne!(home_claims["oid"], claims["oid"], "one service principal per tenant");
}
