//! Prometheus metrics, served at `GET /metrics` (text exposition format,
//! unauthenticated like `/healthz`: counts only, no alert content).
//!
//! One process-wide registry: the counters are written from the API, the
//! store and the delivery worker, which share no other state.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    /// `sent`, `retry`, `failed`, `dead`, `deferred`.
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    /// Alerts answered 202 (committed).
    pub alerts_accepted: Counter,
    /// Outbox rows by channel and what became of an attempt.
    pub deliveries: Family<DeliveryLabels, Counter>,
}

pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("ackbot");
        let alerts_accepted = Counter::default();
        registry.register(
            "alerts_accepted",
            "Alerts committed and answered 202",
            alerts_accepted.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Outbox rows by channel and outcome of the attempt (sent, retry, failed, dead, deferred)",
            deliveries.clone(),
        );
        Metrics {
            registry,
            alerts_accepted,
            deliveries,
        }
    })
}

impl Metrics {
    pub fn delivery(&self, channel: &str, outcome: &str, rows: usize) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.to_string(),
                outcome: outcome.to_string(),
            })
            .inc_by(rows as u64);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}
