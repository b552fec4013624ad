//! Signed action links (`/a/{token}`) end to end: the confirmation page a
//! card button opens (GET, which changes nothing), and the form that acts
//! (POST, once per link), with the state and audit trail checked through
//! `/api/v1`. Refused links (expired, tampered, another secret, used) must
//! leave the alert exactly as it was.

use std::time::Duration;

use ackbot::config::{Config, LinksConfig, Secret};
use ackbot::verify::links::sign;
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::*;

const SECRET: &str = "test-link-secret-0123456789abcdefghij";
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

fn with_links(config: &mut Config) {
    config.links = Some(LinksConfig {
        secret: Secret::new(SECRET),
        ttl: Duration::from_secs(3600),
    });
    config.server.public_url = Some("https://ackbot.example.test".into());
    config.validate().unwrap();
}

async fn spawn() -> TestApp {
    spawn_app_with(with_links).await
}

async fn firing_alert(app: &TestApp) -> String {
    app.post_alert(
        &json!({"title": "Payment DB unreachable", "severity": "critical", "service": "payment"}),
    )
    .await
}

/// A token for `action` on `id`, expiring `in_secs` from now (negative: past).
fn token(id: &str, action: &str, in_secs: i64) -> String {
    sign(SECRET.as_bytes(), id, action, now_secs() + in_secs)
}

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

