//! The process around the alert path: a writer that meets a bug, a crash in
//! the middle of a link press, stops and restarts, config reloads.

use std::time::Duration;

use ackbot::faults::{Fault, Faults};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::{MockBot, Reply};
use crate::process::{Ackbot, config_in};

fn faulty() -> AppOptions {
    AppOptions {
        faults: std::sync::Arc::new(Faults::none()),
        ..AppOptions::default()
    }
}

/// The test config with `extra` appended, as a file, with the storage the
/// test pass uses (SQLite, or PostgreSQL in CI's second pass).
async fn file_config(dir: &std::path::Path, extra: &str) -> String {
    let sqlite = format!(
        "url = \"sqlite://{}\"",
        dir.join("data/ackbot.db").display()
    );
    let storage = format!("url = \"{}\"", storage_url(dir).await);
    format!(
        "{}\n{extra}\n",
        test_config_toml(dir).replace(&sqlite, &storage)
    )
}

#[tokio::test]
async fn a_panic_while_writing_fails_only_that_request_and_the_writer_goes_on() {
    let app = spawn_app_with_options(tempfile::tempdir().unwrap(), |_| {}, faulty()).await;
    app.post_alert(&json!({"title": "before"})).await;
    app.faults.arm("store.plan", Fault::Panic, Some(1));
    let res = app.post_alerts(&json!({"title": "unlucky"})).await;
    let body = assert_error(res, 500, "internal").await;
    assert!(
        !body["message"].as_str().unwrap().contains("injected"),
        "the cause stays in the log: {body}"
    );
    // Nothing of the failed request was stored; the next one is.
    let titles: Vec<Value> = app.get_json("/api/v1/alerts").await["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].clone())
        .collect();
    assert_eq!(titles, [json!("before")]);
    app.post_alert(&json!({"title": "after"})).await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(!app.run.is_finished());
}

#[tokio::test]
async fn a_writer_that_stops_ends_the_run_with_an_error() {
    let app = spawn_app_with_options(tempfile::tempdir().unwrap(), |_| {}, faulty()).await;
    app.faults.arm("store.writer", Fault::Panic, Some(1));
    let res = app.post_alerts(&json!({"title": "kills the writer"})).await;
    assert_eq!(res.status(), 503);
    // The server stops at once (readiness is 503 meanwhile: a unit test in
    // inbound::health), so a supervisor restarts it.
    let run = tokio::time::timeout(Duration::from_secs(10), app.run)
        .await
        .expect("the server stops by itself")
        .unwrap();
    let e = run.expect_err("a stopped background task is an error");
    assert!(e.to_string().contains("storage writer"), "{e}");
}

#[tokio::test]
async fn the_real_binary_exits_non_zero_when_its_writer_dies() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "").await;
    let mut ackbot = Ackbot::start(
        dir.path(),
        &config,
        &[("ACKBOT_FAULTS", "store.writer=panic")],
    )
    .await;
    let res = ackbot
        .api(reqwest::Method::POST, "/api/v1/alerts")
        .json(&json!({"title": "x"}))
        .send()
        .await;
    assert!(res.is_err() || res.unwrap().status() == 503);
    let code = ackbot.wait(Duration::from_secs(15)).await;
    assert_eq!(code, Some(1), "{}", ackbot.log());
    assert!(ackbot.log().contains("storage writer"));
}

const LINK_SECRET: &str = "link-secret-0123456789abcdef-0123456789";

fn link_token(alert_id: &str, action: &str) -> String {
    let expires = now_secs() + 3600;
    ackbot::verify::links::sign(LINK_SECRET.as_bytes(), alert_id, action, expires)
}

#[tokio::test]
async fn a_crash_between_marking_a_link_used_and_acting_leaves_both_undone() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("[links]\nsecret = \"{LINK_SECRET}\"\n",);
    let config = config_in(dir.path(), &extra).await;
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    let res = ackbot
        .api(reqwest::Method::POST, "/api/v1/alerts")
        .json(&json!({"title": "Payment DB down", "severity": "critical"}))
        .send()
        .await
        .unwrap();
    let id = res.json::<Value>().await.unwrap()["ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    ackbot.term().await;

    // The press reaches the crash point inside its transaction: the process
    // dies there, like kill -9.
    let mut crashing = Ackbot::start(
        dir.path(),
        &config,
        &[("ACKBOT_FAULTS", "link.commit=abort")],
    )
    .await;
    let token = link_token(&id, "ack");
    let press = crashing.press(&token, "Li Lei").await;
    assert!(press.is_err(), "no answer from a process that died");
    crashing.wait(Duration::from_secs(10)).await;

    // After the restart: the alert is still firing and the link still works.
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    let alert = ackbot.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "firing", "{alert}");
    let res = ackbot.press(&token, "Li Lei").await.unwrap();
    assert_eq!(res.status(), 200);
    let alert = ackbot.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["acked_by"], "Li Lei");
    // And now it is spent.
    let again = ackbot.press(&token, "Li Lei").await.unwrap();
    assert_eq!(again.status(), 410);
}

