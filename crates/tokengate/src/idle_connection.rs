//! Idle connections: the socket is wrapped so that every byte read or written marks activity,
//! and requests in flight are counted (until their response body is done), so a connection is
//! closed only when nothing is in flight and no byte has moved for the idle timeout — a slow
//! upstream or a long download is not idle. A connection whose first request has not started
//! within the header-read timeout is closed too: hyper's own header timer only starts once it
//! knows the protocol, so a client sending nothing (or dribbling an HTTP/2 preface) escapes it.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

pub struct Activity {
    origin: Instant,
    /// Milliseconds since `origin` of the last byte moved.
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
    any_request: AtomicBool,
}

/// Why a connection was closed by `Activity::expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No request started within the header-read timeout of the connection opening.
    HeaderRead,
    Idle,
}

impl Expiry {
    pub fn reason(self) -> &'static str {
        match self {
            Expiry::HeaderRead => "header_read",
            Expiry::Idle => "idle",
        }
    }
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            any_request: AtomicBool::new(false),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// A request started; it counts until the returned guard drops (with its response body).
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.any_request.store(true, Ordering::Release);
        self.touch();
        InFlight(self.clone())
    }

    /// Resolves when the connection should be closed: no request started within
    /// `header_timeout` of opening, or idle for `idle_timeout`.
    pub async fn expired(&self, header_timeout: Duration, idle_timeout: Duration) -> Expiry {
        loop {
            let mut wait = idle_timeout;
            if !self.any_request.load(Ordering::Acquire) {
                let open_for = self.origin.elapsed();
                if open_for >= header_timeout {
                    return Expiry::HeaderRead;
                }
                wait = wait.min(header_timeout - open_for);
            }
            let quiet = self.quiet_for();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                if quiet >= idle_timeout {
                    return Expiry::Idle;
                }
                wait = wait.min(idle_timeout - quiet);
            }
            tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
        }
    }
}

pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket that reports its activity.
pub struct TrackedIo<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> TrackedIo<S> {
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        activity.touch();
        TrackedIo { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_only_when_nothing_is_in_flight() {
        let activity = Activity::new();
        let (header, idle) = (Duration::from_secs(1), Duration::from_secs(2));
        let guard = activity.request_started();
        let waiting = tokio::time::timeout(Duration::from_secs(10), activity.expired(header, idle));
        assert!(waiting.await.is_err(), "a request in flight keeps the connection");
        drop(guard);
        let waiting = tokio::time::timeout(Duration::from_secs(10), activity.expired(header, idle));
        assert_eq!(waiting.await.ok(), Some(Expiry::Idle), "then it goes idle");
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_a_request_closes_at_the_header_timeout() {
        let activity = Activity::new();
        let waiting = tokio::time::timeout(
            Duration::from_secs(10),
            activity.expired(Duration::from_secs(1), Duration::from_secs(60)),
        );
        assert_eq!(waiting.await.ok(), Some(Expiry::HeaderRead));
    }
}
