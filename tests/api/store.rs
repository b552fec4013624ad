//! The storage backend through the `Store` trait: a real SQLite file, or a
//! real PostgreSQL database when `ACKBOT_TEST_DATABASE_URL` is set.

use ackbot::domain::{NewAlert, StateAction, alert};
use std::sync::Arc;

use ackbot::engine::Engine;
use ackbot::store::{ActionOutcome, Actor, Store};
use chrono::{Duration, Utc};
use serde_json::json;

async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = crate::helpers::storage_url(dir.path()).await;
    ackbot::store::open(&url, Engine::default()).await.unwrap()
}

fn alert(v: serde_json::Value) -> NewAlert {
    alert::from_json(v).unwrap()
}

fn li_lei() -> Actor {
    Actor {
        name: "Li Lei".into(),
        via: "api",
    }
}

#[tokio::test]
async fn occurrences_fold_into_one_record_by_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let t0 = Utc::now();
    let a = alert(json!({"title": "DB down", "service": "pay", "severity": "critical"}));
    let ids = s.ingest(vec![a.clone(), a.clone()], t0).await.unwrap();
    assert_eq!(ids[0], ids[1]);
    let later = t0 + Duration::seconds(30);
    let ids2 = s.ingest(vec![a], later).await.unwrap();
    assert_eq!(ids2[0], ids[0]);
    let r = s.get(&ids[0]).await.unwrap().unwrap();
    assert_eq!(r.count, 3);
    assert_eq!(r.state, "firing");
    assert_eq!(r.first_seen.timestamp_millis(), t0.timestamp_millis());
    assert_eq!(r.last_seen.timestamp_millis(), later.timestamp_millis());
    // A different title is a different alert.
    let other = s
        .ingest(
            vec![alert(json!({"title": "DB slow", "service": "pay"}))],
            t0,
        )
        .await
        .unwrap();
    assert_ne!(other[0], ids[0]);
    assert_eq!(s.list(None, 10, Utc::now()).await.unwrap().len(), 2);
    assert_eq!(
        s.events(&ids[0]).await.unwrap().len(),
        1,
        "folding is not a state change"
    );
}

#[tokio::test]
async fn resolution_and_refiring_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let now = Utc::now();
    let firing = alert(json!({"title": "disk full", "fingerprint": "fp-1", "content": "95%"}));
    let resolved = alert(
        json!({"title": "disk full", "fingerprint": "fp-1", "status": "resolved", "content": "ok"}),
    );
    let id = s.ingest(vec![firing.clone()], now).await.unwrap().remove(0);
    s.ingest(vec![resolved], now).await.unwrap();
    let r = s.get(&id).await.unwrap().unwrap();
    assert_eq!(r.state, "resolved");
    assert!(r.resolved_at.is_some());
    assert_eq!(r.count, 1, "a resolution is not an occurrence");
    assert_eq!(r.content, "95%", "the last firing content is kept");
    s.ingest(vec![firing], now).await.unwrap();
    let r = s.get(&id).await.unwrap().unwrap();
    assert_eq!((r.state, r.count, r.resolved_at), ("firing", 2, None));
    let kinds: Vec<_> = s
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["fired", "resolved", "refired"]);
}

#[tokio::test]
async fn ack_unack_resolve_follow_the_table_and_leave_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let now = Utc::now();
    let id = s
        .ingest(vec![alert(json!({"title": "x"}))], now)
        .await
        .unwrap()
        .remove(0);

    let ActionOutcome::Changed(r) = s
        .apply(&id, StateAction::Ack, &li_lei(), now)
        .await
        .unwrap()
    else {
        panic!("ack should change the alert");
    };
    assert_eq!(
        (r.state, r.acked_by.as_deref()),
        ("acknowledged", Some("Li Lei"))
    );
    assert!(matches!(
        s.apply(&id, StateAction::Ack, &li_lei(), now)
            .await
            .unwrap(),
        ActionOutcome::Unchanged(_)
    ));
    // Firing again does not undo an acknowledgement.
    s.ingest(vec![alert(json!({"title": "x"}))], now)
        .await
        .unwrap();
    assert_eq!(s.get(&id).await.unwrap().unwrap().state, "acknowledged");
    let ActionOutcome::Changed(r) = s
        .apply(&id, StateAction::Unack, &li_lei(), now)
        .await
        .unwrap()
    else {
        panic!("unack should change the alert");
    };
    assert_eq!((r.state, r.acked_by), ("firing", None));
    let ActionOutcome::Changed(r) = s
        .apply(&id, StateAction::Resolve, &li_lei(), now)
        .await
        .unwrap()
    else {
        panic!("resolve should change the alert");
    };
    assert_eq!(r.state, "resolved");
    assert_eq!(
        s.apply(&id, StateAction::Ack, &li_lei(), now)
            .await
            .unwrap(),
        ActionOutcome::Refused("the alert is resolved")
    );
    assert_eq!(
        s.apply("nope", StateAction::Ack, &li_lei(), now)
            .await
            .unwrap(),
        ActionOutcome::NotFound
    );

    let trail = s.events(&id).await.unwrap();
    let summary: Vec<_> = trail
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str(), e.via.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("fired", "source", "source"),
            ("acknowledged", "Li Lei", "api"),
            ("unacknowledged", "Li Lei", "api"),
            ("resolved", "Li Lei", "api"),
        ]
    );
}

#[tokio::test]
async fn committed_alerts_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let s = store(&dir).await;
        s.ingest(
            vec![alert(json!({"title": "kept", "labels": {"env": "prod"}}))],
            Utc::now(),
        )
        .await
        .unwrap()
        .remove(0)
    };
    let s = store(&dir).await;
    let r = s.get(&id).await.unwrap().unwrap();
    assert_eq!(r.title, "kept");
    assert_eq!(r.labels.get("env"), Some("prod"));
    s.ping().await.unwrap();
}

#[tokio::test]
async fn list_is_newest_first_and_filters_by_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let t = Utc::now();
    for (i, title) in ["a", "b", "c"].iter().enumerate() {
        s.ingest(
            vec![alert(json!({"title": title}))],
            t + Duration::seconds(i as i64),
        )
        .await
        .unwrap();
    }
    let titles: Vec<_> = s
        .list(None, 10, t)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.title)
        .collect();
    assert_eq!(titles, ["c", "b", "a"]);
    let id = s.list(None, 1, t).await.unwrap()[0].id.clone();
    s.apply(&id, StateAction::Resolve, &li_lei(), t)
        .await
        .unwrap();
    assert_eq!(s.list(Some("firing"), 10, t).await.unwrap().len(), 2);
    assert_eq!(s.list(Some("resolved"), 10, t).await.unwrap().len(), 1);
}
