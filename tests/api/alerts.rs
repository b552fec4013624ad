//! `/api/v1`: authentication, ingestion of every format, reads, state changes
//! and the audit trail, against the real server and its SQLite store.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let alert = json!({"title": "x"});
    let url = app.url("/api/v1/alerts");
    let none = app.client.post(&url).json(&alert).send().await.unwrap();
    assert_error(none, 401, "missing_token").await;
    let wrong = app
        .client
        .post(&url)
        .bearer_auth("test-api-token-0123456780")
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_error(wrong, 401, "bad_token").await;
    let basic = app
        .client
        .post(&url)
        .basic_auth("u", Some(API_TOKEN))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert_error(basic, 401, "missing_token").await;
    for path in [
        "/api/v1/alerts",
        "/api/v1/alerts/x",
        "/api/v1/alerts/x/events",
        "/api/v1/alerts/x/notifications",
    ] {
        assert_error(
            app.client.get(app.url(path)).send().await.unwrap(),
            401,
            "missing_token",
        )
        .await;
    }
    assert_eq!(app.alert_count().await, 0);
}

#[tokio::test]
async fn without_configured_tokens_the_api_is_closed() {
    let app = spawn_app_with(|c| c.api.tokens.clear()).await;
    let res = app.post_alerts(&json!({"title": "x"})).await;
    let body = assert_error(res, 401, "missing_token").await;
    assert!(body["message"].as_str().unwrap().contains("[api] tokens"));
}

#[tokio::test]
async fn an_alert_is_committed_before_202_and_readable() {
    let app = spawn_app().await;
    let res = app
        .post_alerts(&json!({
            "title": "Payment DB unreachable", "content": "connect timeout after 3s",
            "severity": "critical", "service": "payment", "labels": {"env": "prod"},
            "annotations": {"runbook": "https://runbooks.example/db"},
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "request_id": "req-1"
        }))
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["accepted"], 1);
    let id = body["ids"][0].as_str().unwrap();
    let a = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    for (k, v) in [
        ("title", json!("Payment DB unreachable")),
        ("severity", json!("critical")),
        ("service", json!("payment")),
        ("state", json!("firing")),
        ("count", json!(1)),
        ("trace_id", json!("4bf92f3577b34da6a3ce929d0e0e4736")),
        ("request_id", json!("req-1")),
        ("acked_by", Value::Null),
    ] {
        assert_eq!(a[k], v, "{k} in {a}");
    }
    assert_eq!(a["labels"]["env"], "prod");
    for k in ["id", "fingerprint", "first_seen", "last_seen"] {
        assert!(a[k].is_string(), "{k} in {a}");
    }
}

#[tokio::test]
async fn every_bad_field_gets_400_naming_it() {
    let app = spawn_app().await;
    for (alert, field) in [
        (json!({}), "title"),
        (json!({"title": "t", "severity": "urgent"}), "severity"),
        (json!({"title": "t", "labels": {"bad-name": "x"}}), "labels"),
        (json!({"title": "t", "starts_at": "yesterday"}), "starts_at"),
        (json!({"title": "t", "serverity": "critical"}), "alert"),
    ] {
        let body = assert_error(app.post_alerts(&alert).await, 400, "invalid").await;
        assert_eq!(body["field"], field, "{alert}: {body}");
    }
    let res = app
        .api(Method::POST, "/api/v1/alerts")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid").await;
    assert_error(app.post_alerts(&json!("a string")).await, 400, "invalid").await;
    assert_eq!(app.alert_count().await, 0);
}

#[tokio::test]
async fn a_batch_with_one_bad_alert_commits_nothing() {
    let app = spawn_app().await;
    let batch = json!([{"title": "ok 1"}, {"title": "ok 2"}, {"title": ""}]);
    let body = assert_error(app.post_alerts(&batch).await, 400, "invalid").await;
    assert!(
        body["message"].as_str().unwrap().contains("alerts[2]"),
        "{body}"
    );
    assert_eq!(app.alert_count().await, 0, "all or nothing");
    let res = app
        .post_alerts(&json!([{"title": "ok 1"}, {"title": "ok 2"}]))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 2);
    assert_eq!(app.alert_count().await, 2);
}

