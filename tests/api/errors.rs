//! The Sentry endpoints (`../shared/spec/errors-and-logs.md` section 1 and
//! the checks of section 4): every captured SDK request replayed byte for
//! byte, refusals that change nothing, the rate limit, and the real Rust
//! `sentry` SDK pointed at the server.

use std::io::Write;
use std::time::Duration;

use ackbot::config::Config;
use base64::Engine;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app_with};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const WAIT: Duration = Duration::from_secs(20);

fn payload(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/errors-and-logs-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The captured request `stem` as it went over the wire: the `.txt` (head,
/// and the body when it was plain) plus the compressed `.body.b64`.
fn capture(stem: &str) -> Vec<u8> {
    let mut wire = payload(&format!("{stem}.txt"));
    if let Ok(b64) = std::fs::read_to_string(format!(
        "{}/tests/vectors/errors-and-logs-payloads/{stem}.body.b64",
        env!("CARGO_MANIFEST_DIR")
    )) {
        let clean: String = b64.split_whitespace().collect();
        wire.extend(
            base64::engine::general_purpose::STANDARD
                .decode(clean)
                .unwrap(),
        );
    }
    wire
}

/// The capture's envelope as the SDK meant it (decompressed, de-chunked).
fn envelope_of(stem: &str) -> Vec<u8> {
    match std::fs::read(format!(
        "{}/tests/vectors/errors-and-logs-payloads/{stem}.decoded.txt",
        env!("CARGO_MANIFEST_DIR")
    )) {
        Ok(b) => b,
        Err(_) => {
            let wire = payload(&format!("{stem}.txt"));
            let at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            wire[at + 4..].to_vec()
        }
    }
}

pub fn with_project(tweak: impl FnOnce(&mut Config)) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.errors = toml::from_str(&format!(
            r#"
[[projects]]
id = 42
public_key = "{KEY}"
service = "shop"
labels = {{ team = "payments" }}
"#
        ))
        .unwrap();
        tweak(c);
        c.validate().unwrap();
    }
}

