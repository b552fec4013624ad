//! `POST /loki/api/v1/push`, the legacy `/api/prom/push`, `GET /ready`, and
//! ackbot's own `POST /api/v1/logs`: log lines from Promtail, Grafana
//! Alloy, Vector, Fluent Bit, `tracing-loki` and the language handlers, or
//! `curl --data-binary @app.log` (`../shared/spec/errors-and-logs.md`
//! section 2). Lines are not stored: each is tested against the
//! `[[logs.rules]]` ([`crate::engine::logrules`]), and a rule's group that
//! reaches its count within its window becomes an alert occurrence,
//! committed before the answer.
//!
//! Answers follow Loki's, because shippers act on them (spec 2.7): `204`
//! on success (`python-logging-loki` fails on 200), `400` only for a body
//! that can never succeed (every shipper drops it), `401` for a missing or
//! wrong token, `413` over the size limits, `429` when ackbot is busy
//! (every shipper retries it later) and `503` when storage fails.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{Inbound, RawBody, header};
use crate::config::logs::LogsConfig;
use crate::domain::alert::{AlertStatus, MAX_CONTENT_LEN, MAX_TITLE_LEN};
use crate::domain::labels::truncate_text;
use crate::domain::{Fingerprint, Labels, NewAlert};
use crate::engine::logrules::{Fire, Hit, Line, RuleSet, Windows};
use crate::ingest::decode::{self, DecodeError, Encoding};
use crate::ingest::{lines, loki};
use crate::store::Store;

/// Groups the rule windows keep at most, over every rule.
const MAX_GROUPS: usize = 10_000;
/// Pushes processed at once; more wait up to [`QUEUE_WAIT`], then 429.
const AT_ONCE: usize = 8;
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// `[logs]` as the handlers use it; swapped whole on reload (the rule
/// windows start over).
pub struct LogsInbound {
    config: LogsConfig,
    /// SHA-256 of each token: compared in constant time, lengths hidden.
    tokens: Vec<[u8; 32]>,
    rules: RuleSet,
    state: Mutex<State>,
    slots: tokio::sync::Semaphore,
}

struct State {
    windows: Windows,
    /// When each group's alert was last ingested (for `realert`).
    last: std::collections::HashMap<String, i64>,
}

impl LogsInbound {
    pub fn new(config: &LogsConfig) -> Self {
        let rules = RuleSet::compile(&config.rules).unwrap_or_else(|e| {
            // Validated at load; a rule set that fails here is a bug.
            tracing::error!(error = %e, "[logs] rules do not compile; no rule applies");
            RuleSet::compile(&[]).expect("an empty rule set compiles")
        });
        Self {
            tokens: config.tokens.iter().map(|t| digest(t.expose())).collect(),
            rules,
            state: Mutex::new(State {
                windows: Windows::new(MAX_GROUPS),
                last: Default::default(),
            }),
            slots: tokio::sync::Semaphore::new(AT_ONCE),
            config: config.clone(),
        }
    }

    pub fn body_limit(&self) -> usize {
        self.config.max_body_bytes
    }
}

fn digest(s: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).into()
}

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error(
        "missing or wrong token; send one of [logs] tokens as a Bearer token or the basic-auth password"
    )]
    Unauthorized,
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Push(#[from] loki::PushError),
    #[error("ackbot is busy; retry later")]
    Busy,
    #[error("storage is unavailable; retry later")]
    Storage(#[from] crate::store::StoreError),
}

impl LogsError {
    fn status(&self) -> StatusCode {
        use loki::PushError as P;
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Decode(DecodeError::TooLarge { .. })
            | Self::Push(P::TooLarge { .. } | P::TooManyEntries { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::Decode(_) | Self::Push(_) => StatusCode::BAD_REQUEST,
            Self::Busy => StatusCode::TOO_MANY_REQUESTS,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::TOO_MANY_REQUESTS => "busy",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "bad_request",
        }
    }

    fn outcome(&self) -> &'static str {
        match self.status() {
            StatusCode::UNAUTHORIZED => "refused",
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ => "unreadable",
        }
    }

    fn response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status());
        if matches!(self, Self::Busy | Self::Storage(_)) {
            r.insert_header(("Retry-After", "5"));
        }
        r.json(json!({"error": self.code(), "message": self.to_string()}))
    }
}

/// Which body format a request carries.
#[derive(Clone, Copy)]
enum Kind {
    Push,
    LegacyPush,
    Lines,
}

/// `POST /loki/api/v1/push`.
pub async fn push(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    run(&req, &body.0, &inbound, &**store, Kind::Push).await
}

/// `POST /api/prom/push` (legacy JSON, or protobuf).
pub async fn legacy_push(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    run(&req, &body.0, &inbound, &**store, Kind::LegacyPush).await
}