#[tokio::test]
async fn resends_fold_into_one_alert_with_a_count() {
    let app = spawn_app().await;
    let alert = json!({"title": "same error", "service": "api", "labels": {"env": "prod"}});
    let mut ids = Vec::new();
    for _ in 0..5 {
        let body: Value = app.post_alerts(&alert).await.json().await.unwrap();
        ids.push(body["ids"][0].as_str().unwrap().to_string());
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let a = app.get_json(&format!("/api/v1/alerts/{}", ids[0])).await;
    assert_eq!(a["count"], 5);
    assert_eq!(app.alert_count().await, 1);
}

#[tokio::test]
async fn alertmanager_firing_then_resolved() {
    let app = spawn_app().await;
    let post = |v: Value| {
        app.api(Method::POST, "/api/v1/alertmanager")
            .json(&v)
            .send()
    };
    let res = post(fixture("alertmanager-firing.json")).await.unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let a = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        (
            a["title"].as_str(),
            a["severity"].as_str(),
            a["state"].as_str()
        ),
        (Some("ProbeFailure"), Some("critical"), Some("firing"))
    );
    assert_eq!(a["fingerprint"], "1a30ba71cca2921f");
    assert_eq!(
        post(fixture("alertmanager-resolved.json"))
            .await
            .unwrap()
            .status(),
        202
    );
    let a = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(a["state"], "resolved");
    let kinds: Vec<_> = app.get_json(&format!("/api/v1/alerts/{id}/events")).await["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["fired", "resolved"]);
    // Grafana's payload is refused here (version "1"), accepted on its own endpoint.
    let res = post(fixture("grafana-firing.json")).await.unwrap();
    assert_error(res, 400, "invalid").await;
    let res = app
        .api(Method::POST, "/api/v1/grafana")
        .json(&fixture("grafana-firing.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 2);
}

#[tokio::test]
async fn ack_unack_resolve_through_the_api_with_an_audit_trail() {
    let app = spawn_app().await;
    let body: Value = app
        .post_alerts(&json!({"title": "x"}))
        .await
        .json()
        .await
        .unwrap();
    let id = body["ids"][0].as_str().unwrap();
    let act = |verb: &str, by: Option<&str>| {
        let mut req = app.api(Method::POST, &format!("/api/v1/alerts/{id}/{verb}"));
        if let Some(by) = by {
            req = req.json(&json!({"by": by}));
        }
        req.send()
    };
    let res: Value = act("ack", Some("Li Lei"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (res["changed"].as_bool(), res["alert"]["state"].as_str()),
        (Some(true), Some("acknowledged"))
    );
    assert_eq!(res["alert"]["acked_by"], "Li Lei");
    assert!(res["alert"]["acked_at"].is_string());
    let again: Value = act("ack", Some("Han Meimei"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            again["changed"].as_bool(),
            again["alert"]["acked_by"].as_str()
        ),
        (Some(false), Some("Li Lei"))
    );
    let res: Value = act("unack", None).await.unwrap().json().await.unwrap();
    assert_eq!(res["alert"]["state"], "firing");
    let res: Value = act("resolve", Some("Li Lei"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["alert"]["state"], "resolved");
    assert_error(act("ack", None).await.unwrap(), 409, "conflict").await;
    let trail: Vec<(String, String, String)> =
        app.get_json(&format!("/api/v1/alerts/{id}/events")).await["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().into(),
                    e["actor"].as_str().unwrap().into(),
                    e["via"].as_str().unwrap().into(),
                )
            })
            .collect();
    let want = [
        ("fired", "source", "source"),
        ("acknowledged", "Li Lei", "api"),
        ("unacknowledged", "api", "api"),
        ("resolved", "Li Lei", "api"),
    ];
    assert_eq!(
        trail,
        want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    let missing = app
        .api(Method::POST, "/api/v1/alerts/0000000000000000/ack")
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found").await;
    let bogus = app
        .api(Method::POST, &format!("/api/v1/alerts/{id}/explode"))
        .send()
        .await
        .unwrap();
    assert_error(bogus, 404, "not_found").await;
}

#[tokio::test]
async fn listing_filters_by_state_and_readyz_checks_storage() {
    let app = spawn_app().await;
    for t in ["a", "b"] {
        app.post_alerts(&json!({"title": t})).await;
    }
    app.post_alerts(&json!({"title": "c", "status": "resolved"}))
        .await;
    let firing = app.get_json("/api/v1/alerts?state=firing").await;
    assert_eq!(firing["alerts"].as_array().unwrap().len(), 2);
    let res = app
        .api(Method::GET, "/api/v1/alerts?state=bogus")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid").await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["storage"], "ok");
}

#[tokio::test]
async fn state_silenced_lists_what_shows_silenced_and_firing_leaves_it_out() {
    let app = spawn_app().await;
    let quiet = app
        .post_alert(&json!({"title": "quiet", "labels": {"team": "db"}}))
        .await;
    let loud = app.post_alert(&json!({"title": "loud"})).await;
    let res = app
        .api(Method::POST, "/api/v1/silences")
        .json(&json!({"matchers": ["team=\"db\""], "duration": "1h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ids = |v: Value| -> Vec<String> {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(app.get_json("/api/v1/alerts?state=silenced").await),
        [quiet]
    );
    assert_eq!(
        ids(app.get_json("/api/v1/alerts?state=firing").await),
        [loud]
    );
}

#[tokio::test]
async fn every_400_is_json_naming_the_field_and_wrong_methods_are_405() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("state=silencd", "state"),
        ("lmit=5", "lmit"),
    ] {
        let res = app
            .api(Method::GET, &format!("/api/v1/alerts?{query}"))
            .send()
            .await
            .unwrap();
        let body = assert_error(res, 400, "invalid").await;
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let res = app
        .api(Method::POST, "/api/v1/alerts")
        .body(r#"{"title": "x", "serverity": "critical"}"#)
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "invalid").await;
    assert!(
        body["message"].as_str().unwrap().contains("serverity"),
        "{body}"
    );
    let res = app
        .api(Method::POST, "/api/v1/silences")
        .body(r#"{"matchers": [5], "duration": "1h"}"#)
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "matchers[0]", "{body}");
    for (method, path) in [
        (Method::GET, "/api/v1/alertmanager"),
        (Method::DELETE, "/api/v1/alerts"),
        (Method::GET, "/api/v1/silences/abc"),
        (Method::GET, "/api/v1/alerts/abc/ack"),
        (Method::PUT, "/api/v1/alerts/abc"),
        (Method::GET, "/-/reload"),
    ] {
        let res = app.api(method.clone(), path).send().await.unwrap();
        assert_error(res, 405, "method_not_allowed").await;
    }
}

#[tokio::test]
async fn firing_again_after_a_resolution_starts_a_new_firing() {
    let app = spawn_app().await;
    let firing = json!({"title": "flap", "fingerprint": "flap-start"});
    let id = app.post_alert(&firing).await;
    let path = format!("/api/v1/alerts/{id}");
    assert!(
        app.get_json(&path).await["starts_at"].is_null(),
        "none given"
    );
    app.post_alert(&json!({"title": "flap", "fingerprint": "flap-start", "status": "resolved"}))
        .await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    app.post_alert(&firing).await;
    let a = app.get_json(&path).await;
    assert_eq!(a["state"], "firing");
    let starts: chrono::DateTime<chrono::Utc> = a["starts_at"].as_str().unwrap().parse().unwrap();
    assert!(
        starts >= before,
        "this firing's start, not the first one's: {a}"
    );
}
