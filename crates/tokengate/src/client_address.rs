//! The caller's network address, read in one place for every listener, rate limit and audit
//! record. The listener puts the socket's peer address on each request (`PeerAddr`); a request
//! that never crossed a socket (an in-process test calling the router) is from `0.0.0.0` — the
//! one fallback, so the audit log's `client_ip` is always an address.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The peer address of the connection a request arrived on, set by `server.rs`.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// The address a request came from (the TCP peer; forwarded headers are never trusted for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

impl ClientAddress {
    /// Stands for a request that did not arrive on a socket.
    pub const UNKNOWN: ClientAddress = ClientAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED));

    pub fn of_extensions(extensions: &axum::http::Extensions) -> ClientAddress {
        extensions.get::<PeerAddr>().map(|PeerAddr(a)| ClientAddress(a.ip())).unwrap_or(ClientAddress::UNKNOWN)
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }

    /// The text the audit log records.
    pub fn audit_text(self) -> String {
        self.0.to_string()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of_extensions(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_peer_or_the_one_fallback() {
        let mut ext = axum::http::Extensions::new();
        assert_eq!(ClientAddress::of_extensions(&ext).audit_text(), "0.0.0.0");
        ext.insert(PeerAddr("[2001:db8::1]:443".parse().unwrap()));
        assert_eq!(ClientAddress::of_extensions(&ext).ip(), "2001:db8::1".parse::<IpAddr>().unwrap());
    }
}
