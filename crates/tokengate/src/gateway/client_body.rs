//! Telling a client's broken request body from an upstream failure: the request body is wrapped
//! so that an error while reading it (bad chunking, a body cut short) is remembered, and a failed
//! forward caused by it is answered 400 and counted as the client's, never as a 502.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};

/// Set once the client's body failed to arrive whole.
#[derive(Clone, Default)]
pub struct ClientBodyFailed(Arc<AtomicBool>);

impl ClientBodyFailed {
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// `body`, reporting its read errors to the returned flag.
pub fn watch(body: Body) -> (Body, ClientBodyFailed) {
    let failed = ClientBodyFailed::default();
    (Body::new(WatchedBody { inner: body, failed: failed.clone() }), failed)
}

struct WatchedBody {
    inner: Body,
    failed: ClientBodyFailed,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            this.failed.0.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_error_is_remembered_and_a_whole_body_is_not() {
        let (body, failed) = watch(Body::from("whole"));
        assert_eq!(&body.collect().await.unwrap().to_bytes()[..], b"whole");
        assert!(!failed.happened());

        let (body, failed) = watch(Body::new(CutShort(false)));
        assert!(body.collect().await.is_err());
        assert!(failed.happened());
    }

    /// One chunk, then the connection breaks.
    struct CutShort(bool);

    impl hyper::body::Body for CutShort {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            let this = self.get_mut();
            if this.0 {
                return Poll::Ready(Some(Err(std::io::Error::other("cut short"))));
            }
            this.0 = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"part")))))
        }
    }
}