#[tokio::test]
async fn sigterm_with_an_idle_keep_alive_client_is_gone_in_under_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path(), "").await;
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    // An HTTP/1.1 client that keeps its connection open, like a Prometheus scrape.
    let keep_alive = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(dir.path().join("certs/server.crt")).unwrap(),
            )
            .unwrap(),
        )
        .http1_only()
        .pool_idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let res = keep_alive.get(ackbot.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap();
    let (took, code) = ackbot.term().await;
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn sigterm_lets_a_slow_send_finish_then_a_restart_sends_what_is_due_at_once() {
    // The first send takes 1.5 s; the rest are answered at once.
    let (mock, dir, config) = slow_webhook(Duration::from_millis(1500), "3s").await;
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    assert_eq!(post_to(&ackbot, "slow one").await, 202);
    // The slow send is in flight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (took, code) = ackbot.term().await;
    assert_eq!(code, Some(0));
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(4),
        "waited for the send in flight, within its timeout: {took:?}"
    );
    let got = mock.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["alerts"][0]["title"], "slow one");

    // Restarted, nothing is sent twice, and new alerts go out at once.
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    let started = std::time::Instant::now();
    assert_eq!(post_to(&ackbot, "after restart").await, 202);
    mock.wait_for(2, Duration::from_secs(10)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(mock.received().len(), 2, "the slow one was recorded sent");
    drop(ackbot);
}

/// A webhook mock whose first answer takes `delay`, and a config sending
/// to it with that `timeout`.
async fn slow_webhook(delay: Duration, timeout: &str) -> (MockBot, tempfile::TempDir, String) {
    let mock = MockBot::webhook(None).await;
    mock.script([Reply::Delay(delay)]);
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[delivery]\ntimeout = \"{timeout}\"\n\n[[channels]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n",
        mock.url()
    );
    let config = config_in(dir.path(), &extra).await;
    (mock, dir, config)
}

