//! The storage backend through the `Store` trait: a real SQLite file, or a
//! real PostgreSQL database when `ACKBOT_TEST_DATABASE_URL` is set.

use ackbot::domain::{NewAlert, StateAction, alert};
use std::sync::Arc;

use ackbot::engine::Engine;
use ackbot::store::{ActionOutcome, Actor, Outcome, Store};
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
    Actor::new("Li Lei", "api")
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
        .apply(&id, StateAction::Ack, &li_lei(), None, now)
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
        s.apply(&id, StateAction::Ack, &li_lei(), None, now)
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
        .apply(&id, StateAction::Unack, &li_lei(), None, now)
        .await
        .unwrap()
    else {
        panic!("unack should change the alert");
    };
    assert_eq!((r.state, r.acked_by), ("firing", None));
    let ActionOutcome::Changed(r) = s
        .apply(&id, StateAction::Resolve, &li_lei(), None, now)
        .await
        .unwrap()
    else {
        panic!("resolve should change the alert");
    };
    assert_eq!(r.state, "resolved");
    assert_eq!(
        s.apply(&id, StateAction::Ack, &li_lei(), None, now)
            .await
            .unwrap(),
        ActionOutcome::Refused("the alert is resolved")
    );
    assert_eq!(
        s.apply("nope", StateAction::Ack, &li_lei(), None, now)
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
    s.apply(&id, StateAction::Resolve, &li_lei(), None, t)
        .await
        .unwrap();
    assert_eq!(s.list(Some("firing"), 10, t).await.unwrap().len(), 2);
    assert_eq!(s.list(Some("resolved"), 10, t).await.unwrap().len(), 1);
}

/// An engine that routes every alert to one channel, so outbox rows are
/// `pending` (claimable) rather than `unrouted`.
fn routed_engine() -> Engine {
    let channel: ackbot::config::ChannelConfig =
        toml::from_str("name = \"ops\"\ntype = \"webhook\"\nurl = \"https://127.0.0.1:9/hook\"")
            .unwrap();
    Engine {
        router: ackbot::engine::Router::new(&[channel], &[]),
        ..Engine::default()
    }
}

fn postgres() -> bool {
    std::env::var("ACKBOT_TEST_DATABASE_URL").is_ok()
}

/// Two stores on one database, as two replicas would be (PostgreSQL), or two
/// handles on one store (SQLite is a single instance).
async fn replicas(dir: &tempfile::TempDir) -> (Arc<dyn Store>, Arc<dyn Store>) {
    let url = crate::helpers::storage_url(dir.path()).await;
    let a = ackbot::store::open(&url, routed_engine()).await.unwrap();
    let b = if postgres() {
        ackbot::store::open(&url, routed_engine()).await.unwrap()
    } else {
        a.clone()
    };
    (a, b)
}

#[tokio::test]
async fn concurrent_claims_take_disjoint_rows_and_leases_expire() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = replicas(&dir).await;
    let now = Utc::now();
    let alerts: Vec<_> = (0..40)
        .map(|i| alert(json!({"title": format!("claim {i}"), "severity": "critical"})))
        .collect();
    a.ingest(alerts, now).await.unwrap();
    let lease = Duration::seconds(30);
    let mut claims = Vec::new();
    for round in 0..4 {
        let (x, y) = tokio::join!(
            a.claim_due("replica-a", 7, lease, now),
            b.claim_due("replica-b", 7, lease, now)
        );
        claims.extend(x.unwrap());
        claims.extend(y.unwrap());
        assert!(claims.len() <= 40, "round {round}");
    }
    let mut ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), claims.len(), "no row claimed twice");
    assert_eq!(claims.len(), 40, "every due row claimed");
    assert!(claims.iter().all(|c| c.channel == "ops" && c.attempts == 1));
    // Held rows are not claimed again until the lease ends.
    assert!(
        a.claim_due("replica-a", 100, lease, now)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + lease + Duration::seconds(1);
    let again = b.claim_due("replica-b", 100, lease, later).await.unwrap();
    assert_eq!(again.len(), 40);
    assert!(again.iter().all(|c| c.attempts == 2));
}

