//! Logging. Every request runs inside the root span that `tracing-actix-web`
//! opens (method, path, status, `request_id`), so each log line a handler writes
//! carries its request id; the same id is returned in `X-Request-Id`.

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing_actix_web::RequestId;
use tracing_subscriber::EnvFilter;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Installs the global subscriber: `RUST_LOG` filters (default `info`), and
/// `ACKBOT_LOG_FORMAT=json` switches to one JSON object per line. Colours
/// only when stdout is a terminal, so files and journald get plain text.
pub fn init(default_filter: &str) {
    use std::io::IsTerminal;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false);
    let result = if std::env::var("ACKBOT_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// Middleware: copies the request id of the root span into `X-Request-Id`.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(id) = id {
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            res.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
    }
    Ok(res)
}

/// A request's path and query as logs show them: what could be a secret is
/// replaced. A path that is a signed action link once percent-decoded and
/// with repeated slashes collapsed (`/a/…`, `/%61/…`, `//a/…`) is
/// `/a/<token>` (a token in a log is a usable link); a query string is kept
/// only on `/api/` paths (filters such as `state=firing`; credentials such
/// as a Sentry `sentry_key` or a heartbeat's `key` redacted) and is otherwise
/// `?<redacted>`: callbacks carry signatures, nonces, timestamps and
/// ciphertext there (WeCom's `msg_signature`, `echostr`).
pub fn log_target(uri: &actix_web::http::Uri) -> String {
    let raw = uri.path();
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    let mut path = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    let shown = if path == "/a" || path.starts_with("/a/") {
        "/a/<token>"
    } else {
        raw
    };
    match uri.query() {
        None => shown.to_string(),
        Some(q) if path.starts_with("/api/") => format!("{shown}?{}", redact_keys(q)),
        Some(_) => format!("{shown}?<redacted>"),
    }
}

/// An `/api/` query with the values of credentials replaced: a Sentry
/// SDK's `sentry_key`, a heartbeat's `key`, anything named like a token,
/// secret or signature.
fn redact_keys(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
            let secret = ["key", "token", "secret", "sig", "password", "auth"]
                .iter()
                .any(|w| name.contains(w));
            if secret && pair.contains('=') {
                format!("{name}=<redacted>")
            } else {
                pair.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The root span of every request, with tracing-actix-web's fields, except
/// that secrets in the target never reach the logs ([`log_target`]). The
/// span is built here rather than with `root_span!`, which records the raw
/// target and cannot be overwritten in text logs.
pub struct RedactedRootSpan;

impl tracing_actix_web::RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use actix_web::HttpMessage;
        use tracing::field::Empty;
        let target = log_target(request.uri());
        let route = request.match_pattern().unwrap_or_else(|| "default".into());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let info = request.connection_info();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.flavor = ?request.version(),
            http.scheme = %info.scheme(),
            http.host = %info.host(),
            http.client_ip = %info.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.target = %target,
            http.status_code = Empty,
            otel.name = %format!("{} {}", request.method(), route),
            otel.kind = "server",
            otel.status_code = Empty,
            trace_id = Empty,
            request_id = %request_id,
            exception.message = Empty,
        )
    }

    /// Records the status; a refusal is one WARN line (ERROR for 5xx) with
    /// the status and the error's sentence, never its `Debug` form.
    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (
                response.status(),
                response.response().error().map(|e| e.to_string()),
            ),
            Err(e) => (e.as_response_error().status_code(), Some(e.to_string())),
        };
        span.record("http.status_code", i64::from(status.as_u16()));
        span.record(
            "otel.status_code",
            if status.is_server_error() {
                "ERROR"
            } else {
                "OK"
            },
        );
        let Some(error) = error else { return };
        let status = status.as_u16();
        span.in_scope(|| {
            if status >= 500 {
                tracing::error!(status, "request failed: {error}");
            } else {
                tracing::warn!(status, "request refused: {error}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::log_target;

    #[test]
    fn targets_never_show_tokens_or_callback_queries() {
        let t = |s: &str| log_target(&s.parse().unwrap());
        for link in [
            "/a/tok.en",
            "/%61/tok.en",
            "//a/tok.en",
            "/a//tok.en",
            "///%61/tok.en?x=1",
            "/a",
        ] {
            let shown = t(link);
            assert!(shown.starts_with("/a/<token>"), "{link} -> {shown}");
            assert!(!shown.contains("tok.en"), "{link} -> {shown}");
        }
        assert_eq!(
            t("/wecom/callback?msg_signature=abc&timestamp=1&nonce=2&echostr=x"),
            "/wecom/callback?<redacted>"
        );
        assert_eq!(
            t("//wecom/callback?msg_signature=abc"),
            "//wecom/callback?<redacted>"
        );
        assert_eq!(
            t("/api/v1/alerts?state=firing"),
            "/api/v1/alerts?state=firing"
        );
        // Credentials in /api/ queries: Node's Sentry key, a heartbeat's.
        let sentry =
            t("/api/42/envelope/?sentry_version=7&sentry_key=0123456789abcdef&sentry_client=x");
        assert_eq!(
            sentry,
            "/api/42/envelope/?sentry_version=7&sentry_key=<redacted>&sentry_client=x"
        );
        let beat = t("/api/v1/heartbeats/backup?key=s3cret-0123456789");
        assert!(!beat.contains("s3cret"), "{beat}");
        assert_eq!(t("/healthz"), "/healthz");
    }
}
