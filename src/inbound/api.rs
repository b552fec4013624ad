//! `/api/v1`: ingestion (ackbot's own Alert JSON, Alertmanager, Grafana), reads,
//! state changes and the audit trail. Every request needs a Bearer token from
//! `[api] tokens`. An alert is answered 202 only after the store committed it;
//! storage trouble is 503 so senders retry (Alertmanager retries only 5xx).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use chrono::Utc;
use futures_util::future::{Ready, ready};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::RawBody;
use crate::config::Secret;
use crate::domain::silence::{FINGERPRINT_LABEL, MAX_AUTHOR_LEN};
use crate::domain::{DomainError, MatchOp, Matcher, NewAlert, NewSilence, StateAction, alert};
use crate::ingest::alertmanager::{self, Flavor};
use crate::store::{ActionOutcome, Actor, RetryOutcome, Store, StoreError};
use crate::verify::ct_eq;

/// Most records one `GET /api/v1/alerts` returns.
const MAX_LIST: u32 = 1000;

/// Alerts converted and committed together. A request of up to this many is
/// one transaction; a larger one (an Alertmanager group of 10 000) is
/// committed in chunks of this size, one after the other, so that memory
/// follows the chunk and not the request: the body is held once, its alerts
/// as slices of it, and only one chunk at a time as alerts and rows.
pub const INGEST_CHUNK: usize = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or malformed `Authorization: Bearer <token>` header")]
    MissingToken,
    #[error("the bearer token is not valid")]
    BadToken,
    #[error("no API tokens are configured; add [api] tokens to the config")]
    NoTokens,
    #[error("{0}")]
    Invalid(#[from] DomainError),
    /// A body or query that is not the expected shape; `field` names where.
    #[error("{message}")]
    BadJson { field: String, message: String },
    #[error("no alert with id `{0}`")]
    NotFound(String),
    /// No such thing (a silence, a delivery): the whole sentence.
    #[error("{0}")]
    Missing(String),
    #[error("{0}")]
    Conflict(String),
    #[error("storage is unavailable; retry later")]
    Storage(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // A bound (too many silences): the caller can act on it.
            StoreError::Limit(why) => Self::Conflict(why),
            e => Self::Storage(e),
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::MissingToken | Self::NoTokens => "missing_token",
            Self::BadToken => "bad_token",
            Self::Invalid(_) | Self::BadJson { .. } => "invalid",
            Self::NotFound(_) | Self::Missing(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Storage(e) if storage_bug(e) => "internal",
            Self::Storage(_) => "storage_unavailable",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::BadToken | Self::NoTokens => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) | Self::BadJson { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Storage(e) if storage_bug(e) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            // The cause is for the log, not for the caller.
            Self::Storage(e) if storage_bug(e) => {
                tracing::error!(error = %e, "request failed inside ackbot");
                "ackbot failed to handle this request and stored nothing of it; the cause is in its log".to_string()
            }
            Self::Storage(e) => {
                tracing::error!(error = %e, "storage failure");
                self.to_string()
            }
            _ => self.to_string(),
        };
        let mut body = json!({"error": self.code(), "message": message});
        match self {
            Self::Invalid(e) => body["field"] = json!(e.field),
            Self::BadJson { field, .. } => body["field"] = json!(field),
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

/// A failure of ackbot's own (500), not of the storage behind it (503).
fn storage_bug(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Internal(_) | StoreError::Injected(_) | StoreError::Corrupt(_)
    )
}

/// The accepted Bearer tokens, registered as app data; replaced on a config
/// reload.
pub struct ApiTokens(pub arc_swap::ArcSwap<Vec<Secret>>);

impl ApiTokens {
    pub fn new(tokens: Vec<Secret>) -> Self {
        Self(arc_swap::ArcSwap::from_pointee(tokens))
    }
}

/// Proof that the request carried a valid Bearer token.
pub struct Authenticated;

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

pub(crate) fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let tokens = req
        .app_data::<web::Data<ApiTokens>>()
        .map(|t| t.0.load_full())
        .unwrap_or_default();
    if tokens.is_empty() {
        return Err(ApiError::NoTokens);
    }
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::MissingToken)?;
    // Compare against every token, without stopping at the first match.
    let matched = tokens.iter().fold(false, |acc, t| {
        acc | ct_eq(given.as_bytes(), t.expose().as_bytes())
    });
    if matched {
        Ok(Authenticated)
    } else {
        Err(ApiError::BadToken)
    }
}

