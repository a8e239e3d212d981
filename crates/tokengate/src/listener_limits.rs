//! What every listener (issuer, gateway, admin) enforces against slow clients and connection
//! floods: header-read and idle timeouts, HTTP/2 keep-alive pings and stream limits, bounded
//! header buffers, and connection caps per client and in total. `[listeners]` in the serve
//! configuration; `dev` takes the same values as flags.

use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use serde::Deserialize;

/// hyper refuses (panics on) HTTP/1 read buffers smaller than this.
pub const MIN_HEADER_BYTES: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerLimits {
    /// A client must send a request's whole header within this (slowloris). On HTTP/1.1 the
    /// timer also runs while a kept-alive connection waits for its next request.
    pub header_read_timeout_seconds: u64,
    /// A connection with no request in flight and no bytes moving for this long is closed.
    pub idle_timeout_seconds: u64,
    /// HTTP/2: ping the client this often when the connection is quiet…
    pub http2_keep_alive_interval_seconds: u64,
    /// …and close it if the ping is not answered within this.
    pub http2_keep_alive_timeout_seconds: u64,
    /// HTTP/2: streams one connection may have open at once.
    pub http2_max_concurrent_streams: u32,
    /// Request header bytes buffered per connection (HTTP/1.1 read buffer; HTTP/2 header list).
    pub max_header_bytes: usize,
    /// Open connections from one client: one IPv4 address, or one IPv6 /64.
    pub max_connections_per_ip: usize,
    /// Open connections in total on one listener.
    pub max_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_read_timeout_seconds: 30,
            idle_timeout_seconds: 120,
            http2_keep_alive_interval_seconds: 30,
            http2_keep_alive_timeout_seconds: 20,
            http2_max_concurrent_streams: 200,
            max_header_bytes: 64 * 1024,
            max_connections_per_ip: 256,
            max_connections: 10_000,
        }
    }
}

impl ListenerLimits {
    /// Problems that make these limits unusable (listed by config validation).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let positive = [
            ("header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("http2_keep_alive_interval_seconds", self.http2_keep_alive_interval_seconds),
            ("http2_keep_alive_timeout_seconds", self.http2_keep_alive_timeout_seconds),
            ("http2_max_concurrent_streams", u64::from(self.http2_max_concurrent_streams)),
            ("max_connections_per_ip", self.max_connections_per_ip as u64),
            ("max_connections", self.max_connections as u64),
        ];
        for (name, value) in positive {
            if value == 0 {
                out.push(format!("listeners.{name} must be at least 1"));
            }
        }
        if self.max_header_bytes < MIN_HEADER_BYTES || self.max_header_bytes > 1024 * 1024 {
            out.push(format!("listeners.max_header_bytes must be between {MIN_HEADER_BYTES} and 1048576"));
        }
        out
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds.max(1))
    }

    /// A connection builder with these limits. Every hyper timeout needs the timer: without it
    /// they are silently off.
    pub fn builder(&self) -> Builder<TokioExecutor> {
        let mut builder = Builder::new(TokioExecutor::new());
        let header_bytes = self.max_header_bytes.max(MIN_HEADER_BYTES);
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout())
            .keep_alive(true)
            .max_buf_size(header_bytes);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(Duration::from_secs(self.http2_keep_alive_interval_seconds.max(1)))
            .keep_alive_timeout(Duration::from_secs(self.http2_keep_alive_timeout_seconds.max(1)))
            .max_concurrent_streams(self.http2_max_concurrent_streams.max(1))
            .max_header_list_size(u32::try_from(header_bytes).unwrap_or(u32::MAX));
        builder
    }
}

/// The same limits as `dev` flags (small values make the slow-client tests fast).
#[derive(clap::Args, Debug, Clone)]
pub struct ListenerLimitArgs {
    /// Seconds a client has to send a request header (every listener).
    #[arg(long, default_value_t = ListenerLimits::default().header_read_timeout_seconds, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout: u64,
    /// Seconds a connection may sit idle before it is closed.
    #[arg(long, default_value_t = ListenerLimits::default().idle_timeout_seconds, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
    /// Open connections allowed from one IPv4 address or IPv6 /64, per listener.
    #[arg(long, default_value_t = ListenerLimits::default().max_connections_per_ip)]
    pub max_connections_per_ip: usize,
    /// Open connections allowed in total, per listener.
    #[arg(long, default_value_t = ListenerLimits::default().max_connections)]
    pub max_connections: usize,
}

impl ListenerLimitArgs {
    pub fn limits(&self) -> ListenerLimits {
        ListenerLimits {
            header_read_timeout_seconds: self.header_read_timeout,
            idle_timeout_seconds: self.idle_timeout,
            max_connections_per_ip: self.max_connections_per_ip,
            max_connections: self.max_connections,
            ..ListenerLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_listed() {
        assert!(ListenerLimits::default().problems().is_empty());
        let bad = ListenerLimits { max_connections: 0, max_header_bytes: 100, ..Default::default() };
        assert_eq!(bad.problems().len(), 2);
        // The builder never panics, whatever the values.
        let _ = ListenerLimits { max_header_bytes: 1, http2_max_concurrent_streams: 0, ..Default::default() }.builder();
    }
}
