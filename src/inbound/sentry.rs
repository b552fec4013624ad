//! `POST /api/{project_id}/envelope/` and the legacy `/api/{project_id}/store/`:
//! the Sentry protocol, so that any Sentry SDK reports to ackbot with only
//! its DSN changed (`../shared/spec/errors-and-logs.md` section 1).
//!
//! Answers are what SDKs act on (spec 1.12): `200 {"id": …}` for every
//! accepted envelope, whatever its items (never 202 or 204: the Java SDK
//! counts only 200); `401` for a missing or wrong key or an unknown
//! project (one answer for both, so ids cannot be probed); `413` over the
//! size limits, before and after decompression; `415` for an unknown
//! `Content-Encoding`; `400` for an envelope that can never be read;
//! `429` with `Retry-After` and a three-part `X-Sentry-Rate-Limits` when
//! the events come faster than `[errors] rate_per_second`; `503` when
//! storage fails. An event that cannot be read inside a readable envelope
//! is counted (`ackbot_intake_total{outcome="unreadable"}`) and answered
//! 200: the SDK could not fix it, and retrying would not help.
//!
//! The key is checked in constant time before anything is decompressed
//! when the request carries it (`X-Sentry-Auth`, `sentry_key`); only an
//! envelope that authenticates by its `dsn` header is decompressed first.
//! An accepted event is committed before the answer, and so is a check-in
//! of a cron monitor (`crate::watch::monitors`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{Inbound, RawBody, header};
use crate::config::ErrorsConfig;
use crate::domain::NewAlert;
use crate::ingest::decode::{self, DecodeError, Encoding};
use crate::ingest::sentry::{self as wire, alert, checkin, envelope, event, group};
use crate::store::Store;
use crate::verify::sentry as auth;

/// How long an SDK told to back off waits (`Retry-After`).
const BACKOFF_SECS: u64 = 10;

type Limiter = governor::DefaultDirectRateLimiter;

/// `[errors]` as the handlers use it; swapped whole on reload.
pub struct ErrorsInbound {
    config: ErrorsConfig,
    /// Project id → index in `config.projects`.
    projects: HashMap<u64, usize>,
    limiter: Limiter,
}