/// The body as `T`; an error names the field it is about (`body` for the
/// whole), as every 400 does.
pub(super) fn parse_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    let bad = |message: String| ApiError::BadJson {
        field: "body".into(),
        message: format!("body is not valid JSON of the expected shape: {message}"),
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de);
    if value.is_ok() {
        de.end().map_err(|e| bad(e.to_string()))?;
    }
    value.map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadJson {
            field: if path == "." {
                "body".to_string()
            } else {
                path
            },
            message: format!(
                "body is not valid JSON of the expected shape: {}",
                e.inner()
            ),
        }
    })
}

/// A query string as name → value, refusing names not in `known` (a typo
/// such as `lmit` must not be silently ignored).
fn query_map(
    req: &HttpRequest,
    known: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    let map =
        web::Query::<std::collections::BTreeMap<String, String>>::from_query(req.query_string())
            .map_err(|e| ApiError::BadJson {
                field: "query".into(),
                message: format!("the query string cannot be read: {e}"),
            })?
            .into_inner();
    if let Some(unknown) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::BadJson {
            field: unknown.clone(),
            message: format!(
                "unknown query parameter `{}`; known: {}",
                crate::domain::labels::truncate_text(unknown, 40),
                known.join(", ")
            ),
        });
    }
    Ok(map)
}

/// Converts and commits `raw` alerts in [`INGEST_CHUNK`]s. All are converted
/// once first when there is more than one chunk, so an invalid alert
/// refuses the request before anything is stored. Should storage fail after
/// some chunks, the answer is 503 and those chunks stay committed: sending
/// the request again is safe (occurrences fold into their records and
/// notifications are not repeated).
async fn commit(
    store: &dyn Store,
    source: &str,
    raw: &[&RawValue],
    convert: impl Fn(&RawValue, usize) -> Result<NewAlert, DomainError>,
) -> Result<HttpResponse, ApiError> {
    if raw.len() > INGEST_CHUNK {
        for (i, r) in raw.iter().enumerate() {
            convert(r, i)?;
        }
    }
    let now = Utc::now();
    let mut ids = Vec::with_capacity(raw.len());
    for (n, chunk) in raw.chunks(INGEST_CHUNK).enumerate() {
        let alerts = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| convert(r, n * INGEST_CHUNK + i))
            .collect::<Result<Vec<_>, _>>()?;
        match store.ingest(alerts, now).await {
            Ok(chunk_ids) => ids.extend(chunk_ids),
            Err(e) => {
                if !ids.is_empty() {
                    tracing::warn!(
                        committed = ids.len(),
                        of = raw.len(),
                        "storage failed part way through a large request; the committed alerts stay"
                    );
                }
                return Err(e.into());
            }
        }
        crate::metrics::get().accepted(source, chunk.len() as u64);
    }
    tracing::info!(accepted = ids.len(), "alerts committed");
    Ok(HttpResponse::Accepted().json(json!({"accepted": ids.len(), "ids": ids})))
}

/// `POST /api/v1/alerts`: one Alert JSON object or an array of them. An array
/// is all-or-nothing: one invalid alert refuses the whole batch.
pub async fn post_alerts(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let whole: &RawValue = parse_json(&body.0)?;
    let text = whole.get();
    let raw: Vec<&RawValue> = match text.as_bytes().first() {
        Some(b'[') => parse_json(text.as_bytes())?,
        Some(b'{') => vec![whole],
        _ => {
            return Err(ApiError::BadJson {
                field: "body".into(),
                message: "body must be an alert object or an array of them".into(),
            });
        }
    };
    let single = raw.len() == 1 && text.starts_with('{');
    commit(&**store, "api", &raw, |r, i| {
        alert::from_raw(r).map_err(|e| if single { e } else { e.at_index(i) })
    })
    .await
}

