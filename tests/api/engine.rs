//! What the engine decides to notify, seen through
//! `GET /api/v1/alerts/{id}/notifications` (the outbox rows written in the
//! alert's own transaction): dedup, the aggregation window, critical bypass,
//! silences, resolve after ack, and routing.

use ackbot::config::{ChannelConfig, Config, RouteConfig};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::MockBot;

async fn notifications(app: &TestApp, id: &str) -> Vec<Value> {
    app.get_json(&format!("/api/v1/alerts/{id}/notifications"))
        .await["notifications"]
        .as_array()
        .unwrap()
        .clone()
}

fn kinds(n: &[Value]) -> Vec<&str> {
    n.iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// A webhook channel whose deliveries a local mock accepts, so delivery
/// leaves the decided rows as they were (status `sent`, same due time).
fn channel(name: &str, url: &str) -> ChannelConfig {
    toml::from_str(&format!(
        "name = \"{name}\"\ntype = \"webhook\"\nurl = \"{url}/{name}\""
    ))
    .unwrap()
}

fn route(text: &str) -> RouteConfig {
    toml::from_str(text).unwrap()
}

async fn with_routes(channels: &[&str], routes: &[&str]) -> impl FnOnce(&mut Config) + use<> {
    // Lives as long as the test process: the server may deliver until then.
    let mock: &'static MockBot = Box::leak(Box::new(MockBot::webhook(None).await));
    let base = mock.base();
    let channels: Vec<_> = channels.iter().map(|c| channel(c, &base)).collect();
    let routes: Vec<_> = routes.iter().map(|r| route(r)).collect();
    move |c: &mut Config| {
        c.channels = channels;
        c.routes = routes;
        c.validate().unwrap();
    }
}

#[tokio::test]
async fn five_occurrences_in_a_minute_give_one_notification_and_a_sixth_adds_one_summary() {
    let app = spawn_app().await;
    let alert = json!({"title": "NullPointerException in checkout", "service": "shop"});
    let mut id = String::new();
    for _ in 0..5 {
        id = app.post_alert(&alert).await;
    }
    let n = notifications(&app, &id).await;
    assert_eq!(kinds(&n), ["firing"]);
    assert_eq!(
        n[0]["status"], "unrouted",
        "no channel configured: recorded"
    );
    assert_eq!(n[0]["channel"], Value::Null);

    app.post_alert(&alert).await;
    for _ in 0..10 {
        app.post_alert(&alert).await;
    }
    let n = notifications(&app, &id).await;
    assert_eq!(
        kinds(&n),
        ["firing", "aggregated"],
        "one summary, not eleven"
    );
    assert_eq!(n[1]["occurrences"], 6);
    // Due at the end of the window that the first occurrence opened.
    let window_end = time(&n[0]["created_at"]) + chrono::Duration::seconds(60);
    assert_eq!(time(&n[1]["due_at"]), window_end);
    let record = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(record["count"], 16);
}

#[tokio::test]
async fn the_window_and_threshold_are_configurable() {
    let app = spawn_app_with(|c| c.aggregation.threshold = 2).await;
    let alert = json!({"title": "flaky job"});
    let mut id = String::new();
    for _ in 0..3 {
        id = app.post_alert(&alert).await;
    }
    assert_eq!(
        kinds(&notifications(&app, &id).await),
        ["firing", "aggregated"]
    );
}

#[tokio::test]
async fn critical_bypasses_aggregation_and_group_wait() {
    let app = spawn_app_with(
        with_routes(&["ops"], &["channels = [\"ops\"]\ngroup_wait = \"30s\""]).await,
    )
    .await;
    let critical = json!({"title": "payment DB down", "severity": "critical"});
    let mut id = String::new();
    for _ in 0..8 {
        id = app.post_alert(&critical).await;
    }
    let n = notifications(&app, &id).await;
    assert_eq!(kinds(&n), ["firing"], "re-sends of a firing alert dedup");
    assert_eq!(n[0]["channel"], "ops");
    assert_ne!(n[0]["status"], "unrouted", "a channel takes it");
    assert_eq!(n[0]["due_at"], n[0]["created_at"], "due at once");

    let warning = json!({"title": "disk 80%", "severity": "warning"});
    for _ in 0..8 {
        id = app.post_alert(&warning).await;
    }
    let n = notifications(&app, &id).await;
    assert_eq!(kinds(&n), ["firing", "aggregated"]);
    let waited = time(&n[0]["due_at"]) - time(&n[0]["created_at"]);
    assert_eq!(waited, chrono::Duration::seconds(30), "group_wait applies");
}

#[tokio::test]
async fn silenced_alerts_are_not_notified() {
    let app = spawn_app().await;
    let res = app
        .api(Method::POST, "/api/v1/silences")
        .json(
            &json!({"matchers": ["env=\"staging\""], "duration": "1h", "created_by": "Han Meimei"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let quiet = app
        .post_alert(&json!({"title": "x", "labels": {"env": "staging"}}))
        .await;
    let loud = app
        .post_alert(&json!({"title": "x", "labels": {"env": "prod"}}))
        .await;
    assert!(notifications(&app, &quiet).await.is_empty());
    assert_eq!(kinds(&notifications(&app, &loud).await), ["firing"]);
    // Resolving a silenced alert tells nobody either.
    let resolved = json!({"title": "x", "labels": {"env": "staging"}, "status": "resolved"});
    app.post_alert(&resolved).await;
    assert!(notifications(&app, &quiet).await.is_empty());
}

#[tokio::test]
async fn acknowledged_is_not_silenced_a_resolve_still_notifies() {
    let app = spawn_app().await;
    let id = app.post_alert(&json!({"title": "queue backlog"})).await;
    for action in ["ack", "resolve"] {
        let res = app
            .api(Method::POST, &format!("/api/v1/alerts/{id}/{action}"))
            .json(&json!({"by": "Li Lei"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{action}");
    }
    assert_eq!(
        kinds(&notifications(&app, &id).await),
        ["firing", "resolved"]
    );
    // From the source too: fire again, ack, resolve by Alertmanager-style post.
    app.post_alert(&json!({"title": "queue backlog"})).await;
    let res = app
        .api(Method::POST, &format!("/api/v1/alerts/{id}/ack"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.post_alert(&json!({"title": "queue backlog", "status": "resolved"}))
        .await;
    assert_eq!(
        kinds(&notifications(&app, &id).await),
        ["firing", "resolved", "firing", "resolved"]
    );
}

#[tokio::test]
async fn routes_match_in_order_first_wins_unless_continue() {
    let app = spawn_app_with(with_routes(
        &["db", "oncall", "all"],
        &[
            "matchers = ['team=\"db\"']\nchannels = [\"db\"]\ncontinue = true\ngroup_wait = \"0s\"",
            "matchers = ['severity=~\"critical|error\"']\nchannels = [\"oncall\"]",
            "channels = [\"all\"]\ngroup_wait = \"0s\"",
        ],
    ).await)
    .await;
    let channels = |n: Vec<Value>| -> Vec<String> {
        n.iter()
            .map(|n| n["channel"].as_str().unwrap().to_string())
            .collect()
    };
    let db_critical = app
        .post_alert(
            &json!({"title": "replica lag", "severity": "critical", "labels": {"team": "db"}}),
        )
        .await;
    assert_eq!(
        channels(notifications(&app, &db_critical).await),
        ["db", "oncall"]
    );
    let db_info = app
        .post_alert(&json!({"title": "vacuum", "severity": "info", "labels": {"team": "db"}}))
        .await;
    assert_eq!(channels(notifications(&app, &db_info).await), ["db", "all"]);
    let web_error = app
        .post_alert(&json!({"title": "5xx", "severity": "error"}))
        .await;
    assert_eq!(channels(notifications(&app, &web_error).await), ["oncall"]);
}

#[tokio::test]
async fn with_channels_but_no_routes_every_alert_goes_to_every_channel_at_once() {
    let app = spawn_app_with(with_routes(&["feishu", "mail"], &[]).await).await;
    let id = app
        .post_alert(&json!({"title": "cert expires in 7 days", "severity": "info"}))
        .await;
    let n = notifications(&app, &id).await;
    let channels: Vec<_> = n.iter().map(|n| n["channel"].as_str().unwrap()).collect();
    assert_eq!(channels, ["feishu", "mail"]);
    assert!(n.iter().all(|n| n["due_at"] == n["created_at"]));
}

#[tokio::test]
async fn a_group_collects_alerts_until_its_flush() {
    let app = spawn_app_with(with_routes(
        &["ops"],
        &["channels = [\"ops\"]\ngroup_by = [\"alertname\"]\ngroup_wait = \"30s\"\ngroup_interval = \"5m\""],
    ).await)
    .await;
    let a = app
        .post_alert(&json!({"title": "HostDown", "labels": {"host": "a"}}))
        .await;
    let b = app
        .post_alert(&json!({"title": "HostDown", "labels": {"host": "b"}}))
        .await;
    let other = app
        .post_alert(&json!({"title": "DiskFull", "labels": {"host": "a"}}))
        .await;
    let (na, nb, no) = (
        notifications(&app, &a).await,
        notifications(&app, &b).await,
        notifications(&app, &other).await,
    );
    assert_eq!(na[0]["group_key"], nb[0]["group_key"]);
    assert_eq!(
        na[0]["due_at"], nb[0]["due_at"],
        "b joins a's pending flush"
    );
    assert_ne!(na[0]["group_key"], no[0]["group_key"]);
}

#[tokio::test]
async fn alertmanager_firing_then_resolved_notifies_both() {
    let app = spawn_app().await;
    let post_am = |name: &'static str| {
        let body: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/tests/fixtures/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        app.api(Method::POST, "/api/v1/alertmanager")
            .json(&body)
            .send()
    };
    let res = post_am("alertmanager-firing.json").await.unwrap();
    assert_eq!(res.status(), 202);
    let ids: Vec<String> = res.json::<Value>().await.unwrap()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    // Alertmanager re-sends the same firing group: nothing new to say.
    assert_eq!(
        post_am("alertmanager-firing.json").await.unwrap().status(),
        202
    );
    assert_eq!(
        post_am("alertmanager-resolved.json")
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(ids.len(), 1);
    assert_eq!(
        kinds(&notifications(&app, &ids[0]).await),
        ["firing", "resolved"]
    );
}