impl ErrorsInbound {
    pub fn new(config: &ErrorsConfig) -> Self {
        let per_second = NonZeroU32::new(config.rate_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.rate_burst).unwrap_or(NonZeroU32::MIN);
        Self {
            projects: config
                .projects
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id, i))
                .collect(),
            limiter: governor::RateLimiter::direct(
                governor::Quota::per_second(per_second).allow_burst(burst),
            ),
            config: config.clone(),
        }
    }

    pub fn body_limit(&self) -> usize {
        self.config.max_body_bytes
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SentryError {
    #[error("unknown project or key; check the DSN")]
    Unauthorized,
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("too many events; retry after {BACKOFF_SECS} s")]
    RateLimited,
    #[error("storage is unavailable; retry later")]
    Storage(#[from] crate::store::StoreError),
}

impl SentryError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Malformed(_) | Self::Decode(DecodeError::Corrupt { .. }) => {
                StatusCode::BAD_REQUEST
            }
            Self::Decode(DecodeError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Decode(DecodeError::Unsupported(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Malformed(_) | Self::Decode(DecodeError::Corrupt { .. }) => "bad_request",
            Self::Decode(DecodeError::TooLarge { .. }) => "payload_too_large",
            Self::Decode(DecodeError::Unsupported(_)) => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Storage(_) => "unavailable",
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::Unauthorized => "refused",
            Self::Decode(DecodeError::TooLarge { .. }) => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Storage(_) => "unavailable",
            _ => "unreadable",
        }
    }

    /// The JSON error of DESIGN.md, plus Relay's `detail` and
    /// `X-Sentry-Error` that SDKs log.
    fn response(&self) -> HttpResponse {
        let message = self.to_string();
        let mut r = HttpResponse::build(self.status());
        r.insert_header(("X-Sentry-Error", message.clone()));
        match self {
            Self::RateLimited => {
                r.insert_header(("Retry-After", BACKOFF_SECS.to_string()));
                // Empty categories: every SDK pauses everything (the Rust
                // SDK has no `monitor` category and ignores a limit
                // without its scope part).
                r.insert_header((
                    "X-Sentry-Rate-Limits",
                    format!("{BACKOFF_SECS}::key:ackbot_rate_limit"),
                ));
            }
            Self::Storage(_) => {
                r.insert_header(("Retry-After", BACKOFF_SECS.to_string()));
            }
            _ => {}
        }
        r.json(json!({"error": self.code(), "message": message, "detail": message}))
    }
}

/// `POST /api/{project_id}/envelope/`.
pub async fn envelope(
    req: HttpRequest,
    path: web::Path<String>,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let errors = inbound.errors.load_full();
    respond(handle(&req, &path, &body.0, &errors, &**store, Endpoint::Envelope).await)
}

/// `POST /api/{project_id}/store/`: one JSON event (or an envelope, by its
/// content type), for old SDKs.
pub async fn store_event(
    req: HttpRequest,
    path: web::Path<String>,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let errors = inbound.errors.load_full();
    let endpoint = match header(&req, CONTENT_TYPE.as_str()) {
        Some(t) if t.starts_with("application/x-sentry-envelope") => Endpoint::Envelope,
        _ => Endpoint::Store,
    };
    respond(handle(&req, &path, &body.0, &errors, &**store, endpoint).await)
}

fn respond(result: Result<Option<String>, SentryError>) -> HttpResponse {
    match result {
        Ok(Some(id)) => HttpResponse::Ok().json(json!({ "id": id })),
        Ok(None) => HttpResponse::Ok().json(json!({})),
        Err(e) => {
            if let SentryError::Storage(err) = &e {
                tracing::error!(error = %err, "Sentry event not stored");
            }
            crate::metrics::get().intake("sentry", "envelope", e.outcome(), 1);
            e.response()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Envelope,
    Store,
}

/// The accepted envelope's event id (undashed), if it has one.
async fn handle(
    req: &HttpRequest,
    project_id: &str,
    body: &web::Bytes,
    errors: &ErrorsInbound,
    store: &dyn Store,
    endpoint: Endpoint,
) -> Result<Option<String>, SentryError> {
    let project = project_id
        .parse::<u64>()
        .ok()
        .and_then(|id| errors.projects.get(&id))
        .map(|&i| &errors.config.projects[i])
        .ok_or(SentryError::Unauthorized)?;
    let keys: Vec<&str> = project.keys().map(|k| k.expose()).collect();
    let given_header = header(req, "x-sentry-auth");
    let query = req.query_string();
    // The key the request itself carries is checked before any inflating.
    let early = auth::public_key(given_header, query, None);
    if let Ok(k) = &early {
        auth::matching_key(k, &keys).ok_or(SentryError::Unauthorized)?;
    }
    let encoding = Encoding::parse(header(req, CONTENT_ENCODING.as_str()))?;
    let decoded = decode::decode(body, encoding, errors.config.max_decoded_bytes)?;
    let (event_id, items) = match endpoint {
        Endpoint::Envelope => {
            let env =
                envelope::parse(&decoded).map_err(|e| SentryError::Malformed(e.to_string()))?;
            if early.is_err() {
                let k = auth::public_key(given_header, query, env.dsn.as_deref())
                    .map_err(|_| SentryError::Unauthorized)?;
                auth::matching_key(&k, &keys).ok_or(SentryError::Unauthorized)?;
            } else if let Some(dsn) = env.dsn.as_deref() {
                // Present in both places: they must name the same key.
                auth::public_key(given_header, query, Some(dsn))
                    .map_err(|_| SentryError::Unauthorized)?;
            }
            let items: Vec<(String, &[u8])> = env
                .items
                .iter()
                .map(|i| (i.kind.to_string(), i.payload))
                .collect();
            (env.event_id.clone(), items)
        }
        Endpoint::Store => {
            if early.is_err() {
                return Err(SentryError::Unauthorized);
            }
            (None, vec![("event".to_string(), &decoded[..])])
        }
    };
    let used = items
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "event" | "check_in"))
        .count() as u32;
    if let Some(n) = NonZeroU32::new(used) {
        if !matches!(errors.limiter.check_n(n), Ok(Ok(()))) {
            return Err(SentryError::RateLimited);
        }
    }
    let metrics = crate::metrics::get();
    let resolve_after_secs = errors.config.resolve_after.as_secs();
    let info = alert::Project {
        id: project.id,
        service: project.service.as_deref(),
        environment: &project.environment,
        labels: &project.labels,
        resolve_after_secs,
    };
    let mut alerts: Vec<NewAlert> = Vec::new();
    let mut payload_event_id = None;
    for (kind, payload) in &items {
        match kind.as_str() {
            "event" => match event::parse(payload) {
                Ok(ev) => {
                    let key = group::group_key(project.id, &ev);
                    payload_event_id = payload_event_id.or(ev.event_id.clone());
                    alerts.push(alert::to_alert(&info, &ev, &key));
                }
                Err(e) => {
                    tracing::warn!(project = project.id, error = %e, "Sentry event unreadable; dropped");
                    metrics.intake("sentry", "event", "unreadable", 1);
                }
            },
            "check_in" => match checkin::parse(payload) {
                Ok(c) => {
                    crate::watch::monitors::check_in(
                        store,
                        project.id,
                        &project.environment,
                        project.service.as_deref(),
                        &c,
                    )
                    .await?;
                    metrics.intake("sentry", "check_in", "accepted", 1);
                }
                Err(e) => {
                    tracing::warn!(project = project.id, error = %e, "Sentry check-in unreadable; dropped");
                    metrics.intake("sentry", "check_in", "unreadable", 1);
                }
            },
            other => metrics.intake("sentry", wire::category(other), "dropped", 1),
        }
    }
    if !alerts.is_empty() {
        let n = alerts.len() as u64;
        store.ingest(alerts, chrono::Utc::now()).await?;
        metrics.accepted("sentry", n);
        metrics.intake("sentry", "event", "accepted", n);
    }
    Ok(event_id.or(payload_event_id))
}

/// The routes, with their own body limit (`[errors] max_body_bytes`).
pub fn routes(cfg: &mut web::ServiceConfig, limit: usize) {
    let limit = web::Data::new(super::BodyLimit(limit));
    let json_405 = || web::to(super::health::method_not_allowed);
    // With and without the final slash: a redirect would turn the POST
    // into a GET (spec 1.1).
    cfg.service(
        web::resource([
            "/api/{project_id:\\d+}/envelope/",
            "/api/{project_id:\\d+}/envelope",
        ])
        .app_data(limit.clone())
        .post(envelope)
        .default_service(json_405()),
    )
    .service(
        web::resource([
            "/api/{project_id:\\d+}/store/",
            "/api/{project_id:\\d+}/store",
        ])
        .app_data(limit)
        .post(store_event)
        .default_service(json_405()),
    );
}

/// For `Inbound`: the state of `[errors]`.
pub fn shared(config: &ErrorsConfig) -> Arc<ErrorsInbound> {
    Arc::new(ErrorsInbound::new(config))
}