/// `POST /api/v1/logs?service=…&label=…`: plain lines or NDJSON.
pub async fn plain_lines(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    run(&req, &body.0, &inbound, &**store, Kind::Lines).await
}

/// `GET /ready`: Vector's health check of a Loki sink.
pub async fn ready() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ready")
}

async fn run(
    req: &HttpRequest,
    body: &web::Bytes,
    inbound: &Inbound,
    store: &dyn Store,
    kind: Kind,
) -> HttpResponse {
    let logs = inbound.logs.load_full();
    let source = match kind {
        Kind::Lines => "lines",
        _ => "loki",
    };
    match handle(req, body, &logs, store, kind).await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(e) => {
            if let LogsError::Storage(err) = &e {
                tracing::error!(error = %err, "log rule alerts not stored");
            }
            crate::metrics::get().intake(source, "push", e.outcome(), 1);
            e.response()
        }
    }
}

/// True when the request carries one of the tokens (Bearer, or the
/// password of basic auth whatever the user).
fn authorized(req: &HttpRequest, logs: &LogsInbound) -> bool {
    let Some(value) = header(req, AUTHORIZATION.as_str()) else {
        return false;
    };
    let given = if let Some(t) = value.strip_prefix("Bearer ") {
        t.trim().to_string()
    } else if let Some(b) = value.strip_prefix("Basic ") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b.trim()) else {
            return false;
        };
        let Ok(text) = String::from_utf8(raw) else {
            return false;
        };
        match text.split_once(':') {
            Some((_, password)) => password.to_string(),
            None => return false,
        }
    } else {
        return false;
    };
    let given = digest(&given);
    // Every token compared, no early exit.
    let mut ok = subtle::Choice::from(0);
    for t in &logs.tokens {
        ok |= t.ct_eq(&given);
    }
    bool::from(ok)
}

async fn handle(
    req: &HttpRequest,
    body: &web::Bytes,
    logs: &LogsInbound,
    store: &dyn Store,
    kind: Kind,
) -> Result<(), LogsError> {
    if !authorized(req, logs) {
        return Err(LogsError::Unauthorized);
    }
    let _slot = tokio::time::timeout(QUEUE_WAIT, logs.slots.acquire())
        .await
        .map_err(|_| LogsError::Busy)?
        .map_err(|_| LogsError::Busy)?;
    let encoding = match header(req, CONTENT_ENCODING.as_str()).map(str::trim) {
        // Snappy is the protobuf step's (spec 2.2).
        Some(e) if e.eq_ignore_ascii_case("snappy") => Encoding::Identity,
        other => Encoding::parse(other)?,
    };
    let decoded = decode::decode(body, encoding, logs.config.max_decoded_bytes)?;
    let limits = loki::Limits {
        max_decoded: logs.config.max_decoded_bytes,
        max_line: 256 * 1024,
        max_labels: 30,
        max_entries: 10_000,
    };
    let content_type = header(req, CONTENT_TYPE.as_str());
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
    let mut streams = match kind {
        Kind::Push | Kind::LegacyPush => {
            let format = loki::format_for(content_type, matches!(kind, Kind::LegacyPush));
            loki::decode(&decoded, format, &limits)?
        }
        Kind::Lines => {
            let entries = lines::parse(&decoded, lines::format_for(content_type), now_ns, &limits)?;
            vec![loki::Stream {
                labels: query_labels(req),
                entries,
            }]
        }
    };
    if let Some(tenant) = header(req, "x-scope-orgid").filter(|t| !t.is_empty()) {
        for s in &mut streams {
            s.labels.retain(|(k, _)| k != "tenant");
            s.labels.push(("tenant".into(), truncate_text(tenant, 150)));
        }
    }
    let source = match kind {
        Kind::Lines => "lines",
        _ => "loki",
    };
    let (total, fires) = evaluate(logs, &streams, now_ns);
    let metrics = crate::metrics::get();
    let matched: u64 = fires.matched;
    metrics.intake(source, "line", "accepted", matched);
    metrics.intake(source, "line", "dropped", total - matched);
    for (rule, n) in &fires.by_rule {
        metrics
            .rule_matches
            .get_or_create(&crate::metrics::RuleLabels { rule: rule.clone() })
            .inc_by(*n);
    }
    if !fires.alerts.is_empty() {
        let n = fires.alerts.len() as u64;
        store.ingest(fires.alerts, chrono::Utc::now()).await?;
        metrics.accepted("logs", n);
    }
    Ok(())
}

/// `service=…` and the other query parameters of `/api/v1/logs` as labels.
fn query_labels(req: &HttpRequest) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    for pair in req.query_string().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        let (k, v) = (decode(k), decode(v));
        if crate::domain::labels::is_valid_name(&k) && labels.len() < 30 {
            labels.push((k, truncate_text(&v, 2048)));
        }
    }
    labels
}

