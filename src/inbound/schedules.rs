//! `GET /api/v1/schedules/{name}` (who is on call now and next) and
//! `POST /api/v1/schedules/{name}/overrides` ("I take tonight"), behind the
//! API token. The answers are built in [`crate::act::oncall`], which the
//! chat command `oncall` shares.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::Inbound;
use super::api::{ApiError, Authenticated, actor, parse_json};
use super::body::RawBody;
use crate::act::oncall::{self, OverrideError};
use crate::domain::{DomainError, NewSilence, alert};
use crate::store::Store;

pub async fn get_schedule(
    _: Authenticated,
    name: web::Path<String>,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let oncall = inbound.oncall.load();
    match oncall::view(store.as_ref(), &oncall, &name, Utc::now()).await? {
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => Err(no_schedule(&name)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideBody {
    person: String,
    /// Default: now.
    starts_at: Option<String>,
    ends_at: Option<String>,
    /// Instead of `ends_at`: `12h`, `1d`.
    duration: Option<String>,
    by: Option<String>,
}

pub async fn post_override(
    _: Authenticated,
    name: web::Path<String>,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, ApiError> {
    let body: OverrideBody = parse_json(&body.0)?;
    let now = Utc::now();
    let start = body
        .starts_at
        .as_deref()
        .map(|t| alert::parse_time("starts_at", t))
        .transpose()?
        .unwrap_or(now);
    let end = match (body.ends_at.as_deref(), body.duration.as_deref()) {
        (Some(t), None) => alert::parse_time("ends_at", t)?,
        (None, Some(d)) => start + NewSilence::parse_duration("duration", d)?,
        (Some(_), Some(_)) => {
            return Err(DomainError::new("duration", "give ends_at or duration, not both").into());
        }
        (None, None) => return Err(DomainError::new("ends_at", "give ends_at or duration").into()),
    };
    let by = actor(body.by)?;
    let oncall = inbound.oncall.load();
    let record = oncall::take(
        store.as_ref(),
        &oncall,
        &name,
        &body.person,
        (start, end),
        by.name(),
        now,
    )
    .await
    .map_err(|e| match e {
        OverrideError::NoSchedule(_) => no_schedule(&name),
        OverrideError::Invalid(why) => ApiError::Invalid(DomainError::new("person", why)),
        OverrideError::Store(e) => e.into(),
    })?;
    let view = oncall::view(store.as_ref(), &oncall, &name, now).await?;
    Ok(HttpResponse::Created().json(json!({"override": record, "schedule": view})))
}

fn no_schedule(name: &str) -> ApiError {
    ApiError::Missing(format!(
        "no schedule named `{}`",
        crate::domain::labels::truncate_text(name, 64)
    ))
}