async fn post_to(ackbot: &Ackbot, title: &str) -> u16 {
    ackbot
        .api(reqwest::Method::POST, "/api/v1/alerts")
        .json(&json!({"title": title, "severity": "error"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn rows_claimed_by_a_killed_process_are_sent_as_soon_as_it_restarts() {
    if std::env::var("ACKBOT_TEST_DATABASE_URL").is_ok() {
        // On PostgreSQL another replica may hold a lease: rows of a killed
        // replica wait for theirs (a clean stop hands them back, above).
        return;
    }
    let (mock, dir, config) = slow_webhook(Duration::from_secs(10), "20s").await;
    let ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    assert_eq!(post_to(&ackbot, "claimed then killed").await, 202);
    mock.wait_for(1, Duration::from_secs(10)).await;
    ackbot.kill9().await;
    // Its lease would run for minutes; a single instance takes it back at start.
    let started = std::time::Instant::now();
    let _ackbot = Ackbot::start(dir.path(), &config, &[]).await;
    let got = mock.wait_for(2, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got[1].body["alerts"][0]["title"], "claimed then killed");
}

#[tokio::test]
async fn sighup_applies_a_valid_config_and_keeps_the_old_one_when_the_new_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let base = config_in(dir.path(), "").await;
    let ackbot = Ackbot::start(dir.path(), &base, &[]).await;
    let second = "second-api-token-0123456789";
    let with_second = |token: &str| {
        ackbot
            .client
            .get(ackbot.url("/api/v1/alerts"))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(with_second(second).await.unwrap().status(), 401);

    // A second token, and a changed listen address that needs a restart.
    let valid = base
        .replace(
            &format!("tokens = [\"{API_TOKEN}\"]"),
            &format!("tokens = [\"{API_TOKEN}\", \"{second}\"]"),
        )
        .replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\"");
    std::fs::write(dir.path().join("ackbot.toml"), &valid).unwrap();
    ackbot.hup();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while with_second(second).await.unwrap().status() != 200 {
        assert!(std::time::Instant::now() < deadline, "{}", ackbot.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = ackbot.log();
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(
        log.contains("server.listen"),
        "named as needing a restart: {log}"
    );

    // An invalid file: the old config stays in force.
    std::fs::write(
        dir.path().join("ackbot.toml"),
        format!("{valid}\n[aggregation]\nthreshold = 0\n"),
    )
    .unwrap();
    ackbot.hup();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ackbot.log().contains("configuration NOT reloaded") {
        assert!(std::time::Instant::now() < deadline, "{}", ackbot.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ackbot.log().contains("aggregation.threshold"));
    assert_eq!(with_second(second).await.unwrap().status(), 200);
    assert_eq!(with_second(API_TOKEN).await.unwrap().status(), 200);
    let (_, code) = ackbot.term().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn post_reload_swaps_a_wrong_channel_secret_and_retry_sends_the_failed_deliveries() {
    let mock = MockBot::dingtalk_bot("SECright-secret").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ackbot.toml");
    let channel = |secret: &str| {
        format!(
            "[[channels]]\nname = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"{secret}\"\nrate_per_minute = 0\n",
            mock.url()
        )
    };
    let wrong = file_config(dir.path(), &channel("SECwrong-secret")).await;
    let right = file_config(dir.path(), &channel("SECright-secret")).await;
    std::fs::write(&path, &wrong).unwrap();
    let options = AppOptions {
        config_path: Some(path.clone()),
        ..AppOptions::default()
    };
    let app = spawn_app_with_options(
        dir,
        move |c| *c = ackbot::config::Config::from_toml(&wrong, "test", &|_| None).unwrap(),
        options,
    )
    .await;
    let id = app
        .post_alert(&json!({"title": "Disk full", "severity": "error"}))
        .await;
    let failed = wait_deliveries(&app, &id, |d| d[0]["status"] == "failed").await;
    assert!(
        failed[0]["last_error"].as_str().unwrap().contains("310000"),
        "{failed:?}"
    );
    let delivery = failed[0]["id"].as_i64().unwrap();

    // Fix the secret in the file and reload through the API.
    std::fs::write(&path, &right).unwrap();
    let res = app
        .api(reqwest::Method::POST, "/-/reload")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    // An unknown delivery is 404; this one is put back and sent.
    let bogus = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{id}/deliveries/999999/retry"),
        )
        .send()
        .await
        .unwrap();
    assert_error(bogus, 404, "not_found").await;
    let res = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{id}/deliveries/{delivery}/retry"),
        )
        .json(&json!({"by": "Li Lei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sent = wait_deliveries(&app, &id, |d| d[0]["status"] == "sent").await;
    assert_eq!(sent[0]["attempts"], 1, "counted afresh");
    assert!(mock.received().last().unwrap().verified);
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    let retried = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"].as_str().unwrap().contains("retried"))
        .expect("the retry is audited")
        .clone();
    assert_eq!(retried["actor"], "Li Lei");
    assert_eq!(retried["via"], "api");
    // Sent now: retrying it again is refused.
    let again = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{id}/deliveries/{delivery}/retry"),
        )
        .send()
        .await
        .unwrap();
    assert_error(again, 409, "conflict").await;

    // An invalid file through the API: 500 naming the key, old config kept.
    std::fs::write(&path, "[aggregation]\nthreshold = 0\n").unwrap();
    let res = app
        .api(reqwest::Method::POST, "/-/reload")
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 500, "invalid_config").await;
    assert_eq!(body["field"], "aggregation.threshold");
    app.post_alert(&json!({"title": "still served"})).await;
}

#[tokio::test]
async fn retry_of_a_channel_puts_back_every_failed_delivery() {
    let mock = MockBot::webhook(Some("right")).await;
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app_in(dir, |c| {
        c.channels = vec![channel(&format!(
            "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nsecret = \"wrong\"",
            mock.url()
        ))];
        c.delivery.max_backoff = Duration::from_secs(1);
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(app.post_alert(&json!({"title": format!("a{i}")})).await);
    }
    for id in &ids {
        wait_deliveries(&app, id, |d| d[0]["status"] == "failed").await;
    }
    let res = app
        .api(reqwest::Method::POST, "/api/v1/channels/hook/retry")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["retried"], 3);
    // Still the wrong secret: each is tried once more and fails again.
    mock.wait_for(6, Duration::from_secs(20)).await;
    for id in &ids {
        wait_deliveries(&app, id, |d| d[0]["status"] == "failed").await;
        let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
        assert!(events.to_string().contains("deliveries to hook retried"));
    }
    assert_eq!(mock.received().len(), 6);
}

/// Polls the alert until its deliveries satisfy `done`.
async fn wait_deliveries(app: &TestApp, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let d = app.get_json(&format!("/api/v1/alerts/{id}")).await["deliveries"]
            .as_array()
            .unwrap()
            .clone();
        if !d.is_empty() && done(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries: {d:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