/// `POST /api/v1/alertmanager`: Alertmanager `webhook_configs` (version 4).
/// Never refuses an alert for what it contains (see `ingest::alertmanager`).
///
/// A firing alert named by a heartbeat's `alertmanager_alertname` (the
/// always-firing `Watchdog`) is a ping of that heartbeat, not an alert.
pub async fn post_alertmanager(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
    inbound: web::Data<super::Inbound>,
) -> Result<HttpResponse, ApiError> {
    let mut raw = alertmanager::alerts(&body.0, Flavor::Alertmanager)?;
    let watched = inbound.watched.load_full();
    if watched
        .heartbeats
        .iter()
        .any(|h| h.alertmanager_alertname.is_some())
    {
        let mut kept = Vec::with_capacity(raw.len());
        for (i, r) in raw.into_iter().enumerate() {
            let alert = alertmanager::convert(r, i)?;
            let beat = watched.heartbeats.iter().find(|h| {
                h.alertmanager_alertname.as_deref() == alert.labels.get("alertname")
                    && h.alertmanager_alertname.is_some()
            });
            match beat {
                Some(h) if alert.status == crate::domain::alert::AlertStatus::Firing => {
                    crate::watch::heartbeats::ping(&**store, h, false, None)
                        .await
                        .map_err(ApiError::from)?;
                }
                // Its resolution says nothing: the silence that follows does.
                Some(_) => {}
                None => kept.push(r),
            }
        }
        raw = kept;
    }
    commit(&**store, "alertmanager", &raw, alertmanager::convert).await
}

/// `POST /api/v1/grafana`: a Grafana unified-alerting webhook contact point.
pub async fn post_grafana(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let raw = alertmanager::alerts(&body.0, Flavor::Grafana)?;
    commit(&**store, "grafana", &raw, alertmanager::convert).await
}

/// `GET /api/v1/alerts?state=firing&limit=100`: newest first. `state` is
/// the state alerts show: `firing`, `acknowledged`, `silenced`, `resolved`.
pub async fn list_alerts(
    _: Authenticated,
    req: HttpRequest,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let query = query_map(&req, &["state", "limit"])?;
    let state = query.get("state").map(String::as_str);
    if let Some(state) = state {
        if !["firing", "acknowledged", "silenced", "resolved"].contains(&state) {
            return Err(DomainError::new(
                "state",
                "use firing, acknowledged, silenced or resolved",
            )
            .into());
        }
    }
    let limit = match query.get("limit") {
        None => 100,
        Some(l) => l.parse::<u32>().map_err(|_| {
            DomainError::new("limit", format!("must be a number from 1 to {MAX_LIST}"))
        })?,
    }
    .clamp(1, MAX_LIST);
    let alerts = store.list(state, limit, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({"alerts": alerts})))
}