#[tokio::test]
async fn not_yet_due_rows_wait() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::storage_url(dir.path()).await;
    let s = ackbot::store::open(&url, routed_engine()).await.unwrap();
    let now = Utc::now();
    let a = alert(json!({"title": "burst"}));
    s.ingest(vec![a; 7], now).await.unwrap();
    // The firing notice is due now; the aggregated one at the window's end.
    let lease = Duration::minutes(5);
    let first = s.claim_due("w", 100, lease, now).await.unwrap();
    assert_eq!(
        first.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
        ["firing"]
    );
    let end = now + Duration::seconds(60);
    // Messages about one alert go in order: the aggregated notice waits
    // while the firing one is still out.
    assert!(s.claim_due("w2", 100, lease, end).await.unwrap().is_empty());
    let ids: Vec<i64> = first.iter().map(|c| c.id).collect();
    s.finish(&ids, &Outcome::Sent { message_id: None }, now)
        .await
        .unwrap();
    let second = s.claim_due("w", 100, lease, end).await.unwrap();
    assert_eq!(
        second.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
        ["aggregated"]
    );
}

#[tokio::test]
async fn replicas_racing_on_the_same_alerts_create_each_once() {
    if !postgres() {
        eprintln!("SQLite is a single instance; this runs with ACKBOT_TEST_DATABASE_URL");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = replicas(&dir).await;
    let now = Utc::now();
    let batch: Vec<_> = (0..50)
        .map(|i| alert(json!({"title": format!("race {i}")})))
        .collect();
    // Both replicas create the same alerts at once, then keep folding
    // occurrences into them: the creations race on UNIQUE (fingerprint), the
    // folds on the rows (FOR UPDATE), and nothing may be lost or doubled.
    const ROUNDS: usize = 24;
    let mut tasks = Vec::new();
    for round in 0..ROUNDS {
        let store = if round % 2 == 0 { a.clone() } else { b.clone() };
        let mut batch = batch.clone();
        batch.rotate_left(round * 7 % 50);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(round as u64 / 2)).await;
            store.ingest(batch, now).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = a.list(None, 1000, now).await.unwrap();
    assert_eq!(all.len(), 50, "one record per fingerprint");
    let counts: Vec<i64> = all.iter().map(|r| r.count).collect();
    assert!(
        counts.iter().all(|c| *c == ROUNDS as i64),
        "every occurrence counted once: {counts:?}"
    );
    for r in &all {
        let kinds: Vec<_> = a
            .notifications(&r.id)
            .await
            .unwrap()
            .iter()
            .map(|n| n.kind)
            .collect();
        // Six occurrences in the window: the first notifies, the sixth
        // schedules the summary; neither is decided twice.
        assert_eq!(kinds, ["firing", "aggregated"]);
    }
}

#[tokio::test]
async fn an_acknowledgement_holds_until_its_ttl_then_the_alert_pages_again() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::storage_url(dir.path()).await;
    let engine = Engine {
        ack_ttl: Duration::minutes(30),
        ..Engine::default()
    };
    let s = ackbot::store::open(&url, engine).await.unwrap();
    let t0 = Utc::now();
    let a = alert(json!({"title": "slow queries", "severity": "warning"}));
    let id = s.ingest(vec![a.clone()], t0).await.unwrap().remove(0);
    s.apply(&id, StateAction::Ack, &li_lei(), None, t0)
        .await
        .unwrap();
    // Still firing 10 minutes later: the ack holds, nobody is paged.
    s.ingest(vec![a.clone()], t0 + Duration::minutes(10))
        .await
        .unwrap();
    let r = s.get(&id).await.unwrap().unwrap();
    assert_eq!(r.state, "acknowledged");
    assert_eq!(s.notifications(&id).await.unwrap().len(), 1);
    // Past the TTL: the ack ends and the alert pages again.
    s.ingest(vec![a], t0 + Duration::minutes(40)).await.unwrap();
    let r = s.get(&id).await.unwrap().unwrap();
    assert_eq!((r.state, r.acked_by), ("firing", None));
    let kinds: Vec<_> = s
        .notifications(&id)
        .await
        .unwrap()
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds, ["firing", "firing"]);
    let events: Vec<_> = s
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.actor))
        .collect();
    assert_eq!(
        events.last().unwrap(),
        &("ack expired".to_string(), "ackbot".to_string())
    );
}

