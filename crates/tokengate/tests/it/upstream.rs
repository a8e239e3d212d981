//! A real upstream service for gateway tests (separate from tokengate's built-in echo): answers
//! with what it received, can be slow on demand, speaks HTTP/1.1 and h2c, and echoes bytes after
//! a WebSocket-style upgrade; records the path of every request it receives.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct TestUpstream {
    pub addr: SocketAddr,
    /// Paths (with query) of the requests received, in order.
    pub received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestUpstream {
    pub async fn start() -> TestUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r: Request<Incoming>| {
                        let target = r.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                        log.lock().unwrap().push(target);
                        respond(r)
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestUpstream { addr, received, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

async fn respond(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path().ends_with("/slow") {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    if request.headers().contains_key(hyper::header::UPGRADE) {
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            if let Ok(upgraded) = upgrade.await {
                let mut io = TokioIo::new(upgraded);
                let mut buf = [0u8; 1024];
                while let Ok(n) = io.read(&mut buf).await {
                    if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        });
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        r.headers_mut().insert(hyper::header::UPGRADE, hyper::header::HeaderValue::from_static("websocket"));
        r.headers_mut().insert(hyper::header::CONNECTION, hyper::header::HeaderValue::from_static("upgrade"));
        return Ok(r);
    }
    // Read the whole body, as a real service would: answering before the body has arrived makes
    // the connection close under a client still sending (a 502 at the gateway, correctly).
    let (parts, body) = request.into_parts();
    let body_len = http_body_util::BodyExt::collect(body).await.map(|b| b.to_bytes().len()).unwrap_or(0);
    let request = Request::from_parts(parts, ());
    let headers: serde_json::Map<String, serde_json::Value> = request
        .headers()
        .iter()
        .map(|(k, v)| {
            (k.as_str().to_owned(), serde_json::Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
        })
        .collect();
    let body = serde_json::json!({
        "upstream": "test",
        "version": format!("{:?}", request.version()),
        "method": request.method().as_str(),
        "path": request.uri().path(),
        "headers": headers,
        "body_len": body_len,
    });
    Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
}
