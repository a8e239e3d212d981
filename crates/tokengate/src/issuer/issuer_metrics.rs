//! Prometheus metrics of the issuer's token endpoint, served beside the gateway's on the admin
//! listener at `/metrics`: token requests per grant and outcome, AADSTS errors by code, and the
//! endpoint's latency per grant. Every label value comes from a fixed set (`&'static str`
//! grant names and OAuth error codes, AADSTS numbers), so counting allocates no label strings
//! and no caller can grow the series.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// `client_credentials`, `authorization_code`, `refresh_token`, `device_code`,
    /// `on_behalf_of`, or `unknown` (no or an unsupported `grant_type`).
    pub grant: &'static str,
    /// `success`, or the OAuth `error` answered (`invalid_client`, `invalid_grant`...).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AadstsLabels {
    /// The AADSTS number (`7000215` for a wrong client secret).
    pub code: u32,
    pub error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabel {
    pub grant: &'static str,
}

type LatencyFamily = Family<GrantLabel, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // From a cached client-credentials grant (sub-millisecond) to a password hash (tens of ms)
    // and a store under load.
    Histogram::new([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0])
}

pub struct IssuerMetrics {
    registry: Registry,
    pub token_requests: Family<TokenLabels, Counter>,
    pub aadsts_errors: Family<AadstsLabels, Counter>,
    pub token_latency_seconds: LatencyFamily,
}

impl IssuerMetrics {
    pub fn new() -> IssuerMetrics {
        let mut registry = Registry::with_prefix("tokengate_issuer");
        let token_requests = Family::<TokenLabels, Counter>::default();
        let aadsts_errors = Family::<AadstsLabels, Counter>::default();
        let token_latency_seconds = LatencyFamily::new_with_constructor(latency_histogram);
        registry.register(
            "token_requests",
            "Token endpoint requests by grant and outcome (success or the OAuth error)",
            token_requests.clone(),
        );
        registry.register("aadsts_errors", "Token endpoint errors by AADSTS code", aadsts_errors.clone());
        registry.register(
            "token_request_duration_seconds",
            "Token endpoint time from request to response, per grant",
            token_latency_seconds.clone(),
        );
        IssuerMetrics { registry, token_requests, aadsts_errors, token_latency_seconds }
    }

    /// One answered token request: `failure` is the OAuth error and AADSTS code it got, if any.
    pub fn token_request(&self, grant: &'static str, failure: Option<(&'static str, u32)>, elapsed: Duration) {
        let outcome = match failure {
            None => "success",
            Some((error, code)) => {
                self.aadsts_errors.get_or_create(&AadstsLabels { code, error }).inc();
                error
            }
        };
        self.token_requests.get_or_create(&TokenLabels { grant, outcome }).inc();
        self.token_latency_seconds.get_or_create(&GrantLabel { grant }).observe(elapsed.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for IssuerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed unwrap is a failed test

    use super::*;
    use tokengate_core::OAuthError;

    #[test]
    fn successes_and_errors_are_counted_by_fixed_labels() {
        let m = IssuerMetrics::new();
        let wrong_secret = OAuthError::new(401, "invalid_client", 7_000_215, "Invalid client secret provided.");
        let failure = Some((wrong_secret.error, wrong_secret.code));
        m.token_request("client_credentials", None, Duration::from_millis(2));
        m.token_request("client_credentials", failure, Duration::from_millis(1));
        m.token_request("client_credentials", failure, Duration::from_millis(1));
        let text = m.render();
        for line in [
            "tokengate_issuer_token_requests_total{grant=\"client_credentials\",outcome=\"success\"} 1",
            "tokengate_issuer_token_requests_total{grant=\"client_credentials\",outcome=\"invalid_client\"} 2",
            "tokengate_issuer_aadsts_errors_total{code=\"7000215\",error=\"invalid_client\"} 2",
            "tokengate_issuer_token_request_duration_seconds_count{grant=\"client_credentials\"} 3",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
    }
}