#[tokio::test]
async fn retention_prunes_old_resolved_alerts_with_their_rows_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::helpers::storage_url(dir.path()).await;
    let s = ackbot::store::open(&url, routed_engine()).await.unwrap();
    let now = Utc::now();
    let old = now - Duration::days(40);
    let lease = Duration::minutes(5);
    // Resolved long ago and delivered: pruned with its events and outbox rows.
    let gone = alert(json!({"title": "old and done", "fingerprint": "gone"}));
    let gone_id = s.ingest(vec![gone.clone()], old).await.unwrap()[0].clone();
    let mut resolved = gone.clone();
    resolved.status = ackbot::domain::AlertStatus::Resolved;
    s.ingest(vec![resolved], old + Duration::minutes(1))
        .await
        .unwrap();
    let claimed = s.claim_due("w", 100, lease, now).await.unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    s.finish(&ids, &Outcome::Sent { message_id: None }, now)
        .await
        .unwrap();
    let claimed = s.claim_due("w", 100, lease, now).await.unwrap();
    let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
    s.finish(&ids, &Outcome::Sent { message_id: None }, now)
        .await
        .unwrap();
    // Resolved long ago but a delivery still pending: kept until it is sent.
    let waiting = alert(json!({"title": "old, still telling", "fingerprint": "waiting"}));
    let waiting_id = s.ingest(vec![waiting.clone()], old).await.unwrap()[0].clone();
    let mut w = waiting.clone();
    w.status = ackbot::domain::AlertStatus::Resolved;
    s.ingest(vec![w], old).await.unwrap();
    // Resolved recently, and firing: kept.
    let recent = alert(json!({"title": "recent", "fingerprint": "recent", "status": "resolved"}));
    let recent_id = s.ingest(vec![recent], now).await.unwrap()[0].clone();
    let firing_id = s
        .ingest(
            vec![alert(json!({"title": "firing", "fingerprint": "firing"}))],
            old,
        )
        .await
        .unwrap()[0]
        .clone();

    ackbot::watch::retention::pass(s.as_ref(), std::time::Duration::from_secs(30 * 24 * 3600))
        .await;
    assert!(s.get(&gone_id).await.unwrap().is_none());
    assert!(s.events(&gone_id).await.unwrap().is_empty());
    assert!(s.notifications(&gone_id).await.unwrap().is_empty());
    for id in [&waiting_id, &recent_id, &firing_id] {
        assert!(s.get(id).await.unwrap().is_some(), "{id} kept");
    }
    assert!(!s.events(&waiting_id).await.unwrap().is_empty());
    // The same fingerprint firing again is a new record.
    let again = s.ingest(vec![gone], now).await.unwrap()[0].clone();
    assert_ne!(again, gone_id);
}

#[tokio::test]
async fn retention_deletes_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let old = Utc::now() - Duration::days(40);
    let alerts: Vec<NewAlert> = (0..1200)
        .map(|i| alert(json!({"title": format!("a{i}"), "status": "resolved"})))
        .collect();
    s.ingest(alerts, old).await.unwrap();
    let before = Utc::now() - Duration::days(30);
    let first = s.prune(before, 500).await.unwrap();
    assert_eq!(first.alerts, 500);
    ackbot::watch::retention::pass(s.as_ref(), std::time::Duration::from_secs(30 * 24 * 3600))
        .await;
    assert!(s.list(None, 10, Utc::now()).await.unwrap().is_empty());
}

