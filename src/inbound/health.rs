//! Liveness and readiness for load balancers, metrics for Prometheus.

use actix_web::HttpResponse;
use serde_json::json;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready to take traffic: storage answers.
pub async fn readyz(store: actix_web::web::Data<dyn crate::store::Store>) -> HttpResponse {
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
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(crate::metrics::get().render())
}

/// JSON 404 for unknown paths.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "error": "not_found",
        "message": format!("no route for {} {}", req.method(), req.path()),
    }))
}

/// JSON 405 for a known path with the wrong method.
pub async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed().json(json!({
        "error": "method_not_allowed",
        "message": format!("{} is not allowed on {}", req.method(), req.path()),
    }))
}
