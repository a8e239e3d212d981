//! Several real `tokengate` processes on one real Postgres: a database of their own per test
//! (created and dropped here, so notifications and rows of other tests never mix), the dev node
//! (issuer + admin + gateway) and gateway-only `serve` nodes that know nothing but the store URL
//! and the issuer's public URL.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::harness::{DevServer, BIN};

/// The Postgres server tests may use, or `None` (the test is skipped, and says so).
pub fn pg_server() -> Option<String> {
    match std::env::var("TOKENGATE_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("TOKENGATE_TEST_PG_URL not set: multi-node test skipped");
            None
        }
    }
}

/// Runs SQL on the server (as the URL's user), through `psql`; panics with its error.
pub fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A database of its own, dropped (with every connection to it) when the test ends.
pub struct PgDatabase {
    server: String,
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create(server: &str) -> PgDatabase {
        let name = format!("tg_it_{}", Uuid::new_v4().simple());
        psql(server, &format!("CREATE DATABASE {name}"));
        let base = server.split('?').next().unwrap();
        let url = format!("{}/{name}", &base[..base.rfind('/').unwrap()]);
        PgDatabase { server: server.to_owned(), name, url }
    }

    /// Cuts every connection to this database (what a Postgres restart does to its clients).
    pub fn terminate_connections(&self) {
        psql(
            &self.server,
            &format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        );
    }

    /// Refuses (or allows again) new connections to this database: an outage of the store.
    pub fn allow_connections(&self, allow: bool) {
        psql(&self.server, &format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {allow}", self.name));
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", &self.server, "-c", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .output();
    }
}

/// A free loopback port (bound and released: the process binds it a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A gateway-only `tokengate serve` node on the shared store.
pub struct GatewayNode {
    pub dir: PathBuf,
    pub gateway_port: u16,
    pub admin_port: u16,
    child: Option<Child>,
}

impl GatewayNode {
    /// Starts a node with `policy` (the dev node's policy file, trusting `kind = "builtin"`) and
    /// waits until it is ready.
    pub async fn start(store_url: &str, issuer_url: &str, policy: &str) -> GatewayNode {
        let dir = std::env::temp_dir().join(format!("tokengate-gw-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("gateway.toml"), policy).unwrap();
        let (gateway_port, admin_port) = (free_port(), free_port());
        std::fs::write(
            dir.join("tokengate.toml"),
            format!(
                "[store]\nurl = \"{store_url}\"\n[gateway]\nlisten = \"127.0.0.1:{gateway_port}\"\npolicy_file = \"gateway.toml\"\nbuiltin_issuer_url = \"{issuer_url}\"\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\n"
            ),
        )
        .unwrap();
        let mut node = GatewayNode { dir, gateway_port, admin_port, child: None };
        node.spawn();
        node.wait_ready().await;
        node
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("node.log")).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(self.dir.join("tokengate.toml"))
            .env("TOKENGATE_LOG", std::env::var("TG_IT_LOG").unwrap_or_else(|_| "info".into()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tokengate serve starts");
        self.child = Some(child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// Polls `/readyz` (bounded) until it answers 200.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.ready().await {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("gateway node exited with {status}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "gateway node not ready within 60 s:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn ready(&self) -> bool {
        let url = format!("http://127.0.0.1:{}/readyz", self.admin_port);
        matches!(reqwest::get(&url).await, Ok(r) if r.status() == 200)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway_port)
    }

    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.admin_port);
        reqwest::get(&url).await.unwrap().text().await.unwrap()
    }

    /// The status this node answers for the demo route with `token`.
    pub async fn status(&self, token: &str) -> u16 {
        demo_status(&self.url("/demo/x"), token).await
    }

    /// `kill -9`: no last heartbeat, no drain.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Starts the node again on the same ports and config; returns at once (not waiting for
    /// readiness).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        self.spawn();
    }
}

impl Drop for GatewayNode {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("gateway node log kept in {}", self.dir.display());
        }
    }
}

/// The status a gateway answers for `url` with `token` (bearer).
pub async fn demo_status(url: &str, token: &str) -> u16 {
    reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// The dev node (issuer, admin, gateway) on `db` and `gateways` gateway-only nodes.
pub struct Cluster {
    pub issuer: DevServer,
    pub gateways: Vec<GatewayNode>,
    // Dropped last: the processes above stop first.
    pub db: PgDatabase,
}

impl Cluster {
    pub async fn start(server: &str, gateways: usize) -> Cluster {
        Self::start_with_policy(server, gateways, "").await
    }

    /// `settings` is prepended to the gateway-only nodes' policy (e.g. a `[settings]` table).
    pub async fn start_with_policy(server: &str, gateways: usize, settings: &str) -> Cluster {
        let db = PgDatabase::create(server);
        let dir = std::env::temp_dir().join(format!("tokengate-it-{}", Uuid::new_v4()));
        let issuer = DevServer::start_with(dir, &["--store", &db.url]).await;
        let policy = format!("{settings}{}", std::fs::read_to_string(issuer.s("/gateway_policy")).unwrap());
        let mut nodes = Vec::new();
        for _ in 0..gateways {
            nodes.push(GatewayNode::start(&db.url, &issuer.base_url(), &policy).await);
        }
        Cluster { issuer, gateways: nodes, db }
    }

    /// The status every gateway (the dev node's first) answers for `token`.
    pub async fn statuses(&self, token: &str) -> Vec<u16> {
        let mut all = vec![demo_status(&self.issuer.gateway("/demo/x"), token).await];
        for g in &self.gateways {
            all.push(g.status(token).await);
        }
        all
    }

    /// Runs a CLI command against the shared store (through the dev node's data dir, which also
    /// holds the key-encryption key); returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(BIN).args(args).arg("--dev-dir").arg(&self.issuer.dir).output().expect("cli runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
