//! Silences through the API: by matcher, by alert, expiry on time and early.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn ingest(app: &TestApp, alert: Value) -> String {
    let body: Value = app.post_alerts(&alert).await.json().await.unwrap();
    body["ids"][0].as_str().unwrap().to_string()
}

async fn state(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/alerts/{id}")).await
}

async fn post_silence(app: &TestApp, body: Value) -> reqwest::Response {
    app.api(Method::POST, "/api/v1/silences")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_silence_covers_exactly_the_alerts_its_matchers_match() {
    let app = spawn_app().await;
    let db = ingest(
        &app,
        json!({"title": "DB down", "severity": "critical", "labels": {"team": "db"}}),
    )
    .await;
    let infra = ingest(
        &app,
        json!({"title": "disk", "severity": "warning", "labels": {"team": "infra"}}),
    )
    .await;
    let web = ingest(
        &app,
        json!({"title": "5xx", "severity": "critical", "labels": {"team": "web"}}),
    )
    .await;
    let res = post_silence(
        &app,
        json!({"matchers": ["team=~\"db|infra\""], "duration": "1h", "created_by": "Li Lei", "comment": "maintenance"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let silence: Value = res.json().await.unwrap();
    assert_eq!(silence["silence"]["status"], "active");
    assert_eq!(
        silence["silence"]["matchers"],
        json!(["team=~\"db|infra\""])
    );
    for (id, want) in [(&db, "silenced"), (&infra, "silenced"), (&web, "firing")] {
        let a = state(&app, id).await;
        assert_eq!(a["state"], want, "{a}");
        assert_eq!(a["silenced_until"].is_string(), want == "silenced");
    }
    // Derived labels: severity works on native alerts without a severity label.
    post_silence(
        &app,
        json!({"matchers": ["severity=\"critical\"", "alertname=\"5xx\""], "duration": "1h"}),
    )
    .await;
    assert_eq!(state(&app, &web).await["state"], "silenced");
    let listed = app.get_json("/api/v1/silences").await;
    assert_eq!(listed["silences"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn silences_end_on_time_and_can_be_ended_early() {
    let app = spawn_app().await;
    let id = ingest(&app, json!({"title": "flappy", "labels": {"svc": "a"}})).await;
    let ends = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    post_silence(&app, json!({"matchers": ["svc=\"a\""], "ends_at": ends})).await;
    assert_eq!(state(&app, &id).await["state"], "silenced");
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    assert_eq!(
        state(&app, &id).await["state"],
        "firing",
        "expired on time, with no timer to miss"
    );
    let all = app.get_json("/api/v1/silences?all=true").await;
    assert_eq!(all["silences"][0]["status"], "expired");
    assert_eq!(
        app.get_json("/api/v1/silences").await["silences"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    let created: Value = post_silence(&app, json!({"matchers": ["svc=\"a\""], "duration": "2h"}))
        .await
        .json()
        .await
        .unwrap();
    let sid = created["silence"]["id"].as_str().unwrap();
    assert_eq!(state(&app, &id).await["state"], "silenced");
    let res = app
        .api(Method::DELETE, &format!("/api/v1/silences/{sid}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap()["silence"]["status"],
        "expired"
    );
    assert_eq!(state(&app, &id).await["state"], "firing");
    let missing = app
        .api(Method::DELETE, "/api/v1/silences/0000000000000000")
        .send()
        .await
        .unwrap();
    assert_error(missing, 404, "not_found").await;
}

#[tokio::test]
async fn silencing_one_alert_targets_its_fingerprint_and_is_audited() {
    let app = spawn_app().await;
    let id = ingest(&app, json!({"title": "noisy", "labels": {"env": "prod"}})).await;
    let twin = ingest(&app, json!({"title": "noisy", "labels": {"env": "dev"}})).await;
    let res = app
        .api(Method::POST, &format!("/api/v1/alerts/{id}/silence"))
        .json(&json!({"duration": "1h", "by": "Li Lei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["alert"]["state"], "silenced");
    assert_eq!(body["silence"]["created_by"], "Li Lei");
    assert_eq!(
        state(&app, &twin).await["state"],
        "firing",
        "only that fingerprint"
    );
    // Acknowledged is not silenced, and resolving still shows resolved.
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["actor"].as_str()),
        (Some("silenced"), Some("Li Lei"))
    );
    app.api(Method::POST, &format!("/api/v1/alerts/{id}/resolve"))
        .send()
        .await
        .unwrap();
    assert_eq!(state(&app, &id).await["state"], "resolved");
}

#[tokio::test]
async fn bad_silences_are_refused_with_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (json!({"matchers": [], "duration": "1h"}), "matchers"),
        (
            json!({"matchers": ["bad name=\"x\""], "duration": "1h"}),
            "matchers",
        ),
        (
            json!({"matchers": ["a=~\"(\""], "duration": "1h"}),
            "matchers",
        ),
        (json!({"matchers": ["a=\"b\""]}), "ends_at"),
        (
            json!({"matchers": ["a=\"b\""], "duration": "1h", "ends_at": "2030-01-01T00:00:00Z"}),
            "duration",
        ),
        (
            json!({"matchers": ["a=\"b\""], "duration": "forever"}),
            "duration",
        ),
        (
            json!({"matchers": ["a=\"b\""], "ends_at": "2020-01-01T00:00:00Z"}),
            "ends_at",
        ),
        // Would silence every alert (a label that is absent matches "").
        (
            json!({"matchers": ["team=~\".*\""], "duration": "1h"}),
            "matchers",
        ),
        (
            json!({"matchers": ["env!=\"dev\""], "duration": "1h"}),
            "matchers",
        ),
        (
            json!({"matchers": "team=\"db\"", "duration": "1h"}),
            "matchers",
        ),
        (
            json!({"matchers": ["a=\"b\""], "duration": "1h", "by": ""}),
            "by",
        ),
    ] {
        let res = assert_error(post_silence(&app, body.clone()).await, 400, "invalid").await;
        assert_eq!(res["field"], field, "{body}: {res}");
    }
    let res = app
        .api(Method::POST, "/api/v1/alerts/0000000000000000/silence")
        .json(&json!({"duration": "1h"}))
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
    let unauth = app
        .client
        .post(app.url("/api/v1/silences"))
        .json(&json!({"matchers": ["a=\"b\""], "duration": "1h"}))
        .send()
        .await
        .unwrap();
    assert_error(unauth, 401, "missing_token").await;
    assert_eq!(
        app.get_json("/api/v1/silences?all=true").await["silences"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn silences_name_who_acts_by_like_every_other_endpoint_and_a_missing_one_is_no_silence() {
    let app = spawn_app().await;
    let res = post_silence(
        &app,
        json!({"matchers": ["team=\"db\""], "duration": "1h", "by": "Han Meimei"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["silence"]["created_by"], "Han Meimei");
    // The older name still works.
    let res = post_silence(
        &app,
        json!({"matchers": ["team=\"db\""], "duration": "1h", "created_by": "Li Lei"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = app
        .api(Method::DELETE, "/api/v1/silences/nope")
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 404, "not_found").await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("no silence with id"),
        "{body}"
    );
    let res = app
        .api(Method::GET, "/api/v1/silences?all=maybe")
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "all");
}