async fn page(res: reqwest::Response) -> Page {
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

async fn get_link(app: &TestApp, token: &str, cookie: Option<&str>) -> Page {
    let mut req = app.client.get(app.url(&format!("/a/{token}")));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    page(req.send().await.unwrap()).await
}

async fn post_link(app: &TestApp, token: &str, name: &str) -> Page {
    let res = app
        .client
        .post(app.url(&format!("/a/{token}")))
        .form(&[("name", name)])
        .send()
        .await
        .unwrap();
    page(res).await
}

/// What a refused link must not change: the alert's state fields and its trail.
async fn snapshot(app: &TestApp, id: &str) -> (Value, Value) {
    let a = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await["events"].clone();
    (
        json!({"state": a["state"], "acked_by": a["acked_by"], "silenced_until": a["silenced_until"],
               "resolved_at": a["resolved_at"]}),
        events,
    )
}

async fn events(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
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
        .collect()
}

fn assert_page_headers(p: &Page) {
    let h = |name: &str| p.headers.get(name).and_then(|v| v.to_str().ok());
    assert_eq!(h("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(h("content-security-policy"), Some(CSP));
    assert_eq!(h("x-content-type-options"), Some("nosniff"));
    assert_eq!(h("referrer-policy"), Some("no-referrer"));
    assert_eq!(h("cache-control"), Some("no-store"));
    assert!(
        !p.body.contains("<script") && !p.body.contains(" src=\"") && !p.body.contains("<link"),
        "no script, no external resource:\n{}",
        p.body
    );
}

#[tokio::test]
async fn get_shows_the_confirmation_page_and_changes_nothing() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let before = snapshot(&app, &id).await;
    let t = token(&id, "ack", 3600);

    for _ in 0..3 {
        let p = get_link(&app, &t, None).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert_page_headers(&p);
        for want in [
            "Payment DB unreachable",
            "critical",
            "payment",
            "firing",
            "<form method=\"post\">",
            "name=\"name\"",
            ">Acknowledge</button>",
            &id[..8],
        ] {
            assert!(p.body.contains(want), "page lacks {want:?}:\n{}", p.body);
        }
        assert!(p.body.contains("value=\"\""), "no cookie, empty name");
        assert!(p.headers.get(SET_COOKIE).is_none(), "GET sets no cookie");
    }
    assert_eq!(snapshot(&app, &id).await, before, "GET changed nothing");
    assert_eq!(snapshot(&app, &id).await.0["state"], "firing");

    // The name from the cookie is pre-filled, escaped like everything else.
    let p = get_link(&app, &t, Some("theme=dark; ackbot_name=Li%20Lei")).await;
    assert!(p.body.contains("value=\"Li Lei\""), "{}", p.body);
    let p = get_link(&app, &t, Some("ackbot_name=%22%3E%3Cb%3Ex")).await;
    assert!(
        p.body.contains("value=\"&quot;&gt;&lt;b&gt;x\""),
        "{}",
        p.body
    );

    // The other actions' buttons.
    let p = get_link(&app, &token(&id, "silence_1h", 3600), None).await;
    assert!(
        p.body.contains(">Silence for 1 hour</button>"),
        "{}",
        p.body
    );
    let p = get_link(&app, &token(&id, "resolve", 3600), None).await;
    assert!(p.body.contains(">Resolve</button>"), "{}", p.body);
    assert_eq!(snapshot(&app, &id).await, before);
}

#[tokio::test]
async fn every_alert_field_is_html_escaped() {
    let app = spawn().await;
    let id = app
        .post_alert(
            &json!({"title": "<script>alert(1)</script> & \"quoted\"", "severity": "warning",
               "service": "<img src=x onerror=alert(2)>"}),
        )
        .await;
    let p = get_link(&app, &token(&id, "ack", 3600), None).await;
    assert_eq!(p.status, 200);
    assert_page_headers(&p);
    assert!(
        p.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{}",
        p.body
    );
    assert!(!p.body.contains("<img"), "{}", p.body);
}

#[tokio::test]
async fn post_acknowledges_once_records_the_name_and_sets_the_cookie() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let t = token(&id, "ack", 3600);

    let p = post_link(&app, &t, "  Li Lei ").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_page_headers(&p);
    assert!(
        p.body.contains("Acknowledged [") && p.body.contains("Payment DB unreachable (Li Lei)"),
        "{}",
        p.body
    );
    let cookie = p.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    let mut parts: Vec<&str> = cookie.split("; ").collect();
    assert_eq!(parts.remove(0), "ackbot_name=Li%20Lei");
    parts.sort_unstable();
    assert_eq!(
        parts,
        [
            "HttpOnly",
            "Max-Age=31536000",
            "Path=/a",
            "SameSite=Lax",
            "Secure"
        ]
    );

    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["acked_by"], "Li Lei");
    let trail = events(&app, &id).await;
    assert_eq!(
        trail.last().unwrap(),
        &("acknowledged".into(), "Li Lei".into(), "link".into())
    );

    // The same link again: used, refused, nothing recorded.
    let before = snapshot(&app, &id).await;
    let p = post_link(&app, &t, "Han Meimei").await;
    assert_eq!(p.status, 410, "{}", p.body);
    assert_page_headers(&p);
    assert!(p.body.contains("already used"), "{}", p.body);
    assert!(p.headers.get(SET_COOKIE).is_none());
    assert_eq!(snapshot(&app, &id).await, before);
    assert_eq!(events(&app, &id).await.len(), trail.len());
}

#[tokio::test]
async fn concurrent_clicks_on_one_link_act_once() {
    let app = spawn().await;
    let id = app.post_alert(&json!({"title": "disk full"})).await;
    let t = token(&id, "silence_1h", 3600);
    let names: Vec<String> = (0..6).map(|i| format!("person {i}")).collect();
    let pages = futures_util::future::join_all(names.iter().map(|n| post_link(&app, &t, n))).await;
    let mut statuses: Vec<u16> = pages.iter().map(|p| p.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 410, 410, 410, 410, 410]);
    let silences = app.get_json("/api/v1/silences").await["silences"].clone();
    assert_eq!(silences.as_array().unwrap().len(), 1, "{silences}");
}

#[tokio::test]
async fn acknowledging_an_acknowledged_alert_says_by_whom() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let p = post_link(&app, &token(&id, "ack", 3600), "Li Lei").await;
    assert_eq!(p.status, 200);
    // Another link (a later message's button) for the same action.
    let p = post_link(&app, &token(&id, "ack", 1800), "Han Meimei").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("is already acknowledged by Li Lei"),
        "{}",
        p.body
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["acked_by"], "Li Lei");
}

