//! The log endpoints (`../shared/spec/errors-and-logs.md` section 2 and the
//! checks of section 4): every captured Loki push replayed, log rules that
//! fire, count within a window and resolve when quiet, refusals that change
//! nothing, and the real `tracing-loki` client.

use std::io::Write;
use std::time::Duration;

use ackbot::config::Config;
use base64::Engine;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app_with};

/// The password the captured clients sent (`tenant1:s3cret`).
const TOKEN: &str = "s3cret";
const WAIT: Duration = Duration::from_secs(20);

fn file(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/errors-and-logs-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn b64(name: &str) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/vectors/errors-and-logs-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .ok()?;
    let clean: String = text.split_whitespace().collect();
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .unwrap(),
    )
}

/// The captured request: its head (with our basic auth added when the
/// client sent none) and its exact body bytes.
fn capture(stem: &str) -> Vec<u8> {
    let wire = file(&format!("{stem}.txt"));
    let at = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let mut head = wire[..at].to_vec();
    let mut body = wire[at + 4..].to_vec();
    if body.is_empty() {
        body = b64(&format!("{stem}.body.b64"))
            .or_else(|| b64(&format!("{stem}.b64")))
            .unwrap_or_else(|| panic!("{stem}: no body file"));
    }
    if !String::from_utf8_lossy(&head)
        .to_ascii_lowercase()
        .contains("\r\nauthorization:")
    {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("tenant1:{TOKEN}"));
        head.extend_from_slice(format!("\r\nAuthorization: Basic {basic}").as_bytes());
    }
    head.extend_from_slice(b"\r\n\r\n");
    head.extend_from_slice(&body);
    head
}

/// The DESIGN.md example rule, plus what a test adds.
fn with_rules(extra: &str) -> impl FnOnce(&mut Config) + use<> {
    let extra = extra.to_string();
    move |c: &mut Config| {
        c.logs = toml::from_str(&format!(
            r#"
tokens = ["{TOKEN}"]
[[rules]]
name = "app-errors"
regex = '(?P<timestamp>\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}:\d{{2}}) \[(?P<level>\w+)\] (?P<service>\w+) - (?P<message>.+)'
level = "capture:level"
service = "capture:service"
severity_map = {{ ERROR = "error", WARNING = "warning", INFO = "none" }}
count = 1
window = "1m"
group_by = ["service", "message"]
title = "{{service}}: {{message}}"
{extra}
"#
        ))
        .unwrap();
        c.validate().unwrap();
    }
}

