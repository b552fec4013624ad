//! `POST /api/v1/heartbeats/{name}` and `/api/v1/heartbeats/{name}/fail`:
//! pings of `[[heartbeats]]` (see `crate::watch::heartbeats`). Either an
//! API token (`Authorization: Bearer`) or the heartbeat's own `secret` as
//! `?key=` authenticates, so a crontab line needs no header:
//! `backup && curl -fsS -X POST https://ackbot/api/v1/heartbeats/nightly-backup?key=…`.
//! A `/fail` body (text, at most 2 KiB shown) says what went wrong.
//!
//! Answers: 200 `{"heartbeat": …, "state": "ok" | "failed"}` once stored;
//! 401 without valid credentials, 404 for an unknown name (both change
//! nothing), 503 when storage fails.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{Inbound, RawBody};
use crate::config::heartbeats::HeartbeatConfig;
use crate::store::Store;

fn error(status: actix_web::http::StatusCode, code: &str, message: String) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": code, "message": message}))
}

/// The `key` query parameter, percent-decoded.
fn query_key(req: &HttpRequest) -> Option<String> {
    req.query_string().split('&').find_map(|p| {
        let v = p.strip_prefix("key=")?;
        Some(
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned(),
        )
    })
}

fn authorized(req: &HttpRequest, h: &HeartbeatConfig) -> bool {
    if super::api::authenticate(req).is_ok() {
        return true;
    }
    match (query_key(req), &h.secret) {
        (Some(given), Some(secret)) => {
            let a = sha2::Sha256::digest(given.as_bytes());
            let b = sha2::Sha256::digest(secret.expose().as_bytes());
            bool::from(a.ct_eq(&b))
        }
        _ => false,
    }
}

async fn handle(
    req: HttpRequest,
    name: &str,
    failed: bool,
    body: &[u8],
    inbound: &Inbound,
    store: &dyn Store,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let watched = inbound.watched.load_full();
    let Some(h) = watched.heartbeats.iter().find(|h| h.name == name) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such heartbeat; add a [[heartbeats]] entry with this name".into(),
        );
    };
    if !authorized(&req, h) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an API token as Bearer, or the heartbeat's secret as ?key=".into(),
        );
    }
    let note = String::from_utf8_lossy(body);
    match crate::watch::heartbeats::ping(store, h, failed, Some(&note)).await {
        Ok(()) => HttpResponse::Ok().json(json!({
            "heartbeat": h.name,
            "state": if failed { "failed" } else { "ok" },
        })),
        Err(e) => {
            tracing::error!(heartbeat = h.name, error = %e, "heartbeat ping not stored");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "storage is unavailable; retry later".into(),
            )
        }
    }
}

pub async fn ping(
    req: HttpRequest,
    name: web::Path<String>,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    handle(req, &name, false, &body.0, &inbound, &**store).await
}

pub async fn fail(
    req: HttpRequest,
    name: web::Path<String>,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    handle(req, &name, true, &body.0, &inbound, &**store).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let json_405 = || web::to(super::health::method_not_allowed);
    cfg.service(
        web::resource("/api/v1/heartbeats/{name}")
            .post(ping)
            .default_service(json_405()),
    )
    .service(
        web::resource("/api/v1/heartbeats/{name}/fail")
            .post(fail)
            .default_service(json_405()),
    );
}