#[tokio::test]
async fn a_missing_or_too_long_name_shows_the_form_again_and_keeps_the_link() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let t = token(&id, "ack", 3600);
    let before = snapshot(&app, &id).await;

    for (name, says) in [
        ("", "Please type your name"),
        ("   ", "Please type your name"),
        (&"x".repeat(65), "too long"),
    ] {
        let p = post_link(&app, &t, name).await;
        assert_eq!(p.status, 400, "{}", p.body);
        assert_page_headers(&p);
        assert!(p.body.contains(says), "{}", p.body);
        assert!(p.body.contains("<form method=\"post\">"), "{}", p.body);
        assert!(p.headers.get(SET_COOKIE).is_none());
    }
    // No body at all.
    let res = app
        .client
        .post(app.url(&format!("/a/{t}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(snapshot(&app, &id).await, before);

    // The link was not spent: it still works.
    let p = post_link(&app, &t, &"雷".repeat(64)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["acked_by"], "雷".repeat(64));
}

#[tokio::test]
async fn an_oversized_form_is_refused() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let t = token(&id, "ack", 3600);
    let before = snapshot(&app, &id).await;
    let res = app
        .client
        .post(app.url(&format!("/a/{t}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("name=Li+Lei&pad={}", "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(snapshot(&app, &id).await, before);
}

#[tokio::test]
async fn an_expired_link_is_gone_and_changes_nothing() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let before = snapshot(&app, &id).await;
    for t in [token(&id, "ack", -1), token(&id, "resolve", 0)] {
        let p = get_link(&app, &t, None).await;
        assert_eq!(p.status, 410, "{}", p.body);
        assert_page_headers(&p);
        assert!(p.body.contains("expired"), "{}", p.body);
        let p = post_link(&app, &t, "Li Lei").await;
        assert_eq!(p.status, 410, "{}", p.body);
        assert!(p.body.contains("expired"), "{}", p.body);
        assert!(p.headers.get(SET_COOKIE).is_none());
    }
    assert_eq!(snapshot(&app, &id).await, before);
}

/// One character changed, anywhere in the token.
fn tampered(t: &str, at: usize) -> String {
    let mut b = t.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[tokio::test]
async fn a_tampered_or_malformed_link_is_refused_and_changes_nothing() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let t = token(&id, "resolve", 3600);
    let before = snapshot(&app, &id).await;
    let dot = t.find('.').unwrap();
    let mut bad: Vec<String> = [0, dot / 2, dot + 1, t.len() - 2]
        .into_iter()
        .map(|at| tampered(&t, at))
        .collect();
    bad.extend(
        [
            "not-a-token",
            "a.b",
            "x.",
            &t[..dot],
            &t[..t.len() - 1],
            &"A".repeat(2000),
        ]
        .map(String::from),
    );
    for b in &bad {
        assert_ne!(b, &t);
        let p = get_link(&app, b, None).await;
        assert_eq!(p.status, 400, "GET {b}: {}", p.body);
        assert_page_headers(&p);
        assert!(p.body.contains("not valid"), "{}", p.body);
        let p = post_link(&app, b, "Mallory").await;
        assert_eq!(p.status, 400, "POST {b}: {}", p.body);
        assert!(p.headers.get(SET_COOKIE).is_none());
    }
    assert_eq!(snapshot(&app, &id).await, before);
    assert_eq!(before.0["state"], "firing");
}

#[tokio::test]
async fn a_link_signed_with_another_secret_is_refused() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let before = snapshot(&app, &id).await;
    let forged = sign(
        b"another-secret-of-the-right-length-0123",
        &id,
        "ack",
        now_secs() + 3600,
    );
    let p = get_link(&app, &forged, None).await;
    assert_eq!(p.status, 400, "{}", p.body);
    let p = post_link(&app, &forged, "Mallory").await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert_eq!(snapshot(&app, &id).await, before);
}

#[tokio::test]
async fn a_signed_link_for_an_action_links_do_not_offer_is_refused() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let before = snapshot(&app, &id).await;
    for action in ["unack", "silence", "delete"] {
        let p = post_link(&app, &token(&id, action, 3600), "Li Lei").await;
        assert_eq!(p.status, 400, "{action}: {}", p.body);
    }
    assert_eq!(snapshot(&app, &id).await, before);
}

#[tokio::test]
async fn a_link_for_an_unknown_alert_is_404() {
    let app = spawn().await;
    let t = token("0000000000000000", "ack", 3600);
    assert_eq!(get_link(&app, &t, None).await.status, 404);
    assert_eq!(post_link(&app, &t, "Li Lei").await.status, 404);
}

#[tokio::test]
async fn silence_for_an_hour_silences_the_alert() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let p = post_link(&app, &token(&id, "silence_1h", 3600), "Li Lei").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Silenced ["), "{}", p.body);
    assert!(p.body.contains("for 1h"), "{}", p.body);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "silenced");
    let until = chrono::DateTime::parse_from_rfc3339(alert["silenced_until"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!((until - now_secs() - 3600).abs() < 60, "{alert}");
    assert_eq!(
        events(&app, &id).await.last().unwrap(),
        &("silenced".into(), "Li Lei".into(), "link".into())
    );
    let silences = app.get_json("/api/v1/silences").await["silences"].clone();
    assert_eq!(silences.as_array().unwrap().len(), 1, "{silences}");
    assert_eq!(silences[0]["created_by"], "Li Lei");
}

#[tokio::test]
async fn resolve_resolves_the_alert() {
    let app = spawn().await;
    let id = firing_alert(&app).await;
    let p = post_link(&app, &token(&id, "resolve", 3600), "Li Lei").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Resolved ["), "{}", p.body);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "resolved");
    assert_eq!(
        events(&app, &id).await.last().unwrap(),
        &("resolved".into(), "Li Lei".into(), "link".into())
    );
}

#[tokio::test]
async fn without_links_configured_the_pages_are_404_and_other_methods_405() {
    let app = spawn_app().await;
    let id = firing_alert(&app).await;
    let t = token(&id, "ack", 3600);
    let p = get_link(&app, &t, None).await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert_page_headers(&p);
    assert_eq!(post_link(&app, &t, "Li Lei").await.status, 404);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );

    let app = spawn().await;
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let res = app
            .client
            .request(method, app.url(&format!("/a/{t}")))
            .send()
            .await
            .unwrap();
        assert_error(res, 405, "method_not_allowed").await;
    }
}

/// The fixed vector in `tests/browser/sign.sh`: the shell signer the browser
/// test uses must agree with `sign()`. `run.sh` checks the shell side.
#[test]
fn sign_matches_the_documented_vector_and_the_shell_signer() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/browser/sign.sh"
    ))
    .unwrap();
    let var = |name: &str| {
        script
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}='")))
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{name} in sign.sh"))
            .to_string()
    };
    let expires: i64 = var("LINK_VECTOR_EXPIRES").parse().unwrap();
    assert_eq!(
        sign(
            var("LINK_VECTOR_SECRET").as_bytes(),
            &var("LINK_VECTOR_ALERT"),
            &var("LINK_VECTOR_ACTION"),
            expires
        ),
        var("LINK_VECTOR_TOKEN")
    );
    assert_eq!(
        var("LINK_VECTOR_TOKEN"),
        "M2YyYTljMWQwMGFhMTFiYjphY2s6MTcwMDAwMDAwMA.YcqciBLyVPPquSJ4haFJjaDPM_fLAQb6Z4iTR5pR7HM"
    );

    // And the shell function itself, on other input, where openssl exists.
    let shell = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"source "$1" && sign_link "$2" "$3" "$4" "$5""#)
        .arg("sign")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/sign.sh"
        ))
        .args([SECRET, "a1b2c3d4e5f60718", "silence_1h", "1893456000"])
        .output();
    match shell {
        Ok(out) if out.status.success() => assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim(),
            sign(
                SECRET.as_bytes(),
                "a1b2c3d4e5f60718",
                "silence_1h",
                1_893_456_000
            )
        ),
        _ => eprintln!("bash or openssl unavailable: shell signer not compared"),
    }
}