async fn alerts(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/alerts").await["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn alert_titled(app: &TestApp, title: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(a) = alerts(app).await.into_iter().find(|a| a["title"] == title) {
            return a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no alert `{title}`: {:#?}",
            alerts(app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const CAPTURES: [&str; 21] = [
    "sentry-node-envelope-checkin-in-progress",
    "sentry-node-envelope-checkin-ok",
    "sentry-node-envelope-exception",
    "sentry-node-envelope-message",
    "sentry-node-envelope-session",
    "sentry-node-envelope-span-v2",
    "sentry-python-envelope-checkin-error",
    "sentry-python-envelope-checkin-in-progress",
    "sentry-python-envelope-client-report-after-429",
    "sentry-python-envelope-exception",
    "sentry-python-envelope-exception-br",
    "sentry-python-envelope-logging-logentry",
    "sentry-python-envelope-message",
    "sentry-python-envelope-sessions",
    "sentry-python-envelope-transaction",
    "sentry-python-envelope-wsgi-unhandled-request",
    "sentry-rust-envelope-capture-error",
    "sentry-rust-envelope-log",
    "sentry-rust-envelope-panic",
    "sentry-rust-envelope-tracing-error-event",
    "sentry-rust-envelope-transaction",
];

#[tokio::test]
async fn every_captured_sdk_request_is_answered_200_with_its_event_id() {
    let app = spawn_app_with(with_project(|_| {})).await;
    for stem in CAPTURES {
        let r = app.raw(&capture(stem)).await;
        assert_eq!(
            r.status,
            200,
            "{stem}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let envelope = envelope_of(stem);
        let first = envelope.split(|b| *b == b'\n').next().unwrap();
        let header: Value = serde_json::from_slice(first).unwrap();
        let has_event = String::from_utf8_lossy(&envelope).contains("{\"type\":\"event\"");
        let body = r.json();
        if has_event {
            let want = header["event_id"].as_str().unwrap().replace('-', "");
            assert_eq!(body["id"], want.as_str(), "{stem}");
            assert_eq!(want.len(), 32);
        } else {
            assert!(
                body.get("id").is_none() || header.get("event_id").is_some(),
                "{stem}: {body}"
            );
        }
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{stem}"
        );
    }
    // Events became alerts; transactions, sessions, spans, logs and
    // client reports did not.
    let all = alerts(&app).await;
    let titles: Vec<&str> = all.iter().filter_map(|a| a["title"].as_str()).collect();
    assert!(
        titles.contains(&"ValueError: amount 250 exceeds limit for order 17"),
        "{titles:?}"
    );
    assert!(
        titles.iter().all(|t| !t.contains("checkout-worker")),
        "{titles:?}"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics
            .contains("ackbot_intake_total{source=\"sentry\",kind=\"event\",outcome=\"accepted\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "ackbot_intake_total{source=\"sentry\",kind=\"transaction\",outcome=\"dropped\"}"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_python_exception_says_what_broke_where_and_gzip_and_brotli_are_one_group() {
    let app = spawn_app_with(with_project(|_| {})).await;
    assert_eq!(
        app.raw(&capture("sentry-python-envelope-exception"))
            .await
            .status,
        200
    );
    let title = "ValueError: amount 250 exceeds limit for order 17";
    let a = alert_titled(&app, title).await;
    let content = a["content"].as_str().unwrap();
    for needle in [
        "at charge (app.py:24)",
        "production",
        "release shop@1.4.2",
        "server web-01",
        "user 7",
    ] {
        assert!(content.contains(needle), "{needle}: {content}");
    }
    assert!(!content.contains("vars"), "{content}");
    assert_eq!(a["severity"], "error");
    assert_eq!(a["service"], "shop");
    assert_eq!(a["labels"]["region"], "eu-1");
    assert_eq!(a["labels"]["release"], "shop@1.4.2");
    assert_eq!(a["labels"]["environment"], "production");
    assert_eq!(a["labels"]["team"], "payments");
    assert_eq!(a["labels"]["source"], "sentry");
    let envelope = String::from_utf8(envelope_of("sentry-python-envelope-exception")).unwrap();
    let trace = a["trace_id"].as_str().expect("trace id");
    assert!(envelope.contains(trace) && trace.len() == 32, "{trace}");
    // The same event compressed with brotli folds into the same alert.
    assert_eq!(
        app.raw(&capture("sentry-python-envelope-exception-br"))
            .await
            .status,
        200
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let same: Vec<Value> = alerts(&app)
            .await
            .into_iter()
            .filter(|x| x["title"] == title)
            .collect();
        assert_eq!(same.len(), 1, "{same:#?}");
        if same[0]["count"] == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{same:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_rust_panic_is_critical_with_the_app_frame_on_top() {
    let app = spawn_app_with(with_project(|_| {})).await;
    assert_eq!(
        app.raw(&capture("sentry-rust-envelope-panic")).await.status,
        200
    );
    let a = alerts(&app).await.into_iter().next().expect("an alert");
    assert_eq!(a["severity"], "critical", "{a}");
    let content = a["content"].as_str().unwrap();
    let first_frame = content
        .lines()
        .find(|l| l.starts_with("at "))
        .unwrap_or_default();
    assert!(
        first_frame.contains("rustcap::sentry_main::{{closure}}")
            && first_frame.contains("main.rs:46"),
        "{content}"
    );
    assert!(!content.contains("sentry_backtrace"), "{content}");
    // A tracing error event has no level: error, titled by its message.
    assert_eq!(
        app.raw(&capture("sentry-rust-envelope-tracing-error-event"))
            .await
            .status,
        200
    );
    let t = alert_titled(&app, "payment failed: card declined").await;
    assert_eq!(t["severity"], "error");
    // Node: key in the query string, chunked, items without length, no
    // final newline.
    assert_eq!(
        app.raw(&capture("sentry-node-envelope-exception"))
            .await
            .status,
        200
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = alerts(&app).await.into_iter().any(|a| {
            a["content"]
                .as_str()
                .is_some_and(|c| c.contains("at parseOrder") && c.contains("sentry_node.js:12"))
        });
        if found {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:#?}",
            alerts(&app).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A POST of `body` to the envelope endpoint with these headers.
async fn post(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut r = app.client.post(app.url(path)).body(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

fn auth(key: &str) -> String {
    format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=test/1")
}

#[tokio::test]
async fn refusals_change_nothing_and_are_never_5xx() {
    let app = spawn_app_with(with_project(|_| {})).await;
    let envelope = envelope_of("sentry-python-envelope-exception");
    let good = auth(KEY);
    let wrong = auth("ffffffffffffffffffffffffffffffff");
    // What, path, headers, body, the status expected.
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16);
    let cases: Vec<Case> = vec![
        (
            "wrong key",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &wrong)],
            envelope.clone(),
            401,
        ),
        ("no key", "/api/42/envelope/", vec![], envelope.clone(), 401),
        (
            "unknown project",
            "/api/7/envelope/",
            vec![("x-sentry-auth", &good)],
            envelope.clone(),
            401,
        ),
        (
            "two keys that differ",
            "/api/42/envelope/?sentry_key=ffffffffffffffffffffffffffffffff",
            vec![("x-sentry-auth", &good)],
            envelope.clone(),
            401,
        ),
        (
            "garbage gzip",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good), ("content-encoding", "gzip")],
            b"this is not gzip".to_vec(),
            400,
        ),
        (
            "truncated gzip",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good), ("content-encoding", "gzip")],
            {
                let g = gzip(&envelope);
                g[..g.len() / 2].to_vec()
            },
            400,
        ),
        (
            "a gzip bomb",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good), ("content-encoding", "gzip")],
            gzip(&vec![b' '; 64 << 20]),
            413,
        ),
        (
            "an unknown encoding",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good), ("content-encoding", "compress")],
            envelope.clone(),
            415,
        ),
        (
            "not an envelope",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good)],
            b"\x00\x01garbage\n{}".to_vec(),
            400,
        ),
        (
            "a length past the end",
            "/api/42/envelope/",
            vec![("x-sentry-auth", &good)],
            b"{}\n{\"type\":\"event\",\"length\":500}\n{}\n".to_vec(),
            400,
        ),
    ];
    for (what, path, headers, body, status) in cases {
        let r = post(&app, path, &headers, body).await;
        assert_eq!(r.status().as_u16(), status, "{what}");
        let has_sentry_error = r.headers().contains_key("x-sentry-error");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
        assert!(has_sentry_error, "{what}");
        assert!(!body.to_string().contains(KEY), "{what}: the key is echoed");
    }
    // 100 MB declared: refused from its Content-Length, before reading.
    let r = post(
        &app,
        "/api/42/envelope/",
        &[("x-sentry-auth", &good)],
        vec![b'{'; 100 << 20],
    )
    .await;
    assert_eq!(r.status().as_u16(), 413);
    assert!(alerts(&app).await.is_empty(), "a refusal stored something");
    // An unreadable event inside a good envelope: 200, counted, no alert.
    let r = post(
        &app,
        "/api/42/envelope/",
        &[("x-sentry-auth", &good)],
        b"{}\n{\"type\":\"event\"}\n[1,2,3]\n".to_vec(),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(alerts(&app).await.is_empty());
}

#[tokio::test]
async fn over_the_rate_the_sdk_is_told_to_back_off_in_a_form_every_sdk_reads() {
    let app = spawn_app_with(with_project(|c| {
        c.errors.rate_per_second = 1;
        c.errors.rate_burst = 2;
    }))
    .await;
    let envelope = envelope_of("sentry-python-envelope-message");
    let good = auth(KEY);
    let mut statuses = vec![];
    let mut limited = None;
    for _ in 0..4 {
        let r = post(
            &app,
            "/api/42/envelope/",
            &[("x-sentry-auth", &good)],
            envelope.clone(),
        )
        .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            limited = Some(r);
        }
    }
    assert_eq!(&statuses[..2], [200, 200], "{statuses:?}");
    let r = limited.expect("a 429");
    let limits = r.headers()["x-sentry-rate-limits"]
        .to_str()
        .unwrap()
        .to_string();
    // retry_after:categories:scope, all three parts (the Rust SDK needs
    // the scope), empty categories (pause everything).
    let parts: Vec<&str> = limits.split(':').collect();
    assert!(
        parts.len() >= 3 && parts[0].parse::<u64>().is_ok() && parts[1].is_empty(),
        "{limits}"
    );
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
}

#[tokio::test]
async fn the_rust_sdk_reports_errors_and_panics_and_50_of_one_error_are_one_alert() {
    let app = spawn_app_with(with_project(|_| {})).await;
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let dsn = format!("https://{KEY}@127.0.0.1:{port}/42");
    // The SDK's own blocking transport: run it off the test's runtime.
    tokio::task::spawn_blocking(move || {
        let _guard = sentry::init((
            dsn,
            sentry::ClientOptions {
                release: Some("shop@2.0.0".into()),
                environment: Some("staging".into()),
                accept_invalid_certs: true,
                attach_stacktrace: true,
                ..Default::default()
            },
        ));
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(sentry_tracing::layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(order_id = 17, "payment failed: card declined");
        });
        let err = std::io::Error::other("disk full");
        let client = sentry::Hub::current().client().unwrap();
        for i in 0..50 {
            sentry::capture_error(&err);
            // The SDK's queue holds 30 envelopes and drops the rest.
            if i % 10 == 9 {
                client.flush(Some(Duration::from_secs(10)));
            }
        }
        let _ = std::thread::spawn(|| panic!("index out of range in charge")).join();
        client.flush(Some(Duration::from_secs(10)));
    })
    .await
    .unwrap();
    let traced = alert_titled(&app, "payment failed: card declined").await;
    assert_eq!(traced["labels"]["environment"], "staging");
    assert_eq!(traced["labels"]["release"], "shop@2.0.0");
    let deadline = tokio::time::Instant::now() + WAIT;
    let (disk, panic) = loop {
        let all = alerts(&app).await;
        let disk = all
            .iter()
            .find(|a| a["title"].as_str().is_some_and(|t| t.contains("disk full")))
            .cloned();
        let panic = all
            .iter()
            .find(|a| {
                a["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("index out of range"))
            })
            .cloned();
        if let (Some(d), Some(p)) = (&disk, &panic) {
            if d["count"] == 50 {
                break (d.clone(), p.clone());
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disk["severity"], "error");
    assert_eq!(panic["severity"], "critical");
    let first_frame = panic["content"]
        .as_str()
        .unwrap()
        .lines()
        .find(|l| l.starts_with("at "))
        .unwrap_or_default()
        .to_string();
    assert!(
        first_frame.contains("api::errors::") && first_frame.contains("errors.rs:"),
        "the app's own frame on top: {}",
        panic["content"]
    );
    assert!(
        panic["trace_id"].as_str().is_some_and(|t| t.len() == 32),
        "{panic}"
    );
    // 50 occurrences, told about at most twice (the first, then one
    // aggregated message).
    let told = app
        .get_json(&format!(
            "/api/v1/alerts/{}/notifications",
            disk["id"].as_str().unwrap()
        ))
        .await;
    let rows = told["notifications"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 2, "{told:#}");
}
