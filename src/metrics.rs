//! Prometheus metrics, served at `GET /metrics` (text exposition format,
//! unauthenticated like `/healthz`: counts only, no alert content).
//!
//! One process-wide registry: the counters are written from the API, the
//! store and the delivery worker, which share no other state.

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// One CI pipeline series: bounded by `[ci] max_series`; never a sha or a
/// message.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineLabels {
    pub system: String,
    pub source: String,
    pub project: String,
    pub pipeline: String,
    #[prometheus(flatten)]
    pub git_ref: RefLabel,
}

/// `ref` is a keyword: the label is spelled out by hand.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct RefLabel(pub String);

impl EncodeLabelSet for RefLabel {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelSetEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeLabel;
        ("ref", self.0.as_str()).encode(encoder.encode_label())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PipelineStatusLabels {
    #[prometheus(flatten)]
    pub pipeline: PipelineLabels,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub system: String,
    /// `accepted`, `duplicate`, `ignored`, `ping`, `unreadable`,
    /// `bad_signature`, `stale_timestamp`, `replay`, `unauthenticated`.
    pub outcome: String,
}

type HistogramMaker = fn() -> Histogram;

fn duration_histogram() -> Histogram {
    // 10 s … ~2.8 h.
    Histogram::new(exponential_buckets(10.0, 2.0, 11))
}

/// The statuses `ackbot_ci_pipeline_status` has a sample for.
pub const PIPELINE_STATUSES: [&str; 6] = [
    "success",
    "failure",
    "timed_out",
    "cancelled",
    "unstable",
    "neutral",
];

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
    /// CI webhook deliveries by system and what became of them.
    pub webhooks: Family<WebhookLabels, Counter>,
    pub pipeline_status: Family<PipelineStatusLabels, Gauge>,
    pub pipeline_runs: Family<PipelineStatusLabels, Counter>,
    pub pipeline_failures: Family<PipelineLabels, Gauge>,
    pub pipeline_running: Family<PipelineLabels, Gauge>,
    pub pipeline_duration: Family<PipelineLabels, Histogram, HistogramMaker>,
    /// Results of series beyond `[ci] max_series`: counted here only.
    pub series_overflow: Counter,
    series: std::sync::Mutex<std::collections::HashSet<PipelineLabels>>,
    max_series: std::sync::atomic::AtomicUsize,
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
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "CI webhook deliveries by system and outcome",
            webhooks.clone(),
        );
        let pipeline_status = Family::<PipelineStatusLabels, Gauge>::default();
        registry.register(
            "ci_pipeline_status",
            "Result of the newest run of a pipeline: 1 for its status, 0 for the others",
            pipeline_status.clone(),
        );
        let pipeline_runs = Family::<PipelineStatusLabels, Counter>::default();
        registry.register(
            "ci_pipeline_runs",
            "Finished runs of a pipeline by status",
            pipeline_runs.clone(),
        );
        let pipeline_failures = Family::<PipelineLabels, Gauge>::default();
        registry.register(
            "ci_pipeline_consecutive_failures",
            "Failed runs in a row, as the pipeline's rule counts them",
            pipeline_failures.clone(),
        );
        let pipeline_running = Family::<PipelineLabels, Gauge>::default();
        registry.register(
            "ci_pipeline_running",
            "1 while a run of the pipeline is in progress (from its start event), else 0",
            pipeline_running.clone(),
        );
        let pipeline_duration =
            Family::<PipelineLabels, Histogram, HistogramMaker>::new_with_constructor(
                duration_histogram,
            );
        registry.register_with_unit(
            "ci_pipeline_duration",
            "Duration of finished runs",
            prometheus_client::registry::Unit::Seconds,
            pipeline_duration.clone(),
        );
        let series_overflow = Counter::default();
        registry.register(
            "ci_series_overflow",
            "Pipeline results not shown per series because [ci] max_series series are shown",
            series_overflow.clone(),
        );
        Metrics {
            registry,
            alerts_accepted,
            deliveries,
            webhooks,
            pipeline_status,
            pipeline_runs,
            pipeline_failures,
            pipeline_running,
            pipeline_duration,
            series_overflow,
            series: Default::default(),
            max_series: std::sync::atomic::AtomicUsize::new(1000),
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

    pub fn webhook(&self, system: &str, outcome: &str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                system: system.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// `[ci] max_series` (start-up and reloads).
    pub fn set_max_series(&self, max: usize) {
        self.max_series
            .store(max, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `series` has samples: it has, or there is room for it; else
    /// the overflow counts it.
    pub fn admit_series(&self, series: &PipelineLabels) -> bool {
        let mut known = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if known.contains(series) {
            return true;
        }
        if known.len() >= self.max_series.load(std::sync::atomic::Ordering::Relaxed) {
            self.series_overflow.inc();
            return false;
        }
        known.insert(series.clone());
        true
    }

    /// A finished run of `series` with `status` (one of
    /// [`PIPELINE_STATUSES`]), `failures` in a row now.
    pub fn pipeline_finished(
        &self,
        series: &PipelineLabels,
        status: &str,
        failures: u32,
        duration_secs: Option<f64>,
    ) {
        if !self.admit_series(series) {
            return;
        }
        for s in PIPELINE_STATUSES {
            let labels = PipelineStatusLabels {
                pipeline: series.clone(),
                status: s.to_string(),
            };
            self.pipeline_status
                .get_or_create(&labels)
                .set(i64::from(s == status));
            if s == status {
                self.pipeline_runs.get_or_create(&labels).inc();
            }
        }
        self.pipeline_failures
            .get_or_create(series)
            .set(i64::from(failures));
        self.pipeline_running.get_or_create(series).set(0);
        if let Some(d) = duration_secs {
            self.pipeline_duration.get_or_create(series).observe(d);
        }
    }

    /// A run of `series` started.
    pub fn pipeline_started(&self, series: &PipelineLabels) {
        if self.admit_series(series) {
            self.pipeline_running.get_or_create(series).set(1);
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}
