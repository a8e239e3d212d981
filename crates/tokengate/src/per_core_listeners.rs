//! The gateway's per-core listeners: one OS thread per core, each running its own single-threaded
//! tokio runtime around its own `SO_REUSEPORT` socket on the gateway's address. The kernel spreads
//! new connections over the sockets; from then on a connection, its requests and the upstream
//! connection that serves them (one upstream pool per core, `gateway::proxy`) stay on one thread.
//!
//! Why: profiled under load on the shared work-stealing runtime, about a quarter of the CPU went
//! to the kernel switching threads — a request woken on one worker, hyper's pooled upstream
//! connection task on the other (BENCHMARKS.md, "Speed"). `[gateway] threads = 0` keeps the
//! shared runtime.
//!
//! Only sockets of the same user can join a `SO_REUSEPORT` group on Linux, so another account
//! cannot bind the port beside us and take connections.

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;

use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::server::{self, ListenerSetup};

/// More listener threads than this is a configuration mistake, not a tuning choice.
pub const MAX_THREADS: usize = 256;

/// Pending connections per socket, as `TcpListener::bind` uses.
const BACKLOG: u32 = 1024;

thread_local! {
    static CORE: Cell<usize> = const { Cell::new(0) };
}

/// Which per-core listener thread this is (0 on every other thread).
pub fn current_core() -> usize {
    CORE.with(Cell::get)
}

/// The default number of listener threads: one per core the process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS)
}

/// `threads` sockets bound to one address (with port 0: the port the exclusive probe got).
pub struct PerCoreSockets {
    sockets: Vec<StdTcpListener>,
    addr: SocketAddr,
}

impl PerCoreSockets {
    /// Binds every socket now, so that a taken port is a start error. Needs a runtime context.
    ///
    /// A port held by anyone — including another tokengate's `SO_REUSEPORT` group, which the
    /// kernel would otherwise let us join and split connections with — is `AddrInUse`: an
    /// exclusive bind of the address comes first, and the group binds the port it got.
    pub fn bind(addr: SocketAddr, threads: usize) -> io::Result<PerCoreSockets> {
        let bound = StdTcpListener::bind(addr)?.local_addr()?;
        let mut sockets = Vec::with_capacity(threads.max(1));
        for _ in 0..threads.max(1) {
            sockets.push(reuse_port_socket(bound)?);
        }
        Ok(PerCoreSockets { sockets, addr: bound })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

fn reuse_port_socket(addr: SocketAddr) -> io::Result<StdTcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    // Registered with the calling runtime only until `into_std`; each thread registers its own.
    socket.listen(BACKLOG)?.into_std()
}

/// Serves `router` on every socket, each on its own thread and runtime, until `shutdown` flips to
/// true; the handle ends when every thread has drained its connections.
pub fn spawn(
    sockets: PerCoreSockets,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    setup: ListenerSetup,
    shutdown: watch::Receiver<bool>,
) -> io::Result<JoinHandle<()>> {
    let caps = setup.caps();
    let acceptor = tls.map(TlsAcceptor::from);
    let mut finished = Vec::with_capacity(sockets.sockets.len());
    for (core, socket) in sockets.sockets.into_iter().enumerate() {
        // Built here, not in the thread: a runtime that cannot start is a start error.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (done, done_rx) = oneshot::channel::<()>();
        let (router, acceptor, setup, caps, shutdown) =
            (router.clone(), acceptor.clone(), setup.clone(), caps.clone(), shutdown.clone());
        std::thread::Builder::new().name(format!("tokengate-{}-{core}", setup.name)).spawn(move || {
            CORE.with(|c| c.set(core));
            runtime.block_on(async move {
                match TcpListener::from_std(socket) {
                    Ok(listener) => server::serve(listener, router, acceptor, setup, caps, shutdown).await,
                    Err(e) => tracing::error!(error = %e, core, "gateway listener thread cannot poll its socket"),
                }
            });
            // Tasks still on this runtime (tunnels past the drain window) end with it.
            drop(runtime);
            let _ = done.send(());
        })?;
        finished.push(done_rx);
    }
    Ok(tokio::spawn(async move {
        for done in finished {
            let _ = done.await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::{IpAddr, Ipv4Addr};

    use axum::routing::get;

    use super::*;
    use crate::listener_limits::ListenerLimits;
    use crate::listener_metrics::ListenerMetrics;

    fn loopback() -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    }

    fn setup() -> ListenerSetup {
        ListenerSetup { name: "gateway", limits: ListenerLimits::default(), metrics: Arc::new(ListenerMetrics::new()) }
    }

    #[tokio::test]
    async fn every_thread_serves_connections_on_the_one_port_and_all_stop_on_shutdown() {
        let sockets = PerCoreSockets::bind(loopback(), 2).unwrap();
        let addr = sockets.local_addr();
        assert_ne!(addr.port(), 0);
        let router = Router::new().route("/", get(|| async { current_core().to_string() }));
        let (stop, stopped) = watch::channel(false);
        let serving = spawn(sockets, router, None, setup(), stopped).unwrap();

        // The kernel picks a socket per connection by its address hash: with fresh connections
        // (new source ports), both threads answer within a bounded number of tries.
        let mut cores = HashSet::new();
        for _ in 0..64 {
            let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
            let body = client.get(format!("http://{addr}/")).send().await.unwrap().text().await.unwrap();
            cores.insert(body);
            if cores.len() == 2 {
                break;
            }
        }
        assert_eq!(cores, HashSet::from(["0".to_owned(), "1".to_owned()]));

        stop.send(true).unwrap();
        serving.await.unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err(), "every socket closed after shutdown");
    }

    #[tokio::test]
    async fn a_second_gateway_on_the_same_port_is_refused_not_joined() {
        let first = PerCoreSockets::bind(loopback(), 2).unwrap();
        let err = PerCoreSockets::bind(first.local_addr(), 2).err().expect("the port is held by the first group");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }

    #[tokio::test]
    async fn a_port_another_listener_holds_is_a_bind_error() {
        let taken = std::net::TcpListener::bind(loopback()).unwrap();
        let err = PerCoreSockets::bind(taken.local_addr().unwrap(), 2).err().expect("the port is taken");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    }
}
