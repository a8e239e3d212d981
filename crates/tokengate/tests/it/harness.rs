//! Starts real `tokengate` processes on port 0 and talks to them over real HTTPS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

pub const BIN: &str = env!("CARGO_BIN_EXE_tokengate");

pub struct DevServer {
    pub dir: PathBuf,
    pub dev: Value,
    pub child: Option<Child>,
    pub http: reqwest::Client,
}

impl DevServer {
    pub async fn start() -> DevServer {
        let dir = std::env::temp_dir().join(format!("tokengate-it-{}", Uuid::new_v4()));
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: PathBuf) -> DevServer {
        Self::start_with(dir, &[]).await
    }

    /// A dev server in front of `upstream` (its demo routes point there).
    pub async fn start_with_upstream(upstream: &str) -> DevServer {
        let dir = std::env::temp_dir().join(format!("tokengate-it-{}", Uuid::new_v4()));
        Self::start_with(dir, &["--upstream", upstream]).await
    }

    pub async fn start_with(dir: PathBuf, extra: &[&str]) -> DevServer {
        let _ = std::fs::remove_file(dir.join("dev.json"));
        let child = Command::new(BIN)
            .args(["dev", "--data-dir"])
            .arg(&dir)
            .args(["--issuer-port", "0", "--gateway-port", "0", "--admin-port", "0"])
            .args(extra)
            .env("TOKENGATE_LOG", std::env::var("TG_IT_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("TG_IT_STDERR").is_some() { Stdio::inherit() } else { Stdio::piped() })
            .spawn()
            .expect("tokengate starts");
        let mut server =
            DevServer { dir: dir.clone(), dev: Value::Null, child: Some(child), http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(dir.join("dev.json")) {
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    server.dev = v;
                    break;
                }
            }
            if let Some(status) = server.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("tokengate dev exited early with {status}: {}", server.stderr());
            }
            assert!(Instant::now() < deadline, "dev.json did not appear within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let ca = std::fs::read(server.dev["ca_cert"].as_str().unwrap()).unwrap();
        server.http = https_client(&ca);
        server
    }

    fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut out = String::new();
        if let Some(err) = self.child.as_mut().and_then(|c| c.stderr.as_mut()) {
            let _ = err.read_to_string(&mut out);
        }
        out
    }

    pub fn s(&self, pointer: &str) -> String {
        self.dev
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("dev.json lacks {pointer}"))
            .to_owned()
    }

    pub fn authority(&self) -> String {
        self.s("/authority")
    }

    pub fn base_url(&self) -> String {
        let a = self.authority();
        a[..a.rfind('/').unwrap()].to_owned()
    }

    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    pub fn api_scope(&self) -> String {
        format!("{}/.default", self.s("/api/app_id_uri"))
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self.http.post(url).form(form).send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// client_credentials with the confidential client's secret.
    pub async fn secret_token(&self) -> (u16, Value) {
        let (id, secret, scope) =
            (self.s("/confidential_client/client_id"), self.s("/confidential_client/client_secret"), self.api_scope());
        self.post_form(
            &self.token_url(),
            &[("grant_type", "client_credentials"), ("client_id", &id), ("client_secret", &secret), ("scope", &scope)],
        )
        .await
    }

    pub fn gateway(&self, path: &str) -> String {
        format!("{}{path}", self.s("/gateway_url"))
    }

    pub fn admin(&self, path: &str) -> String {
        format!("{}{path}", self.s("/admin_url"))
    }

    /// An app-only token for the demo API (holds Demo.Read.All).
    pub async fn demo_token(&self) -> String {
        let (status, body) = self.secret_token().await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Replaces the gateway policy and waits (bounded) until `applied` says it took effect.
    pub async fn set_policy<F, Fut>(&self, text: &str, applied: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let path = self.s("/gateway_policy");
        // Make sure the modification time moves even within the same second.
        let tmp = format!("{path}.new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !applied().await {
            assert!(Instant::now() < deadline, "policy change not applied within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a CLI command against this server's data dir.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(BIN).args(args).arg("--dev-dir").arg(&self.dir).output().expect("cli runs");
        assert!(out.status.success(), "tokengate {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// SIGTERM and wait (bounded) for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tokengate did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn https_client(ca_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .tls_built_in_root_certs(false)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Decoded JWT header and claims (no verification).
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let part = |p: &str| serde_json::from_slice(&tokengate_core::encoding::b64url_decode(p).unwrap()).unwrap();
    (part(parts[0]), part(parts[1]))
}

/// Verifies an RS256 JWT against a JWKS document (key picked by `kid`).
pub fn verify_with_jwks(token: &str, jwks: &Value) -> Value {
    let (header, claims) = decode_jwt(token);
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("kid {kid} not in JWKS"));
    let cert = tokengate_core::encoding::b64_decode(key["x5c"][0].as_str().unwrap()).unwrap();
    let public = tokengate_core::keys::signing_key::rsa_public_key_der(&cert).unwrap();
    let jws = tokengate_core::jws::parse_compact(token, 16 * 1024).unwrap();
    jws.verify_rsa(tokengate_core::jws::JwsAlgorithm::Rs256, &public)
        .expect("signature verifies with the published key");
    claims
}

pub fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or_else(|| panic!("no error_codes in {body}"))
}

pub fn read_pem_parts(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let key = match rustls_pemfile::private_key(&mut &bytes[..]).unwrap().unwrap() {
        rustls_pki_types::PrivateKeyDer::Pkcs8(k) => k.secret_pkcs8_der().to_vec(),
        other => panic!("unexpected key type {other:?}"),
    };
    let cert = rustls_pemfile::certs(&mut &bytes[..]).next().unwrap().unwrap().to_vec();
    (key, cert)
}
