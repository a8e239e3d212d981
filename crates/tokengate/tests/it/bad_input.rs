use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn token_endpoint_rejects_bad_requests_like_entra() {
    let s = DevServer::start().await;
    let id = s.s("/confidential_client/client_id");
    let secret = s.s("/confidential_client/client_secret");
    let url = s.token_url();
    let cc = |scope: &'static str| vec![("grant_type", "client_credentials"), ("scope", scope)];
    let with_client = |mut v: Vec<(&'static str, &'static str)>| -> Vec<(String, String)> {
        v.push(("client_id", Box::leak(id.clone().into_boxed_str())));
        v.push(("client_secret", Box::leak(secret.clone().into_boxed_str())));
        v.into_iter().map(|(a, b)| (a.to_owned(), b.to_owned())).collect()
    };
    let post = |form: Vec<(String, String)>| {
        let s = &s;
        let url = url.clone();
        async move {
            let r = s.http.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let expect = |got: (u16, Value), status: u16, error: &str, code: u64| {
        assert_eq!(got.0, status, "{}", got.1);
        assert_eq!(got.1["error"], error, "{}", got.1);
        assert_eq!(aadsts(&got.1), code, "{}", got.1);
    };

    expect(post(with_client(cc("api://tokengate-demo-api/Demo.Read"))).await, 400, "invalid_scope", 1002012);
    expect(
        post(with_client(cc("api://tokengate-demo-api/.default api://tokengate-admin/.default"))).await,
        400,
        "invalid_scope",
        700022,
    );
    expect(post(with_client(cc("api://no-such-api/.default"))).await, 400, "invalid_resource", 500011);
    expect(post(with_client(vec![("grant_type", "client_credentials")])).await, 400, "invalid_request", 900144);
    expect(
        post(with_client(vec![("scope", "api://tokengate-demo-api/.default")])).await,
        400,
        "invalid_request",
        900144,
    );
    expect(
        post(with_client(
            cc("api://tokengate-demo-api/.default")
                .into_iter()
                .map(|(a, b)| if a == "grant_type" { (a, "password") } else { (a, b) })
                .collect(),
        ))
        .await,
        400,
        "unsupported_grant_type",
        70003,
    );
    let mut v2_with_resource = with_client(cc("api://tokengate-demo-api/.default"));
    v2_with_resource.push(("resource".into(), "api://tokengate-demo-api".into()));
    expect(post(v2_with_resource).await, 400, "invalid_request", 901002);

    // Duplicated parameter.
    let body =
        format!("grant_type=client_credentials&client_id={id}&client_id={id}&client_secret=x&scope=a%2F.default");
    let r =
        s.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");

    // Oversized body: refused with 400, not buffered without bound.
    let big = format!("grant_type=client_credentials&scope={}", "a".repeat(200 * 1024));
    let r =
        s.http.post(&url).header("content-type", "application/x-www-form-urlencoded").body(big).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");

    // Not a form; not UTF-8; broken Basic header.
    let r = s
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"client_credentials\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, 0x3d])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .http
        .post(&url)
        .header("authorization", "Basic !!!notbase64")
        .form(&[("grant_type", "client_credentials"), ("scope", "api://tokengate-demo-api/.default")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // `common` cannot tell which tenant a client-credentials token is for.
    let common = format!("{}/common/oauth2/v2.0/token", s.base_url());
    let r = s.http.post(common).form(&with_client(cc("api://tokengate-demo-api/.default"))).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(aadsts(&r.json::<Value>().await.unwrap()), 50059);

    // A public client cannot use client credentials (and looks like any unknown client).
    let (status, body) = s
        .post_form(
            &url,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &s.s("/public_client/client_id")),
                ("client_secret", "x"),
                ("scope", "api://tokengate-demo-api/.default"),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (401, 7000215));

    // The server is still healthy after all of it.
    assert_eq!(s.secret_token().await.0, 200);
}