#[derive(Default)]
struct Fired {
    alerts: Vec<NewAlert>,
    matched: u64,
    by_rule: Vec<(String, u64)>,
}

/// Runs every line through the rules; returns the line count and what fired.
fn evaluate(logs: &LogsInbound, streams: &[loki::Stream], now_ns: i64) -> (u64, Fired) {
    let mut total = 0u64;
    let mut hits: Vec<Hit> = Vec::new();
    let mut fired = Fired::default();
    if logs.rules.is_empty() {
        for s in streams {
            total += s.entries.len() as u64;
        }
        return (total, fired);
    }
    let mut matched_lines = 0u64;
    for s in streams {
        let rules = logs.rules.for_stream(&s.labels);
        for e in &s.entries {
            total += 1;
            let before = hits.len();
            rules.matches(
                &Line {
                    text: &e.line,
                    labels: &s.labels,
                    metadata: &e.metadata,
                    ts_ns: e.ts_ns,
                },
                &mut hits,
            );
            if hits.len() > before {
                matched_lines += 1;
            }
        }
    }
    fired.matched = matched_lines;
    if hits.is_empty() {
        return (total, fired);
    }
    let mut by_rule: std::collections::BTreeMap<String, u64> = Default::default();
    let mut state = logs.state.lock().unwrap_or_else(|e| e.into_inner());
    for hit in &hits {
        let rule = logs.rules.rule(hit.rule);
        *by_rule.entry(rule.name.clone()).or_default() += 1;
        let Some(fire) = state.windows.record(&logs.rules, hit, now_ns) else {
            continue;
        };
        // `realert`: one occurrence per group within it.
        if let Some(realert) = rule.realert {
            let gap = i64::try_from(realert.as_nanos()).unwrap_or(i64::MAX);
            if let Some(at) = state.last.get(&fire.fingerprint_key) {
                if now_ns.saturating_sub(*at) < gap {
                    continue;
                }
            }
            if state.last.len() >= MAX_GROUPS {
                state.last.retain(|_, at| now_ns.saturating_sub(*at) < gap);
                if state.last.len() >= MAX_GROUPS {
                    state.last.clear();
                }
            }
            state.last.insert(fire.fingerprint_key.clone(), now_ns);
        }
        fired
            .alerts
            .push(to_alert(&fire, rule.resolve_after, rule.window, hit));
    }
    fired.by_rule = by_rule.into_iter().collect();
    (total, fired)
}

fn to_alert(fire: &Fire, resolve_after: Option<Duration>, window: Duration, hit: &Hit) -> NewAlert {
    let mut pairs = fire.labels.clone();
    pairs.retain(|(k, _)| k != "source");
    pairs.push(("source".into(), "logs".into()));
    let (labels, _) = Labels::repair(pairs, 1024, 64, &["source", "rule"]);
    let mut annotations = Vec::new();
    if let Some(d) = resolve_after {
        annotations.push((
            "resolve_after".to_string(),
            format!("{}s", d.as_secs().max(1)),
        ));
    }
    let (annotations, _) = Labels::repair(annotations, 64, 4, &[]);
    let mut content = String::new();
    if !fire.summary.is_empty() {
        content.push_str(&fire.summary);
        content.push('\n');
    }
    content.push_str(&format!(
        "{} matching lines in {}\nlast: {}",
        fire.count,
        humantime::format_duration(window),
        hit.line
    ));
    NewAlert {
        fingerprint: Fingerprint::parse(&format!("log-{}", fire.fingerprint_key)).unwrap_or_else(
            |_| Fingerprint::derive(None, &fire.fingerprint_key, &Labels::default()),
        ),
        title: truncate_text(&fire.title, MAX_TITLE_LEN),
        content: truncate_text(&content, MAX_CONTENT_LEN),
        severity: fire.severity,
        service: fire.service.clone(),
        status: AlertStatus::Firing,
        labels,
        annotations,
        trace_id: None,
        request_id: None,
        starts_at: None,
    }
}

/// The routes, with their own body limit (`[logs] max_body_bytes`).
pub fn routes(cfg: &mut web::ServiceConfig, limit: usize) {
    let limit = web::Data::new(super::BodyLimit(limit));
    let json_405 = || web::to(super::health::method_not_allowed);
    cfg.service(
        web::resource("/loki/api/v1/push")
            .app_data(limit.clone())
            .post(push)
            .default_service(json_405()),
    )
    .service(
        web::resource("/api/prom/push")
            .app_data(limit.clone())
            .post(legacy_push)
            .default_service(json_405()),
    )
    .service(
        web::resource("/api/v1/logs")
            .app_data(limit)
            .post(plain_lines)
            .default_service(json_405()),
    )
    .service(
        web::resource("/ready")
            .get(ready)
            .default_service(json_405()),
    );
}

pub fn shared(config: &LogsConfig) -> Arc<LogsInbound> {
    Arc::new(LogsInbound::new(config))
}