#[tokio::test]
async fn id_prefixes_find_exactly_the_ids_they_begin() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..40 {
        let a = alert(json!({"title": format!("prefix {i}"), "service": "pay"}));
        ids.extend(s.ingest(vec![a], now).await.unwrap());
    }
    ids.sort();
    for id in &ids {
        assert_eq!(id.len(), ackbot::store::ID_LEN);
        // The whole id, and its prefixes down to where it stops being unique.
        assert_eq!(s.find_ids(id, 5).await.unwrap(), vec![id.clone()]);
        assert_eq!(
            s.find_ids(&id.to_ascii_uppercase(), 5).await.unwrap(),
            vec![id.clone()]
        );
        for len in 1..=id.len() {
            let p = &id[..len];
            let expected: Vec<&String> = ids.iter().filter(|i| i.starts_with(p)).take(5).collect();
            let found = s.find_ids(p, 5).await.unwrap();
            assert_eq!(found.iter().collect::<Vec<_>>(), expected, "prefix {p}");
        }
    }
    // Sixteen prefixes of one hex digit cover 40 ids: some are ambiguous.
    let firsts: std::collections::BTreeSet<&str> = ids.iter().map(|i| &i[..1]).collect();
    assert!(firsts.len() < ids.len());
    // `%`, `_` and other non-hex characters find nothing (and widen nothing).
    for bad in ["%", "_", "a%", "g", "", "0x"] {
        assert!(s.find_ids(bad, 5).await.unwrap().is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn ci_series_puts_apply_only_at_the_version_read_even_across_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = replicas(&dir).await;
    // First writes: one wins per key, whichever replica.
    assert!(a.ci_put("k1", 0, "s1", false).await.unwrap());
    assert!(!b.ci_put("k1", 0, "other", false).await.unwrap());
    // b read nothing yet: it reads the store, and sees a's write.
    let row = b.ci_load("k1").await.unwrap().unwrap();
    assert_eq!(
        (row.version, row.state.as_str(), row.pending),
        (1, "s1", false)
    );
    // a's cached row is now stale once b writes; a's put fails, then a
    // reads the store again.
    assert!(b.ci_put("k1", 1, "s2", true).await.unwrap());
    // (On SQLite a and b are one store: one cache, already up to date.)
    let cached = a.ci_load("k1").await.unwrap().unwrap().version;
    assert_eq!(cached, if postgres() { 1 } else { 2 }, "cached");
    assert!(!a.ci_put("k1", 1, "s-stale", false).await.unwrap());
    let row = a.ci_load("k1").await.unwrap().unwrap();
    assert_eq!(
        (row.version, row.state.as_str(), row.pending),
        (2, "s2", true)
    );
    // Many keys at once (one batch): each applied, and a stale version
    // among them is refused alone.
    let puts = (0..40).map(|i| {
        let a = a.clone();
        async move { a.ci_put(&format!("m{i}"), 0, "x", false).await.unwrap() }
    });
    assert!(
        futures_util::future::join_all(puts)
            .await
            .into_iter()
            .all(|ok| ok)
    );
    let mixed = (0..40).map(|i| {
        let a = a.clone();
        // Even keys at their version (1), odd ones at a stale 0.
        async move {
            a.ci_put(&format!("m{i}"), if i % 2 == 0 { 1 } else { 0 }, "y", false)
                .await
                .unwrap()
        }
    });
    let results = futures_util::future::join_all(mixed).await;
    for (i, ok) in results.into_iter().enumerate() {
        assert_eq!(ok, i % 2 == 0, "m{i}");
    }
    assert_eq!(b.ci_load("m2").await.unwrap().unwrap().state, "y");
    assert_eq!(b.ci_load("m3").await.unwrap().unwrap().state, "x");
}
