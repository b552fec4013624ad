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
use serde_json::{Value, json};

use super::RawBody;
use crate::config::Secret;
use crate::domain::silence::FINGERPRINT_LABEL;
use crate::domain::{DomainError, MatchOp, Matcher, NewAlert, NewSilence, StateAction, alert};
use crate::ingest::alertmanager::{self, Flavor, Notification};
use crate::store::{ActionOutcome, Actor, Store, StoreError};
use crate::verify::ct_eq;

/// Most records one `GET /api/v1/alerts` returns.
const MAX_LIST: u32 = 1000;

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
    #[error("{0}")]
    BadJson(String),
    #[error("no alert with id `{0}`")]
    NotFound(String),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("storage is unavailable; retry later")]
    Storage(#[from] StoreError),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::MissingToken | Self::NoTokens => "missing_token",
            Self::BadToken => "bad_token",
            Self::Invalid(_) | Self::BadJson(_) => "invalid",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Storage(_) => "storage_unavailable",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::BadToken | Self::NoTokens => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) | Self::BadJson(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Storage(e) = self {
            tracing::error!(error = %e, "storage failure");
        }
        let mut body = json!({"error": self.code(), "message": self.to_string()});
        if let Self::Invalid(e) = self {
            body["field"] = json!(e.field);
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

/// The accepted Bearer tokens, registered as app data.
pub struct ApiTokens(pub Vec<Secret>);

/// Proof that the request carried a valid Bearer token.
pub struct Authenticated;

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Authenticated, ApiError> {
    let tokens = req
        .app_data::<web::Data<ApiTokens>>()
        .map(|t| &t.0[..])
        .unwrap_or(&[]);
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

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadJson(format!("body is not valid JSON of the expected shape: {e}"))
    })
}

async fn commit(store: &dyn Store, alerts: Vec<NewAlert>) -> Result<HttpResponse, ApiError> {
    let ids = store.ingest(alerts, Utc::now()).await?;
    crate::metrics::get()
        .alerts_accepted
        .inc_by(ids.len() as u64);
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
    let alerts = match parse_json::<Value>(&body.0)? {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| alert::from_json(v).map_err(|e| e.at_index(i)))
            .collect::<Result<Vec<_>, _>>()?,
        v @ Value::Object(_) => vec![alert::from_json(v)?],
        _ => {
            return Err(ApiError::BadJson(
                "body must be an alert object or an array of them".into(),
            ));
        }
    };
    commit(&**store, alerts).await
}

/// `POST /api/v1/alertmanager`: Alertmanager `webhook_configs` (version 4).
pub async fn post_alertmanager(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let payload: Notification = parse_json(&body.0)?;
    commit(
        &**store,
        alertmanager::convert(payload, Flavor::Alertmanager)?,
    )
    .await
}

/// `POST /api/v1/grafana`: a Grafana unified-alerting webhook contact point.
pub async fn post_grafana(
    _: Authenticated,
    body: RawBody,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let payload: Notification = parse_json(&body.0)?;
    commit(&**store, alertmanager::convert(payload, Flavor::Grafana)?).await
}

#[derive(Deserialize)]
pub struct ListQuery {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/alerts?state=firing&limit=100`: newest first.
pub async fn list_alerts(
    _: Authenticated,
    query: web::Query<ListQuery>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    if let Some(state) = &query.state {
        if !["firing", "acknowledged", "resolved"].contains(&state.as_str()) {
            return Err(DomainError::new("state", "use firing, acknowledged or resolved").into());
        }
    }
    let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIST);
    let alerts = store
        .list(query.state.as_deref(), limit, Utc::now())
        .await?;
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
    let body: ActionBody = if body.0.is_empty() {
        ActionBody::default()
    } else {
        parse_json(&body.0)?
    };
    let name = actor_name(body.by)?;
    let actor = Actor { name, via: "api" };
    match store.apply(&id, action, &actor, Utc::now()).await? {
        ActionOutcome::Changed(alert) => {
            Ok(HttpResponse::Ok().json(json!({"changed": true, "alert": alert})))
        }
        ActionOutcome::Unchanged(alert) => {
            Ok(HttpResponse::Ok().json(json!({"changed": false, "alert": alert})))
        }
        ActionOutcome::Refused(why) => Err(ApiError::Conflict(why)),
        ActionOutcome::NotFound => Err(ApiError::NotFound(id)),
    }
}

fn actor_name(by: Option<String>) -> Result<String, ApiError> {
    match by.map(|b| b.trim().to_string()) {
        Some(b) if b.is_empty() || b.len() > 128 => {
            Err(DomainError::new("by", "must be 1 to 128 bytes").into())
        }
        Some(b) => Ok(b),
        None => Ok("api".to_string()),
    }
}

/// `POST /api/v1/silences` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SilenceBody {
    matchers: Vec<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    /// Instead of `ends_at`: how long from `starts_at`, e.g. `"2h"`.
    duration: Option<String>,
    created_by: Option<String>,
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
    let created_by = actor_name(body.created_by)?;
    let silence = NewSilence::new(
        matchers,
        starts_at,
        ends_at,
        &created_by,
        &body.comment,
        now,
    )?;
    let record = store.create_silence(&silence, None, now).await?;
    Ok(HttpResponse::Created().json(json!({"silence": record})))
}

#[derive(Deserialize)]
pub struct SilenceQuery {
    #[serde(default)]
    all: bool,
}

/// `GET /api/v1/silences[?all=true]`: pending and active ones, or all.
pub async fn list_silences(
    _: Authenticated,
    query: web::Query<SilenceQuery>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let silences = store.list_silences(query.all, Utc::now()).await?;
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
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
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
    let actor = Actor {
        name: actor_name(body.by)?,
        via: "api",
    };
    let silence = NewSilence::new(
        vec![matcher],
        now,
        now + duration,
        &actor.name,
        &body.comment,
        now,
    )?;
    let created = store
        .create_silence(&silence, Some((&id, &actor)), now)
        .await?;
    let alert = store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    Ok(HttpResponse::Created().json(json!({"silence": created, "alert": alert})))
}

/// Registers the `/api/v1` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/alerts", web::post().to(post_alerts))
            .route("/alerts", web::get().to(list_alerts))
            .route("/alertmanager", web::post().to(post_alertmanager))
            .route("/grafana", web::post().to(post_grafana))
            .route("/alerts/{id}", web::get().to(get_alert))
            .route("/alerts/{id}/events", web::get().to(alert_events))
            .route(
                "/alerts/{id}/notifications",
                web::get().to(alert_notifications),
            )
            .route("/alerts/{id}/silence", web::post().to(silence_alert))
            .route("/silences", web::post().to(post_silence))
            .route("/silences", web::get().to(list_silences))
            .route("/silences/{id}", web::delete().to(delete_silence))
            .route("/alerts/{id}/{action}", web::post().to(alert_action)),
    );
}

/// The store as app data (`web::Data<dyn Store>`).
pub fn store_data(store: Arc<dyn Store>) -> web::Data<dyn Store> {
    web::Data::from(store)
}
