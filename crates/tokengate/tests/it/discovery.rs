use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn v2_discovery_keys_and_instance_metadata_match_entra() {
    let s = DevServer::start().await;
    let tid = s.s("/tenant_id");
    let base = s.base_url();
    let r = s.http.get(format!("{}/v2.0/.well-known/openid-configuration", s.authority())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "max-age=86400, private");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["issuer"], format!("{base}/{tid}/v2.0"));
    assert_eq!(d["issuer"], s.s("/issuer"));
    assert_eq!(d["token_endpoint"], s.token_url());
    assert_eq!(d["jwks_uri"], format!("{base}/{tid}/discovery/v2.0/keys"));
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_post", "private_key_jwt", "client_secret_basic"])
    );
    assert_eq!(d["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["pairwise"]));
    assert_eq!(d["request_uri_parameter_supported"], false);
    for field in [
        "authorization_endpoint",
        "device_authorization_endpoint",
        "end_session_endpoint",
        "userinfo_endpoint",
        "kerberos_endpoint",
        "msgraph_host",
        "rbac_url",
        "cloud_instance_name",
    ] {
        assert!(d[field].is_string(), "{field} missing");
    }

    // The same tenant by its verified domain.
    let by_domain: Value = s
        .http
        .get(format!("{base}/{}/v2.0/.well-known/openid-configuration", s.s("/tenant_domain")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_domain["issuer"], d["issuer"]);

    // `common`: issuer template, endpoints keep `common`.
    let common: Value = s
        .http
        .get(format!("{base}/common/v2.0/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(common["issuer"], format!("{base}/{{tenantid}}/v2.0"));
    assert_eq!(common["token_endpoint"], format!("{base}/common/oauth2/v2.0/token"));

    // v1 discovery: v1 issuer and endpoints.
    let v1: Value = s
        .http
        .get(format!("{}/.well-known/openid-configuration", s.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["issuer"], format!("{base}/{tid}/"));
    assert_eq!(v1["token_endpoint"], format!("{base}/{tid}/oauth2/token"));
    assert_eq!(v1["jwks_uri"], format!("{base}/common/discovery/keys"));

    // JWKS: RSA, kid = x5t = base64url(SHA-1(cert)), issuer per tenant, never private parts.
    let jwks: Value = s.http.get(d["jwks_uri"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "active and next key are both published");
    for k in keys {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["e"], "AQAB");
        assert_eq!(k["kid"], k["x5t"]);
        let der = tokengate_core::encoding::b64_decode(k["x5c"][0].as_str().unwrap()).unwrap();
        assert_eq!(k["x5t"], tokengate_core::encoding::b64url(tokengate_core::encoding::sha1(&der)));
        assert_eq!(k["issuer"], d["issuer"]);
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(k.get(private).is_none(), "JWKS leaks {private}");
        }
    }
    let common_keys: Value =
        s.http.get(format!("{base}/common/discovery/v2.0/keys")).send().await.unwrap().json().await.unwrap();
    assert_eq!(common_keys["keys"][0]["issuer"], format!("{base}/{{tenantid}}/v2.0"));

    // MSAL instance discovery.
    let host = base.trim_start_matches("https://");
    let inst: Value = s
        .http
        .get(format!("{base}/common/discovery/instance"))
        .query(&[
            ("api-version", "1.1"),
            ("authorization_endpoint", &format!("{}/oauth2/v2.0/authorize", s.authority())),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inst["api-version"], "1.1");
    assert_eq!(inst["tenant_discovery_endpoint"], format!("{}/v2.0/.well-known/openid-configuration", s.authority()));
    assert_eq!(inst["metadata"][0]["aliases"], serde_json::json!([host]));
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002() {
    let s = DevServer::start().await;
    let base = s.base_url();
    for tenant in ["00000000-0000-0000-0000-000000000001", "nosuch.example", "x%00y"] {
        let r = s.http.get(format!("{base}/{tenant}/v2.0/.well-known/openid-configuration")).send().await.unwrap();
        assert_eq!(r.status(), 400, "{tenant}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(aadsts(&body), 90002);
        assert_eq!(body["error"], "invalid_tenant", "Entra's error name on metadata endpoints");
        let (status, body) =
            s.post_form(&format!("{base}/{tenant}/oauth2/v2.0/token"), &[("grant_type", "client_credentials")]).await;
        assert_eq!((status, aadsts(&body)), (400, 90002));
    }
}