/// `GET /api/v1/alerts/{id}`: the alert, with its deliveries (the outbox
/// rows decided for it and their status).
pub async fn get_alert(
    _: Authenticated,
    id: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let record = store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    let mut body = serde_json::to_value(record).expect("records serialize");
    body["deliveries"] =
        serde_json::to_value(store.notifications(&id).await?).expect("records serialize");
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/alerts/{id}/events`: the audit trail, oldest first.
pub async fn alert_events(
    _: Authenticated,
    id: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    if store.get(&id).await?.is_none() {
        return Err(ApiError::NotFound(id.clone()));
    }
    Ok(HttpResponse::Ok().json(json!({"events": store.events(&id).await?})))
}

/// `GET /api/v1/alerts/{id}/notifications`: what the engine decided to tell
/// people about this alert (outbox rows), oldest first.
pub async fn alert_notifications(
    _: Authenticated,
    id: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    if store.get(&id).await?.is_none() {
        return Err(ApiError::NotFound(id.clone()));
    }
    let notifications = store.notifications(&id).await?;
    Ok(HttpResponse::Ok().json(json!({ "notifications": notifications })))
}

/// Optional body of the state endpoints: who is acting (the token names no person).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    by: Option<String>,
}

/// `POST /api/v1/alerts/{id}/{ack|unack|resolve}`.
pub async fn alert_action(
    _: Authenticated,
    path: web::Path<(String, String)>,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let (id, verb) = path.into_inner();
    let action = match verb.as_str() {
        "ack" => StateAction::Ack,
        "unack" => StateAction::Unack,
        "resolve" => StateAction::Resolve,
        _ => return Err(ApiError::NotFound(format!("{id}/{verb}"))),
    };
    let actor = actor(action_body(&body.0)?.by)?;
    let outcome = store.apply(&id, action, &actor, None, Utc::now()).await?;
    let counted = match &outcome {
        ActionOutcome::Changed(_) => "changed",
        ActionOutcome::Unchanged(_) => "unchanged",
        ActionOutcome::Refused(_) => "refused",
        ActionOutcome::NotFound => "not_found",
    };
    crate::metrics::get().action("api", &verb, counted);
    match outcome {
        ActionOutcome::Changed(alert) => {
            Ok(HttpResponse::Ok().json(json!({"changed": true, "alert": alert})))
        }
        ActionOutcome::Unchanged(alert) => {
            Ok(HttpResponse::Ok().json(json!({"changed": false, "alert": alert})))
        }
        ActionOutcome::Refused(why) => Err(ApiError::Conflict(why.to_string())),
        ActionOutcome::NotFound => Err(ApiError::NotFound(id)),
    }
}

/// Who acts through the API: `by`, cleaned of control, bidi and invisible
/// characters (`domain::human`), or `api`.
pub(super) fn actor(by: Option<String>) -> Result<Actor, ApiError> {
    let Some(by) = by else {
        return Ok(Actor::new("api", "api"));
    };
    let bad = || -> ApiError {
        DomainError::new(
            "by",
            format!("must be 1 to {MAX_AUTHOR_LEN} visible characters"),
        )
        .into()
    };
    // `Actor::new` would cut a longer name; the caller is told instead.
    if crate::domain::human::name(&by, MAX_AUTHOR_LEN + 1)
        .chars()
        .count()
        > MAX_AUTHOR_LEN
    {
        return Err(bad());
    }
    let actor = Actor::new(&by, "api");
    if actor.name().is_empty() {
        return Err(bad());
    }
    Ok(actor)
}

/// `POST /api/v1/silences` body. Who creates it is `by`, as on every
/// endpoint where a person acts (`created_by` is accepted too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    matchers: Vec<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    /// Instead of `ends_at`: how long from `starts_at`, e.g. `"2h"`.
    duration: Option<String>,
    #[serde(alias = "created_by")]
    by: Option<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/silences`: matchers plus `ends_at` or `duration`.
pub async fn post_silence(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let body: SilenceBody = parse_json(&body.0)?;
    let now = Utc::now();
    let matchers = crate::domain::matcher::parse_list(&body.matchers)?;
    let starts_at = body
        .starts_at
        .as_deref()
        .map(|t| alert::parse_time("starts_at", t))
        .transpose()?
        .unwrap_or(now);
    let ends_at = match (body.ends_at.as_deref(), body.duration.as_deref()) {
        (Some(t), None) => alert::parse_time("ends_at", t)?,
        (None, Some(d)) => starts_at + NewSilence::parse_duration("duration", d)?,
        (Some(_), Some(_)) => {
            return Err(DomainError::new("duration", "give ends_at or duration, not both").into());
        }
        (None, None) => return Err(DomainError::new("ends_at", "give ends_at or duration").into()),
    };
    let created_by = actor(body.by)?;
    let silence = NewSilence::new(
        matchers,
        starts_at,
        ends_at,
        created_by.name(),
        &body.comment,
        now,
    )?;
    let record = store.create_silence(&silence, None, None, now).await?;
    Ok(HttpResponse::Created().json(json!({"silence": record})))
}

/// `GET /api/v1/silences[?all=true]`: pending and active ones, or all.
pub async fn list_silences(
    _: Authenticated,
    req: HttpRequest,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let query = query_map(&req, &["all"])?;
    let all = match query.get("all").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(DomainError::new("all", "must be true or false").into()),
    };
    let silences = store.list_silences(all, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({"silences": silences})))
}

