//! Connection caps of one listener: per client and in total, checked at accept so that a flood
//! is closed before it costs a TLS handshake. A client is one IPv4 address or one IPv6 /64 (one
//! host usually holds a whole /64, so counting addresses would not cap it).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::listener_metrics::{ListenerLabel, ListenerMetrics};

/// Who a connection is counted against.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    PerIpCap,
    TotalCap,
}

impl Refused {
    pub fn reason(self) -> &'static str {
        match self {
            Refused::PerIpCap => "per_ip_cap",
            Refused::TotalCap => "total_cap",
        }
    }
}

pub struct ConnectionCaps {
    listener: &'static str,
    per_ip: usize,
    total: usize,
    open: Mutex<Counts>,
    metrics: Arc<ListenerMetrics>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; its slot frees when this drops.
pub struct Admitted {
    caps: Arc<ConnectionCaps>,
    key: IpAddr,
}

impl ConnectionCaps {
    pub fn new(listener: &'static str, per_ip: usize, total: usize, metrics: Arc<ListenerMetrics>) -> Arc<Self> {
        Arc::new(ConnectionCaps { listener, per_ip, total, open: Mutex::new(Counts::default()), metrics })
    }

    /// Admits a connection from `ip`, or says which cap it hit (and counts the refusal).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refused> {
        let key = client_key(ip);
        let decision = match self.open.lock() {
            Ok(mut counts) => {
                let from_client = counts.by_client.get(&key).copied().unwrap_or(0);
                if counts.total >= self.total {
                    Err(Refused::TotalCap)
                } else if from_client >= self.per_ip {
                    Err(Refused::PerIpCap)
                } else {
                    counts.total += 1;
                    counts.by_client.insert(key, from_client + 1);
                    Ok(counts.total)
                }
            }
            // A poisoned lock cannot happen without a panic, which the lints forbid; refuse
            // rather than admit uncounted.
            Err(_) => Err(Refused::TotalCap),
        };
        match decision {
            Ok(total) => {
                self.gauge(total);
                Ok(Admitted { caps: self.clone(), key })
            }
            Err(refused) => {
                self.metrics.refused(self.listener, refused.reason());
                Err(refused)
            }
        }
    }

    fn release(&self, key: IpAddr) {
        let total = match self.open.lock() {
            Ok(mut counts) => {
                counts.total = counts.total.saturating_sub(1);
                if let Some(n) = counts.by_client.get_mut(&key) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        counts.by_client.remove(&key);
                    }
                }
                counts.total
            }
            Err(_) => return,
        };
        self.gauge(total);
    }

    fn gauge(&self, total: usize) {
        let label = ListenerLabel { listener: self.listener.to_owned() };
        self.metrics.open_connections.get_or_create(&label).set(i64::try_from(total).unwrap_or(i64::MAX));
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.caps.release(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_is_counted_per_64_and_mapped_v4_as_v4() {
        assert_eq!(client_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), ip("2001:db8:1:2::"));
        assert_ne!(client_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_key(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn caps_per_client_and_in_total_and_slots_free_on_drop() {
        let metrics = Arc::new(ListenerMetrics::new());
        let caps = ConnectionCaps::new("test", 2, 3, metrics.clone());
        let a1 = caps.admit(ip("2001:db8::1")).unwrap();
        let _a2 = caps.admit(ip("2001:db8::2")).unwrap();
        assert_eq!(caps.admit(ip("2001:db8::ffff")).err(), Some(Refused::PerIpCap), "same /64");
        let _b = caps.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(caps.admit(ip("192.0.2.2")).err(), Some(Refused::TotalCap));
        drop(a1);
        assert!(caps.admit(ip("2001:db8::3")).is_ok(), "a closed connection frees its slot");
        let text = metrics.render();
        assert!(
            text.contains(r#"tokengate_listener_refused_connections_total{listener="test",reason="per_ip_cap"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"tokengate_listener_refused_connections_total{listener="test",reason="total_cap"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"tokengate_listener_open_connections{listener="test"} 2"#), "{text}");
    }
}
