//! Heartbeats and Sentry cron monitors: deadlines that fire (also when they
//! passed while ackbot was down), pings that resolve, `/fail`, the secret
//! URL, Alertmanager's Watchdog, and the captured check-ins.

use std::time::Duration;

use ackbot::config::Config;
use serde_json::{Value, json};

use crate::errors::with_project;
use crate::helpers::{API_TOKEN, TestApp, spawn_app_in, spawn_app_with};

const WAIT: Duration = Duration::from_secs(30);
const SECRET: &str = "crontab-secret-0123456789";

fn with_heartbeats(c: &mut Config) {
    c.heartbeats = toml::from_str::<toml::Table>(&format!(
        r#"
[[heartbeats]]
name = "nightly-backup"
period = "2s"
grace = "1s"
secret = "{SECRET}"
service = "backup"
[[heartbeats]]
name = "prometheus"
period = "2s"
grace = "1s"
alertmanager_alertname = "Watchdog"
"#
    ))
    .unwrap()["heartbeats"]
        .clone()
        .try_into()
        .unwrap();
    c.validate().unwrap();
}

async fn state_of(app: &TestApp, title: &str) -> Option<Value> {
    app.get_json("/api/v1/alerts").await["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == title)
        .cloned()
}

async fn wait_state(app: &TestApp, title: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(a) = state_of(app, title).await.filter(|a| a["state"] == state) {
            return a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{title} {state}: {:?}",
            state_of(app, title).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn ping(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.post(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn a_silent_heartbeat_fires_a_ping_resolves_and_fail_fires_at_once() {
    let app = spawn_app_with(with_heartbeats).await;
    let title = "nightly-backup: no heartbeat";
    // The secret URL alone authenticates; an API token too.
    let r = ping(
        &app,
        &format!("/api/v1/heartbeats/nightly-backup?key={SECRET}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "ok");
    let r = app
        .api(reqwest::Method::POST, "/api/v1/heartbeats/nightly-backup")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Refusals change nothing.
    for (path, status) in [
        (
            "/api/v1/heartbeats/nightly-backup?key=wrong-secret-0123456789",
            401,
        ),
        ("/api/v1/heartbeats/nightly-backup", 401),
        ("/api/v1/heartbeats/nope?key=x", 404),
        (
            "/api/v1/heartbeats/prometheus?key=crontab-secret-0123456789",
            401,
        ),
    ] {
        let r = ping(&app, path).await;
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
    }
    // Silent for period + grace: fires.
    let a = wait_state(&app, title, "firing").await;
    assert!(
        a["content"].as_str().unwrap().contains("No heartbeat for"),
        "{a}"
    );
    assert_eq!(a["service"], "backup");
    assert_eq!(a["labels"]["heartbeat"], "nightly-backup");
    // The next ping resolves it.
    let r = ping(
        &app,
        &format!("/api/v1/heartbeats/nightly-backup?key={SECRET}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    wait_state(&app, title, "resolved").await;
    // A reported failure fires at once, with what the job said.
    let r = app
        .client
        .post(app.url(&format!(
            "/api/v1/heartbeats/nightly-backup/fail?key={SECRET}"
        )))
        .body("pg_dump: connection refused")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let a = wait_state(&app, title, "firing").await;
    assert!(
        a["content"]
            .as_str()
            .unwrap()
            .contains("pg_dump: connection refused"),
        "{a}"
    );
}

#[tokio::test]
async fn a_deadline_that_passed_while_ackbot_was_down_fires_after_the_restart() {
    let app = spawn_app_with(with_heartbeats).await;
    assert_eq!(
        ping(
            &app,
            &format!("/api/v1/heartbeats/nightly-backup?key={SECRET}")
        )
        .await
        .status(),
        200
    );
    let dir = app.stop().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let app = spawn_app_in(dir, with_heartbeats).await;
    let a = wait_state(&app, "nightly-backup: no heartbeat", "firing").await;
    assert!(
        a["content"].as_str().unwrap().contains("the last one came"),
        "{a}"
    );
    // Once: the alert is one, however many looks the prober takes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = app
        .get_json(&format!("/api/v1/alerts/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(events["count"], 1, "{events}");
}

fn watchdog(status: &str) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"Watchdog\"}", "status": status,
        "receiver": "ackbot", "groupLabels": {"alertname": "Watchdog"},
        "commonLabels": {"alertname": "Watchdog"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
        "alerts": [{
            "status": status, "labels": {"alertname": "Watchdog", "severity": "none"},
            "annotations": {"summary": "always firing"},
            "startsAt": "2026-12-04T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090", "fingerprint": "e0c0b5e1f2a3b4c5"
        }]
    })
}

#[tokio::test]
async fn alertmanagers_watchdog_is_a_heartbeat_and_its_silence_fires() {
    let app = spawn_app_with(with_heartbeats).await;
    let send = || async {
        app.client
            .post(app.url("/api/v1/alertmanager"))
            .bearer_auth(API_TOKEN)
            .json(&watchdog("firing"))
            .send()
            .await
            .unwrap()
            .status()
    };
    for _ in 0..3 {
        assert!(send().await.is_success());
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // Never an alert of its own, and no deadline passed while it came.
    let all = app.get_json("/api/v1/alerts").await;
    assert!(
        all["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["title"] != "Watchdog"),
        "{all}"
    );
    assert!(state_of(&app, "prometheus: no heartbeat").await.is_none());
    // It stops arriving: the monitoring itself is broken.
    wait_state(&app, "prometheus: no heartbeat", "firing").await;
    assert!(send().await.is_success());
    wait_state(&app, "prometheus: no heartbeat", "resolved").await;
}

fn envelope(check_in: Value) -> Vec<u8> {
    format!("{{}}\n{{\"type\":\"check_in\"}}\n{check_in}\n").into_bytes()
}

async fn check_in(app: &TestApp, body: Vec<u8>) {
    let r = app
        .client
        .post(app.url("/api/42/envelope/"))
        .header(
            "x-sentry-auth",
            "Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7",
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn captured_check_ins_fire_on_error_and_resolve_on_ok() {
    let app = spawn_app_with(with_project(|_| {})).await;
    let read = |name: &str| {
        std::fs::read(format!(
            "{}/tests/vectors/errors-and-logs-payloads/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    check_in(
        &app,
        read("sentry-python-envelope-checkin-in-progress.decoded.txt"),
    )
    .await;
    check_in(
        &app,
        read("sentry-python-envelope-checkin-error.decoded.txt"),
    )
    .await;
    let a = wait_state(&app, "nightly-backup failed", "firing").await;
    assert_eq!(a["labels"]["monitor"], "nightly-backup");
    check_in(
        &app,
        read("sentry-node-envelope-checkin-in-progress.decoded.txt"),
    )
    .await;
    check_in(&app, read("sentry-node-envelope-checkin-ok.decoded.txt")).await;
    let all = app.get_json("/api/v1/alerts").await;
    assert!(
        all["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| !a["title"].as_str().unwrap().contains("hourly-sync")),
        "{all}"
    );
    // The next ok resolves the failed one.
    check_in(
        &app,
        envelope(json!({"check_in_id": "0123456789abcdef0123456789abcdef",
                        "monitor_slug": "nightly-backup", "status": "ok",
                        "environment": "production"})),
    )
    .await;
    wait_state(&app, "nightly-backup failed", "resolved").await;
}

#[tokio::test]
async fn a_monitor_that_misses_its_interval_fires_also_across_a_restart() {
    let app = spawn_app_with(with_project(|_| {})).await;
    check_in(
        &app,
        envelope(json!({"check_in_id": "11111111111111111111111111111111",
                        "monitor_slug": "every-minute", "status": "ok",
                        "monitor_config": {"schedule": {"type": "interval", "value": 1, "unit": "minute"},
                                           "checkin_margin": 0}})),
    )
    .await;
    // Down through the deadline (one minute, no margin).
    let dir = app.stop().await;
    tokio::time::sleep(Duration::from_secs(55)).await;
    let app = spawn_app_in(dir, with_project(|_| {})).await;
    let a = wait_state(&app, "every-minute missed its check-in", "firing").await;
    assert_eq!(a["labels"]["environment"], "production");
    check_in(
        &app,
        envelope(json!({"check_in_id": "22222222222222222222222222222222",
                        "monitor_slug": "every-minute", "status": "ok"})),
    )
    .await;
    wait_state(&app, "every-minute missed its check-in", "resolved").await;
}
