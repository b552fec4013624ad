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
    /// Verified: `accepted`, `duplicate`, `out_of_order`, `ignored`, `ping`,
    /// `unreadable`. Refused: `bad_signature` (also a missing one),
    /// `stale_timestamp`, `replay`, `unsupported_media_type`,
    /// `not_configured`, `unavailable`.
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

/// What became of what applications and log shippers sent.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    /// `sentry`, `loki` or `lines`.
    pub source: String,
    /// Sentry: `event`, `check_in` or the other item types' data category;
    /// logs: `line`.
    pub kind: String,
    /// `accepted`, `dropped` (read and not used: an ignored item type, a
    /// line no rule matched), `unreadable`, `rate_limited`, `refused`
    /// (authentication), `too_large`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    /// `sent`, `retry`, `failed`, `dead`, `deferred`.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The matched route pattern (`/api/v1/alerts/{id}`), or `unmatched`.
    pub route: String,
    /// GET, POST, … or `other`.
    pub method: String,
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `feishu`, `dingtalk`, `wecom`, `link`, `ui` (what people do from
    /// chat, cards, signed links and the console), `api`.
    pub via: String,
    /// `ack`, `unack`, `resolve`, `silence`.
    pub action: String,
    /// `changed`, `unchanged`, `refused`, `not_found`.
    pub outcome: String,
}

/// A callback or signed link refused before it changed anything.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// `feishu`, `dingtalk`, `wecom`, `twilio`, `link`, or a CI system
    /// (`github`, `gitlab`, `gitee`, `gitea`, `jenkins`).
    pub platform: String,
    /// The error code of the JSON answer: `bad_signature`, `bad_token`,
    /// `missing_signature`, `stale_timestamp`, `future_timestamp`, `replay`,
    /// `bad_ciphertext`, `malformed_body`, `payload_too_large`, …; and
    /// `duplicate` for a message id seen before (the platform's own retry,
    /// answered 2xx and not acted on twice).
    pub reason: String,
}

/// Where committed alerts came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `api`, `alertmanager`, `grafana`, `sentry`, `logs`, `ci`, `check`,
    /// `heartbeat`, `monitor`.
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
}

type FloatGauge = Gauge<f64, std::sync::atomic::AtomicU64>;
type FloatCounter = Counter<f64, std::sync::atomic::AtomicU64>;

fn latency_histogram() -> Histogram {
    // 10 ms … ~44 min, doubling.
    Histogram::new(exponential_buckets(0.01, 2.0, 19))
}

pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route, method and status.
    pub http: Family<HttpLabels, Counter>,
    /// Messages (not rows: a digest is one) by channel and outcome.
    pub messages: Family<DeliveryLabels, Counter>,
    /// From a message's due time to the platform's acceptance.
    pub delivery_latency: Family<ChannelLabels, Histogram, HistogramMaker>,
    /// Outbox rows waiting or given up, by status (updated every 15 s).
    pub outbox_rows: Family<StatusLabels, Gauge>,
    /// How long the oldest due, pending row has been due (0: none).
    pub outbox_oldest: FloatGauge,
    /// What people did, through what, and what came of it.
    pub actions: Family<ActionLabels, Counter>,
    /// Callback identities the replay memory holds in this process.
    pub replay_entries: Gauge,
    pub process_cpu: FloatCounter,
    process_cpu_seen: std::sync::Mutex<f64>,
    pub process_rss: Gauge,
    pub process_fds: Gauge,
    /// Alerts committed (answered 2xx), by source.
    pub alerts_accepted: Family<SourceLabels, Counter>,
    /// Callbacks and signed links refused, by platform and reason.
    pub callbacks_refused: Family<RefusedLabels, Counter>,
    /// One group commit of the storage writer: how long, how many alerts.
    pub commit_latency: Histogram,
    pub commit_batch: Histogram,
    /// Channel rounds in which the rate budget was short and messages
    /// waited (once per round, however many rows waited).
    pub budget_deferrals: Family<ChannelLabels, Counter>,
    /// Digests sent: one message standing for many alerts.
    pub digests: Family<ChannelLabels, Counter>,
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
    /// Sentry items and log lines by source, kind and outcome.
    pub intake: Family<IntakeLabels, Counter>,
    /// Log lines each `[[logs.rules]]` rule matched.
    pub rule_matches: Family<RuleLabels, Counter>,
    series: std::sync::Mutex<std::collections::HashSet<PipelineLabels>>,
    max_series: std::sync::atomic::AtomicUsize,
}

pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("ackbot");
        let alerts_accepted = Family::<SourceLabels, Counter>::default();
        registry.register(
            "alerts_accepted",
            "Alerts committed (answered 2xx), by source (api, alertmanager, grafana, sentry, logs, ci, check, heartbeat, monitor)",
            alerts_accepted.clone(),
        );
        let callbacks_refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "callbacks_refused",
            "Chat callbacks, provider callbacks, CI webhooks and signed links refused before they changed anything, by platform and reason",
            callbacks_refused.clone(),
        );
        let commit_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
        registry.register_with_unit(
            "ingest_commit_duration",
            "One group commit of incoming alerts, from taking the batch to its commit",
            prometheus_client::registry::Unit::Seconds,
            commit_latency.clone(),
        );
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "ingest_commit_alerts",
            "Alerts in one group commit (requests arriving during a commit share the next one)",
            commit_batch.clone(),
        );
        let budget_deferrals = Family::<ChannelLabels, Counter>::default();
        registry.register(
            "rate_budget_deferrals",
            "Delivery rounds in which a channel's rate budget was short and messages waited for the next slot",
            budget_deferrals.clone(),
        );
        let digests = Family::<ChannelLabels, Counter>::default();
        registry.register(
            "digests",
            "Digests sent: one message standing for the alerts a short rate budget could not send one by one",
            digests.clone(),
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
        let intake = Family::<IntakeLabels, Counter>::default();
        registry.register(
            "intake",
            "Sentry items and log lines by source, kind and outcome (accepted, dropped, unreadable, rate_limited, refused, too_large)",
            intake.clone(),
        );
        let rule_matches = Family::<RuleLabels, Counter>::default();
        registry.register(
            "log_rule_matches",
            "Log lines matched, by [[logs.rules]] rule",
            rule_matches.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("build_info", "1, labelled with the version", build);
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern, method and status",
            http.clone(),
        );
        let messages = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "messages",
            "Messages sent or attempted per channel (a digest or a group is one), by outcome (sent, retry, failed, dead)",
            messages.clone(),
        );
        let delivery_latency =
            Family::<ChannelLabels, Histogram, HistogramMaker>::new_with_constructor(
                latency_histogram,
            );
        registry.register_with_unit(
            "delivery_latency",
            "From a message's due time to the platform accepting it",
            prometheus_client::registry::Unit::Seconds,
            delivery_latency.clone(),
        );
        let outbox_rows = Family::<StatusLabels, Gauge>::default();
        registry.register(
            "outbox_rows",
            "Outbox rows by status: pending (to send), failed, dead (updated every 15 s)",
            outbox_rows.clone(),
        );
        let outbox_oldest = FloatGauge::default();
        registry.register_with_unit(
            "outbox_oldest_pending_age",
            "How long the oldest due pending outbox row has been due; 0 when none",
            prometheus_client::registry::Unit::Seconds,
            outbox_oldest.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Acknowledgements, unacknowledgements, resolves and silences from chat, cards, links, the console and the API, by platform, action and outcome",
            actions.clone(),
        );
        let replay_entries = Gauge::default();
        registry.register(
            "replay_cache_entries",
            "Callback identities held by this process's replay memory",
            replay_entries.clone(),
        );
        let process_cpu = FloatCounter::default();
        registry.register_with_unit(
            "process_cpu",
            "User and system CPU time of the process",
            prometheus_client::registry::Unit::Seconds,
            process_cpu.clone(),
        );
        let process_rss = Gauge::default();
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory of the process",
            prometheus_client::registry::Unit::Bytes,
            process_rss.clone(),
        );
        let process_fds = Gauge::default();
        registry.register(
            "process_open_fds",
            "Open file descriptors of the process",
            process_fds.clone(),
        );
        Metrics {
            registry,
            http,
            messages,
            delivery_latency,
            outbox_rows,
            outbox_oldest,
            actions,
            replay_entries,
            process_cpu,
            process_cpu_seen: std::sync::Mutex::new(0.0),
            process_rss,
            process_fds,
            intake,
            rule_matches,
            alerts_accepted,
            callbacks_refused,
            commit_latency,
            commit_batch,
            budget_deferrals,
            digests,
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

/// HTTP methods as a bounded label.
fn method_label(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                method: method_label(method).to_string(),
                status: status.to_string(),
            })
            .inc();
    }

    pub fn message(&self, channel: &str, outcome: &str, latency_secs: Option<f64>) {
        self.messages
            .get_or_create(&DeliveryLabels {
                channel: channel.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        if let Some(l) = latency_secs {
            self.delivery_latency
                .get_or_create(&ChannelLabels {
                    channel: channel.to_string(),
                })
                .observe(l.max(0.0));
        }
    }

    /// `n` alerts committed from `source`.
    pub fn accepted(&self, source: &str, n: u64) {
        self.alerts_accepted
            .get_or_create(&SourceLabels {
                source: source.to_string(),
            })
            .inc_by(n);
    }

    pub fn refused(&self, platform: &str, reason: &str) {
        self.callbacks_refused
            .get_or_create(&RefusedLabels {
                platform: platform.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Zero series for each configured channel, so that `increase()` and
    /// `rate()` see a channel's first failure or digest, and the rules and
    /// dashboard find their series before anything went wrong.
    pub fn channels_known<'a>(&self, names: impl IntoIterator<Item = &'a str>) {
        for channel in names {
            let c = ChannelLabels {
                channel: channel.to_string(),
            };
            self.budget_deferrals.get_or_create(&c).inc_by(0);
            self.digests.get_or_create(&c).inc_by(0);
            for outcome in ["sent", "retry", "failed", "dead"] {
                self.messages
                    .get_or_create(&DeliveryLabels {
                        channel: channel.to_string(),
                        outcome: outcome.to_string(),
                    })
                    .inc_by(0);
            }
        }
    }

    pub fn channel_event(family: &Family<ChannelLabels, Counter>, channel: &str) {
        family
            .get_or_create(&ChannelLabels {
                channel: channel.to_string(),
            })
            .inc();
    }

    pub fn action(&self, via: &str, action: &str, outcome: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                via: via.to_string(),
                action: action.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The outbox as last counted: rows per status and the oldest due
    /// pending row's age.
    pub fn outbox(&self, counts: &[(&str, i64)], oldest_secs: f64) {
        for (status, n) in counts {
            self.outbox_rows
                .get_or_create(&StatusLabels {
                    status: (*status).to_string(),
                })
                .set(*n);
        }
        self.outbox_oldest.set(oldest_secs.max(0.0));
    }

    /// CPU, memory and descriptors from `/proc/self` (Linux), read at each
    /// scrape. CPU ticks are `USER_HZ`, 100 on every Linux ABI.
    pub fn refresh_process(&self) {
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the parenthesised name: utime and stime are the
            // 12th and 13th.
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            if let (Some(u), Some(s)) = (
                f.get(11).and_then(|v| v.parse::<f64>().ok()),
                f.get(12).and_then(|v| v.parse::<f64>().ok()),
            ) {
                let total = (u + s) / 100.0;
                let mut seen = self
                    .process_cpu_seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if total > *seen {
                    self.process_cpu.inc_by(total - *seen);
                    *seen = total;
                }
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                self.process_rss.set(kb * 1024);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.process_fds.set(dir.count() as i64);
        }
    }

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

    pub fn intake(&self, source: &str, kind: &str, outcome: &str, n: u64) {
        if n > 0 {
            self.intake
                .get_or_create(&IntakeLabels {
                    source: source.to_string(),
                    kind: kind.to_string(),
                    outcome: outcome.to_string(),
                })
                .inc_by(n);
        }
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

    /// The OpenMetrics text exposition (what Prometheus asks for).
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }

    /// The Prometheus text format 0.0.4, for everything else that reads
    /// `/metrics` (promtool, curl, older agents).
    pub fn render_prometheus_text(&self) -> String {
        to_prometheus_text(&self.render())
    }
}

/// Where a sample line's name and labels end (label values may hold
/// anything, escaped).
fn labels_end(line: &str) -> usize {
    let Some(open) = line
        .find(['{', ' '])
        .filter(|&i| line.as_bytes()[i] == b'{')
    else {
        return 0;
    };
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in line[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return open + i + 1,
            _ => {}
        }
    }
    line.len()
}

/// OpenMetrics text to the Prometheus text format 0.0.4: a counter family
/// is named with its `_total` (OpenMetrics names it without), `info` is a
/// gauge named `_info`, `unknown` is `untyped`; `# UNIT`, `# EOF` and
/// exemplars have no place there. Samples are the same lines.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // HELP comes before TYPE, and its name depends on the type.
    let mut help: Option<(&str, &str)> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest.split_once(' ').unwrap_or((rest, "")));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "info" => (format!("{name}_info"), "gauge"),
                "stateset" => (name.to_string(), "gauge"),
                "gaugehistogram" => (name.to_string(), "histogram"),
                "unknown" => (name.to_string(), "untyped"),
                other => (name.to_string(), other),
            };
            if let Some((_, text)) = help.take() {
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
        } else if line.starts_with("# ") || line == "#" {
            // `# UNIT`, `# EOF`.
        } else if !line.is_empty() {
            // An exemplar follows ` # ` after the value.
            let head = labels_end(line);
            let sample = match line[head..].find(" # ") {
                Some(i) => &line[..head + i],
                None => line,
            };
            let name = sample.split(['{', ' ']).next().unwrap_or("");
            if name.ends_with("_created") {
                continue;
            }
            out.push_str(sample);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_becomes_prometheus_text() {
        let om = "# HELP ackbot_x Things done.\n# TYPE ackbot_x counter\nackbot_x_total{a=\"b # {c}\"} 3\nackbot_x_created{a=\"b\"} 1.7e9\n# HELP ackbot_up Up.\n# TYPE ackbot_up gauge\n# UNIT ackbot_up seconds\nackbot_up 1\n# TYPE ackbot_build info\nackbot_build_info{v=\"1\"} 1\n# HELP ackbot_h Latency.\n# TYPE ackbot_h histogram\nackbot_h_bucket{le=\"+Inf\"} 2 # {trace_id=\"x\"} 0.5\nackbot_h_sum 1.0\nackbot_h_count 2\n# EOF\n";
        assert_eq!(
            to_prometheus_text(om),
            "# HELP ackbot_x_total Things done.\n# TYPE ackbot_x_total counter\nackbot_x_total{a=\"b # {c}\"} 3\n# HELP ackbot_up Up.\n# TYPE ackbot_up gauge\nackbot_up 1\n# TYPE ackbot_build_info gauge\nackbot_build_info{v=\"1\"} 1\n# HELP ackbot_h Latency.\n# TYPE ackbot_h histogram\nackbot_h_bucket{le=\"+Inf\"} 2\nackbot_h_sum 1.0\nackbot_h_count 2\n"
        );
    }

    #[test]
    fn every_family_of_ours_converts_with_its_help() {
        let text = get().render_prometheus_text();
        assert!(!text.contains("# EOF"));
        let mut helped = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                helped.insert(rest.split(' ').next().unwrap().to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(helped.contains(name), "{name} has no HELP");
            }
        }
    }
}