/// `DELETE /api/v1/silences/{id}`: ends it now.
pub async fn delete_silence(
    _: Authenticated,
    id: web::Path<String>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let record = store
        .expire_silence(&id, Utc::now())
        .await?
        .ok_or_else(|| {
            ApiError::Missing(format!(
                "no silence with id `{}`",
                crate::domain::labels::truncate_text(&id, 40)
            ))
        })?;
    Ok(HttpResponse::Ok().json(json!({"silence": record})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertSilenceBody {
    duration: String,
    by: Option<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/alerts/{id}/silence {"duration":"1h"}`: a silence matching
/// exactly this alert's fingerprint, recorded in its audit trail.
pub async fn silence_alert(
    _: Authenticated,
    id: web::Path<String>,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let body: AlertSilenceBody = parse_json(&body.0)?;
    let now = Utc::now();
    let record = store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    let duration = NewSilence::parse_duration("duration", &body.duration)?;
    let matcher = Matcher::new(FINGERPRINT_LABEL, MatchOp::Equal, &record.fingerprint)?;
    let actor = actor(body.by)?;
    let silence = NewSilence::new(
        vec![matcher],
        now,
        now + duration,
        actor.name(),
        &body.comment,
        now,
    )?;
    let created = store
        .create_silence(&silence, Some((&id, &actor)), None, now)
        .await?;
    let alert = store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    Ok(HttpResponse::Created().json(json!({"silence": created, "alert": alert})))
}

/// `POST /api/v1/alerts/{id}/deliveries/{delivery}/retry`: puts a `failed`
/// or `dead` delivery back in the outbox (after fixing what made the
/// platform refuse it), audited. Optional body `{"by": "Li Lei"}`.
pub async fn retry_delivery(
    _: Authenticated,
    path: web::Path<(String, String)>,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery) = path.into_inner();
    let delivery: i64 = delivery.parse().map_err(|_| {
        DomainError::new(
            "delivery",
            "must be a delivery id, as GET /api/v1/alerts/{id} lists them",
        )
    })?;
    let actor = actor(action_body(&body.0)?.by)?;
    match store
        .retry_delivery(&id, delivery, &actor, Utc::now())
        .await?
    {
        RetryOutcome::Requeued => {
            Ok(HttpResponse::Ok().json(json!({"retried": true, "delivery": delivery})))
        }
        RetryOutcome::NotFound => Err(ApiError::Missing(format!(
            "alert `{}` has no delivery {delivery}",
            crate::domain::labels::truncate_text(&id, 40)
        ))),
        RetryOutcome::NotFailed(status) => Err(ApiError::Conflict(format!(
            "delivery {delivery} is {status}; only failed or dead deliveries are retried"
        ))),
        RetryOutcome::Superseded => Err(ApiError::Conflict(format!(
            "a later message about this alert went out on that channel; delivery {delivery} would now arrive out of order"
        ))),
    }
}

/// `POST /api/v1/channels/{name}/retry`: every `failed` or `dead` delivery
/// of a channel back in the outbox (after fixing its secret), audited.
pub async fn retry_channel(
    _: Authenticated,
    name: web::Path<String>,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(action_body(&body.0)?.by)?;
    let n = store.retry_channel(&name, &actor, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(json!({"retried": n, "channel": name.as_str()})))
}

/// The optional `{"by": …}` body of the endpoints where a person acts.
fn action_body(body: &[u8]) -> Result<ActionBody, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(ActionBody::default())
    } else {
        parse_json(body)
    }
}

/// Registers the `/api/v1` routes. The ingestion endpoints take bodies up
/// to `ingest_limit` bytes; a known path with another method is 405.
pub fn routes(ingest_limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let json_405 = || web::to(super::health::method_not_allowed);
        let ingest = || web::Data::new(super::BodyLimit(ingest_limit));
        cfg.service(
            web::scope("/api/v1")
                .service(
                    web::resource("/alerts")
                        .app_data(ingest())
                        .post(post_alerts)
                        .get(list_alerts)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alertmanager")
                        .app_data(ingest())
                        .post(post_alertmanager)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/grafana")
                        .app_data(ingest())
                        .post(post_grafana)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}")
                        .get(get_alert)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}/events")
                        .get(alert_events)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}/notifications")
                        .get(alert_notifications)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}/silence")
                        .post(silence_alert)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}/{action:ack|unack|resolve}")
                        .post(alert_action)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/alerts/{id}/deliveries/{delivery}/retry")
                        .post(retry_delivery)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/channels/{name}/retry")
                        .post(retry_channel)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/schedules/{name}")
                        .route(web::get().to(super::schedules::get_schedule))
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/schedules/{name}/overrides")
                        .route(web::post().to(super::schedules::post_override))
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/silences")
                        .post(post_silence)
                        .get(list_silences)
                        .default_service(json_405()),
                )
                .service(
                    web::resource("/silences/{id}")
                        .delete(delete_silence)
                        .default_service(json_405()),
                ),
        );
    }
}

/// The store as app data (`web::Data<dyn Store>`).
pub fn store_data(store: Arc<dyn Store>) -> web::Data<dyn Store> {
    web::Data::from(store)
}
