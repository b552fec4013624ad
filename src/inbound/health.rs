//! Liveness and readiness for load balancers, metrics for Prometheus, and
//! the server's own lifecycle: requests in flight, and whether it is
//! draining before a stop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::tasks::Tasks;

/// Requests in flight and the draining flag, shared by every worker.
pub struct Lifecycle {
    inflight: AtomicUsize,
    draining: AtomicBool,
    pub tasks: Tasks,
}

impl Lifecycle {
    pub fn new(tasks: Tasks) -> Self {
        Self {
            inflight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            tasks,
        }
    }

    pub fn inflight(&self) -> usize {
        self.inflight.load(Ordering::SeqCst)
    }

    /// From now on readiness is 503 and every answer closes its connection.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// Counts the request while it is handled.
struct InFlight<'a>(&'a Lifecycle);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The platform whose callbacks a route takes, for refusal counts.
fn callback_platform(route: &str) -> Option<&'static str> {
    let mut parts = route.trim_start_matches('/').split('/');
    Some(match (parts.next()?, parts.next()) {
        ("feishu", _) => "feishu",
        ("dingtalk", _) => "dingtalk",
        ("wecom", _) => "wecom",
        ("twilio", _) => "twilio",
        ("a", _) => "link",
        ("ci", Some("github")) => "github",
        ("ci", Some("gitlab")) => "gitlab",
        ("ci", Some("gitee")) => "gitee",
        ("ci", Some("gitea")) => "gitea",
        ("ci", Some("jenkins")) => "jenkins",
        _ => return None,
    })
}

/// Middleware: counts requests in flight, so a stop can wait for exactly
/// those and close idle keep-alive connections at once; while draining,
/// every response closes its connection.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(life) = req.app_data::<web::Data<Lifecycle>>().cloned() else {
        return next.call(req).await;
    };
    life.inflight.fetch_add(1, Ordering::SeqCst);
    let _counted = InFlight(&life);
    let method = req.method().clone();
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let metrics = crate::metrics::get();
    metrics.request(&route, method.as_str(), res.status().as_u16());
    if let Some(refusal) = res.response().extensions().get::<super::error::Refusal>() {
        if let Some(platform) = callback_platform(&route) {
            if !res.status().is_server_error() {
                metrics.refused(platform, refusal.0);
            }
        }
    }
    if life.draining() {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// Why the process cannot take traffic, before asking storage: it is
/// stopping, or a background task it needs has stopped.
fn not_ready(life: &Lifecycle) -> Option<HttpResponse> {
    if life.draining() {
        return Some(HttpResponse::ServiceUnavailable().json(json!({
            "error": "stopping",
            "message": "ackbot is shutting down",
        })));
    }
    let stopped = life.tasks.stopped();
    if !stopped.is_empty() {
        return Some(HttpResponse::ServiceUnavailable().json(json!({
            "error": "not_ready",
            "message": format!("background task stopped: {}", stopped.join(", ")),
        })));
    }
    None
}

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready to take traffic: not stopping, every background task running, and
/// storage answers.
pub async fn readyz(
    store: web::Data<dyn crate::store::Store>,
    life: web::Data<Lifecycle>,
) -> HttpResponse {
    if let Some(refusal) = not_ready(&life) {
        return refusal;
    }
    match store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready", "storage": "ok"})),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({
                "error": "not_ready",
                "message": "storage is not reachable",
            }))
        }
    }
}

/// `GET /metrics`: the Prometheus text exposition.
/// OpenMetrics when the scraper asks for it (Prometheus does), else the
/// Prometheus text format 0.0.4 (promtool, curl and older agents read only
/// that), as the Go client does.
pub async fn metrics(req: actix_web::HttpRequest) -> HttpResponse {
    let openmetrics = req
        .headers()
        .get_all(actix_web::http::header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let metrics = crate::metrics::get();
    metrics.refresh_process();
    if openmetrics {
        HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(metrics.render())
    } else {
        HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(metrics.render_prometheus_text())
    }
}

/// `GET /favicon.ico`: nothing (204), so the browsers opening the console
/// and the link pages do not log a failed request for each page.
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "max-age=86400"))
        .finish()
}

/// JSON 404 for unknown paths.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "error": "not_found",
        "message": format!("no route for {} {}", req.method(), crate::telemetry::log_target(req.uri())),
    }))
}

/// JSON 405 for a known path with the wrong method.
pub async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(json!({
        "error": "method_not_allowed",
        "message": format!("{} is not allowed on {}", req.method(), crate::telemetry::log_target(req.uri())),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readiness_names_a_stopped_task_and_says_when_stopping() {
        let tasks = Tasks::new();
        let life = Lifecycle::new(tasks.clone());
        assert!(not_ready(&life).is_none());
        tasks.spawn("storage writer", async { panic!("bug") });
        let name = tokio::time::timeout(std::time::Duration::from_secs(5), tasks.first_stopped())
            .await
            .unwrap();
        assert_eq!(name, "storage writer");
        let res = not_ready(&life).expect("not ready");
        assert_eq!(res.status(), 503);
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("background task stopped: storage writer"));
        let draining = Lifecycle::new(Tasks::new());
        draining.drain();
        assert_eq!(not_ready(&draining).unwrap().status(), 503);
    }
}