async fn alerts(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/alerts").await["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_for(app: &TestApp, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(a) = alerts(app).await.into_iter().find(|a| f(a)) {
            return a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {:#?}",
            alerts(app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lines(app: &TestApp, query: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/logs{query}")))
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_captured_push_is_answered_204_with_no_body() {
    let app = spawn_app_with(with_rules("")).await;
    for stem in [
        "loki-json-push",
        "loki-json-gzip-push",
        "loki-json-push-pino",
        "loki-json-push-winston",
        "loki-legacy-prom-push",
        "loki-protobuf-push",
        "loki-protobuf-push-winston",
    ] {
        let r = app.raw(&capture(stem)).await;
        assert_eq!(
            r.status,
            204,
            "{stem}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.body.is_empty(), "{stem}");
    }
    // Vector's health check.
    let r = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("ackbot_intake_total{source=\"loki\",kind=\"line\",outcome=\"dropped\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_matching_line_fires_the_templated_alert_and_info_lines_do_not() {
    let app = spawn_app_with(with_rules("")).await;
    let r = lines(
        &app,
        "?service=payment&env=prod",
        "2026-12-02 07:08:49 [INFO] payment - charged order 17\n\
         2026-12-02 07:08:48 [ERROR] payment - cannot reach redis\r\n\n",
    )
    .await;
    assert_eq!(r.status(), 204);
    let a = wait_for(&app, "the rule's alert", |a| {
        a["title"] == "payment: cannot reach redis"
    })
    .await;
    assert_eq!(a["severity"], "error");
    assert_eq!(a["service"], "payment");
    assert_eq!(a["labels"]["rule"], "app-errors");
    assert!(
        a["content"]
            .as_str()
            .unwrap()
            .contains("cannot reach redis"),
        "{a}"
    );
    assert_eq!(alerts(&app).await.len(), 1, "the INFO line raised nothing");
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("ackbot_log_rule_matches_total{rule=\"app-errors\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_count_within_a_window_fires_once_reached_and_quiet_time_resolves() {
    let app = spawn_app_with(with_rules(
        r#"
[[rules]]
name = "gateway-timeouts"
regex = 'payment gateway timeout after (?P<seconds>\d+)s order_id=(?P<order_id>\d+)'
level = ["label:severity", "const:error"]
service = "const:shop"
count = 3
window = "1m"
title = "shop: payment gateway timeout x{count} in {window} (last: order {order_id})"
resolve_after = "2s"
"#,
    ))
    .await;
    let line = |n: u32| format!("payment gateway timeout after 30s order_id={n}\n");
    assert_eq!(
        lines(&app, "?service=shop", &(line(1) + &line(2)))
            .await
            .status(),
        204
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(alerts(&app).await.is_empty(), "two of three fired");
    assert_eq!(lines(&app, "?service=shop", &line(3)).await.status(), 204);
    let a = wait_for(&app, "the third match fires", |a| {
        a["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("shop: payment gateway timeout x3 in 1m"))
    })
    .await;
    assert!(
        a["title"].as_str().unwrap().ends_with("(last: order 3)"),
        "{a}"
    );
    assert_eq!(a["state"], "firing");
    let id = a["id"].as_str().unwrap().to_string();
    // Quiet for resolve_after: resolved (the sweep runs every 5 s).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = app.get_json(&format!("/api/v1/alerts/{id}")).await;
        if got["state"] == "resolved" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn refusals_change_nothing_and_are_never_5xx() {
    let app = spawn_app_with(with_rules("")).await;
    let good = r#"{"streams":[{"stream":{"job":"shop"},"values":[["1796195672270686912","2026-12-02 07:08:48 [ERROR] payment - cannot reach redis"]]}]}"#;
    // A snappy block that claims 1 GiB decoded (varint 0x80 0x80 0x80 0x80 0x04).
    let bomb = vec![0x80, 0x80, 0x80, 0x80, 0x04, 0x00];
    // What, Authorization, Content-Type, Content-Encoding, body, statuses.
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        &'a str,
        Option<&'a str>,
        Vec<u8>,
        &'a [u16],
    );
    let cases: Vec<Case> = vec![
        (
            "no token",
            None,
            "application/json",
            None,
            good.into(),
            &[401],
        ),
        (
            "wrong token",
            Some("Bearer nope"),
            "application/json",
            None,
            good.into(),
            &[401],
        ),
        (
            "garbage json",
            Some("Bearer s3cret"),
            "application/json",
            None,
            b"{not json".to_vec(),
            &[400],
        ),
        (
            "a number timestamp",
            Some("Bearer s3cret"),
            "application/json",
            None,
            br#"{"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]}"#.to_vec(),
            &[400],
        ),
        (
            "garbage protobuf",
            Some("Bearer s3cret"),
            "application/x-protobuf",
            None,
            b"\xff\xff\xff".to_vec(),
            &[400],
        ),
        (
            "a snappy bomb",
            Some("Bearer s3cret"),
            "application/x-protobuf",
            None,
            bomb,
            &[400, 413],
        ),
        (
            "truncated gzip",
            Some("Bearer s3cret"),
            "application/json",
            Some("gzip"),
            {
                let g = gzip(good.as_bytes());
                g[..g.len() / 2].to_vec()
            },
            &[400],
        ),
        (
            "an unknown encoding",
            Some("Bearer s3cret"),
            "application/json",
            Some("zz"),
            good.into(),
            &[400],
        ),
    ];
    for (what, auth, ctype, encoding, body, statuses) in cases {
        let mut r = app
            .client
            .post(app.url("/loki/api/v1/push"))
            .header("content-type", ctype)
            .body(body);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        if let Some(e) = encoding {
            r = r.header("content-encoding", e);
        }
        let r = r.send().await.unwrap();
        assert!(
            statuses.contains(&r.status().as_u16()),
            "{what}: {}",
            r.status()
        );
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{what}: {body}");
        assert!(!body.to_string().contains(TOKEN), "{what}");
    }
    let r = app
        .client
        .post(app.url("/loki/api/v1/push"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(vec![b' '; 100 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(alerts(&app).await.is_empty(), "a refusal stored something");
    // The good body itself fires.
    let r = app
        .client
        .post(app.url("/loki/api/v1/push"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    wait_for(&app, "the good push fires", |a| {
        a["title"] == "payment: cannot reach redis"
    })
    .await;
}

const REDIS_RULE: &str = r#"
[[rules]]
name = "redis"
regex = 'cannot reach (?P<what>\w+)'
json_field = "message"
level = ["label:level", "const:error"]
service = ["label:service"]
count = 2
window = "1m"
title = "{labels.service}: cannot reach {what}"
resolve_after = "2s"
"#;

/// Logs `errors` error lines (and an info line) through a real
/// `tracing-loki` layer, and waits until its background task has pushed them.
async fn through_tracing_loki(app: &TestApp, errors: usize) {
    let url = reqwest::Url::parse(&format!("{}/", app.address)).unwrap();
    let (layer, controller, task) = tracing_loki::builder()
        .label("service", "checkout")
        .unwrap()
        .http_header("Authorization", format!("Bearer {TOKEN}"))
        .unwrap()
        .build_controller_url(url)
        .unwrap();
    let background = tokio::spawn(task);
    {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("all good");
            for _ in 0..errors {
                tracing::error!(order_id = 17, "cannot reach redis");
            }
        });
    }
    controller.shutdown().await;
    tokio::time::timeout(Duration::from_secs(10), background)
        .await
        .expect("tracing-loki pushed and stopped")
        .unwrap();
}

#[tokio::test]
async fn the_tracing_loki_client_pushes_protobuf_and_its_lines_fire_the_rule() {
    // Plain HTTP: tracing-loki trusts only public roots.
    let app = spawn_app_with(|c| {
        with_rules(REDIS_RULE)(c);
        c.server.insecure_http = true;
    })
    .await;
    // One match of the two the rule wants: nothing.
    through_tracing_loki(&app, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(alerts(&app).await.is_empty(), "{:#?}", alerts(&app).await);
    // The second within the window fires, with the templated title.
    through_tracing_loki(&app, 1).await;
    let a = wait_for(&app, "tracing-loki's lines fire", |a| {
        a["title"] == "checkout: cannot reach redis"
    })
    .await;
    assert_eq!(a["severity"], "error");
    assert_eq!(alerts(&app).await.len(), 1);
    // Quiet for resolve_after: resolved.
    wait_for(&app, "quiet time resolves it", |a| {
        a["title"] == "checkout: cannot reach redis" && a["state"] == "resolved"
    })
    .await;
}
