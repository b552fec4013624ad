//! The web console over real HTTPS: sign-in (argon2id, wrong passwords,
//! the pre-session CSRF), sessions in cookies, the alert list and page with
//! everything escaped, actions as the signed-in user with their CSRF
//! token, viewers who may look but not act, sign-out.

use ackbot::config::ui::{Role, UiUser, hash_password};
use ackbot::config::{Config, Secret};
use serde_json::json;

use crate::helpers::*;

const OPERATOR: (&str, &str) = ("li.lei", "correct horse battery");
const VIEWER: (&str, &str) = ("han", "staple of viewers");

fn with_users(config: &mut Config) {
    config.ui.users = vec![
        UiUser {
            name: OPERATOR.0.into(),
            password_hash: Secret::new(hash_password(OPERATOR.1)),
            role: Role::Operator,
        },
        UiUser {
            name: VIEWER.0.into(),
            password_hash: Secret::new(hash_password(VIEWER.1)),
            role: Role::Viewer,
        },
    ];
    config.validate().unwrap();
}

/// A client that does not follow redirects (the tests look at them).
fn browser(app: &TestApp) -> reqwest::Client {
    let pem = std::fs::read(app.dir.path().join("certs/server.crt")).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of a Set-Cookie for `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

fn csrf_of(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([^"]+)""#).unwrap();
    re.captures(html).unwrap()[1].to_string()
}

/// Signs in; returns the session cookie (`ackbot_session=…`).
async fn sign_in(
    app: &TestApp,
    c: &reqwest::Client,
    (name, password): (&str, &str),
) -> reqwest::Response {
    let r = c.get(app.url("/ui/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let pre = set_cookie(&r, "ackbot_login").expect("a pre-session cookie");
    let csrf = csrf_of(&r.text().await.unwrap());
    c.post(app.url("/ui/login"))
        .header("cookie", pre)
        .form(&[("name", name), ("password", password), ("csrf", &csrf)])
        .send()
        .await
        .unwrap()
}

async fn session(app: &TestApp, c: &reqwest::Client, who: (&str, &str)) -> String {
    let r = sign_in(app, c, who).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/alerts");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ackbot_session="))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str, cookie: &str) -> (u16, String) {
    let r = c
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 200 {
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
    }
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn an_operator_signs_in_sees_the_alert_escaped_and_acknowledges_it() {
    let app = spawn_app_with(with_users).await;
    let id = app
        .post_alert(
            &json!({"title": "DB <script>alert(1)</script> down", "severity": "critical",
            "service": "payment", "labels": {"team": "db"}}),
        )
        .await;
    let c = browser(&app);

    // Not signed in: to the sign-in page.
    let r = c.get(app.url("/ui/alerts")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/login");
    // A wrong password, then a form without its pre-session cookie.
    let r = sign_in(&app, &c, (OPERATOR.0, "wrong")).await;
    assert_eq!(r.status(), 401);
    assert!(set_cookie(&r, "ackbot_session").is_none());
    assert!(r.text().await.unwrap().contains("Wrong name or password"));
    let r = c
        .post(app.url("/ui/login"))
        .form(&[
            ("name", OPERATOR.0),
            ("password", OPERATOR.1),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookie(&r, "ackbot_session").is_none());

    let cookie = session(&app, &c, OPERATOR).await;
    let (status, html) = get(
        &c,
        &app,
        "/ui/alerts?severity=critical&label=team%3Ddb",
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("DB &lt;script&gt;alert(1)&lt;&#x2f;script&gt; down"),
        "{html}"
    );
    assert!(!html.contains("<script>"));
    assert!(html.contains(&format!("/ui/alerts/{id}")));
    let (_, none) = get(&c, &app, "/ui/alerts?severity=info", &cookie).await;
    assert!(!none.contains(&id), "filtered out");
    let (_, api) = get(&c, &app, "/ui/alerts?source=api", &cookie).await;
    assert!(api.contains(&id), "posted to the API: {api}");
    let (_, sentry) = get(&c, &app, "/ui/alerts?source=sentry", &cookie).await;
    assert!(
        !sentry.contains(&format!("/ui/alerts/{id}")),
        "not from Sentry"
    );
    assert!(
        sentry.contains(r#"<option value="sentry" selected>"#),
        "{sentry}"
    );

    let (status, html) = get(&c, &app, &format!("/ui/alerts/{id}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("Acknowledge"), "{html}");
    let csrf = csrf_of(&html);
    // A forged form (wrong token) changes nothing.
    let r = c
        .post(app.url(&format!("/ui/alerts/{id}/ack")))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );
    let r = c
        .post(app.url(&format!("/ui/alerts/{id}/ack")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        (alert["state"].as_str(), alert["acked_by"].as_str()),
        (Some("acknowledged"), Some("li.lei"))
    );
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "acknowledged" && e["via"] == "ui"),
        "{events}"
    );
    let (_, html) = get(&c, &app, &format!("/ui/alerts/{id}?done=changed"), &cookie).await;
    assert!(html.contains("Done.") && html.contains("li.lei"), "{html}");

    // Chinese when the browser asks for it.
    let r = c
        .get(app.url("/ui/alerts"))
        .header("cookie", &cookie)
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("告警"));

    // Signed out: the cookie is cleared.
    let r = c
        .post(app.url("/ui/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        set_cookie(&r, "ackbot_session").as_deref(),
        Some("ackbot_session=")
    );
}

#[tokio::test]
async fn a_viewer_looks_but_cannot_act_and_a_tampered_session_is_no_session() {
    let app = spawn_app_with(with_users).await;
    let id = app
        .post_alert(&json!({"title": "Queue stuck", "severity": "error"}))
        .await;
    let c = browser(&app);
    let cookie = session(&app, &c, VIEWER).await;
    let (status, html) = get(&c, &app, &format!("/ui/alerts/{id}"), &cookie).await;
    assert_eq!(status, 200);
    assert!(!html.contains("/ack\""), "no buttons for a viewer: {html}");
    let csrf = csrf_of(&html);
    let r = c
        .post(app.url(&format!("/ui/alerts/{id}/resolve")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );
    // The viewer's cookie made into an operator's is not a session.
    let forged = cookie.replace(".viewer.", ".operator.");
    let r = c
        .get(app.url("/ui/alerts"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn an_operator_previews_a_silence_creates_it_and_ends_it() {
    let app = spawn_app_with(with_users).await;
    let db = app
        .post_alert(&json!({"title": "DB slow", "severity": "warning", "labels": {"team": "db"}}))
        .await;
    let web = app
        .post_alert(&json!({"title": "Web slow", "severity": "warning", "labels": {"team": "web"}}))
        .await;
    let c = browser(&app);
    let cookie = session(&app, &c, OPERATOR).await;
    // Matching everything is refused, as through the API.
    let (_, html) = get(
        &c,
        &app,
        "/ui/silences?matchers=team%21%3D%22x%22&duration=1h",
        &cookie,
    )
    .await;
    assert!(html.contains("role=\"alert\""), "{html}");
    let (status, html) = get(
        &c,
        &app,
        "/ui/silences?matchers=team%3D%22db%22&duration=2h&comment=maintenance",
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("/ui/alerts/{db}")),
        "the preview lists it: {html}"
    );
    assert!(!html.contains(&format!("/ui/alerts/{web}")), "{html}");
    let csrf = csrf_of(&html);
    let r = c
        .post(app.url("/ui/silences"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("matchers", "team=\"db\""),
            ("duration", "2h"),
            ("comment", "maintenance"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/silences?done=changed");
    let listed = app.get_json("/api/v1/silences").await;
    let silences = listed["silences"].as_array().unwrap();
    assert_eq!(silences.len(), 1, "{listed}");
    assert_eq!(silences[0]["created_by"], "li.lei");
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{db}")).await["state"],
        "silenced"
    );
    let id = silences[0]["id"].as_str().unwrap();
    let r = c
        .post(app.url(&format!("/ui/silences/{id}/expire")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{db}")).await["state"],
        "firing"
    );
}

#[tokio::test]
async fn a_failed_delivery_is_listed_with_the_platforms_answer_and_retried() {
    use crate::mockbot::{MockBot, Reply};
    let mock = MockBot::webhook(None).await;
    mock.script([Reply::Status(404)]);
    let hook = channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![hook];
        with_users(c);
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "Cert expires", "severity": "warning"}))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app.get_json(&format!("/api/v1/alerts/{id}")).await["deliveries"][0]["status"] != "failed"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the delivery did not fail"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let c = browser(&app);
    let cookie = session(&app, &c, OPERATOR).await;
    let (status, html) = get(&c, &app, "/ui/deliveries", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Cert expires") && html.contains("HTTP 404"),
        "{html}"
    );
    let csrf = csrf_of(&html);
    let re = regex::Regex::new(r#"action="(/ui/alerts/[0-9a-f]+/deliveries/\d+/retry)""#).unwrap();
    let retry = re.captures(&html).unwrap()[1].to_string();
    let r = c
        .post(app.url(&retry))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/deliveries?done=changed");
    mock.wait_for(2, std::time::Duration::from_secs(15)).await;
    let d = &app.get_json(&format!("/api/v1/alerts/{id}")).await["deliveries"][0];
    assert_eq!(d["status"], "sent", "{d}");
    let (_, html) = get(&c, &app, "/ui/deliveries", &cookie).await;
    assert!(html.contains("Every delivery went out."), "{html}");
}

#[tokio::test]
async fn the_overview_draws_firings_response_times_and_channel_health() {
    use crate::mockbot::MockBot;
    let mock = MockBot::webhook(None).await;
    let hook = channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nrate_per_minute = 60",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![hook];
        with_users(c);
    })
    .await;
    let disk = app
        .post_alert(&json!({"title": "Disk <full>", "severity": "critical", "service": "db"}))
        .await;
    app.post_alert(&json!({"title": "Slow page", "severity": "warning", "service": "web"}))
        .await;
    // Disk fires three times in all; it is acknowledged, then resolved.
    for _ in 0..2 {
        app.post_alert(&json!({"title": "Disk <full>", "severity": "critical", "service": "db"}))
            .await;
    }
    let r = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{disk}/ack"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{disk}/resolve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    mock.wait_for(2, std::time::Duration::from_secs(10)).await;

    let c = browser(&app);
    let cookie = session(&app, &c, VIEWER).await;
    let (status, html) = get(&c, &app, "/ui/overview", &cookie).await;
    assert_eq!(status, 200);
    // One bar for each severity that fired this hour, with its count.
    let bars = regex::Regex::new(r#"<rect class="b-(\w+)" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"><title>[^<]*UTC · (\d+) (\w+)</title>"#).unwrap();
    let drawn: Vec<(String, String)> = bars
        .captures_iter(&html)
        .map(|c| (c[1].to_string(), c[3].to_string()))
        .collect();
    assert_eq!(
        drawn,
        vec![
            ("critical".into(), "1".into()),
            ("warning".into(), "1".into())
        ],
        "{html}"
    );
    assert!(
        html.contains("critical 1") && html.contains("warning 1"),
        "the legend"
    );
    // The noisiest first, escaped, linked.
    let noisy = html.find("Disk &lt;full&gt;").expect("the noisiest alert");
    assert!(noisy < html.find("Slow page").unwrap());
    assert!(html.contains(&format!("/ui/alerts/{disk}")) && html.contains("×3"));
    // db was acknowledged and resolved within seconds; web neither yet.
    let db = html.find("<td>db</td>").expect("db's response times");
    let db_row = &html[db..db + html[db..].find("</tr>").unwrap()];
    assert_eq!(
        db_row.matches("(n=1)").count(),
        2,
        "to ack, to resolve: {db_row}"
    );
    assert!(!html.contains("<td>web</td>"), "no samples for web");
    // The channel: delivered just now, nothing failed, budget in use.
    let hook = html.find("<td>hook</td>").expect("the channel");
    let row = &html[hook..hook + html[hook..].find("</tr>").unwrap()];
    assert!(row.contains("UTC") && row.contains("<td>0</td>"), "{row}");
    assert!(row.contains(" % "), "a rate budget is drawn: {row}");

    // A week, and Chinese.
    let r = c
        .get(app.url("/ui/overview?range=7d"))
        .header("cookie", &cookie)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("最近 7 天") && html.contains("通知渠道状态"),
        "{html}"
    );
    // Not signed in: no overview.
    let r = c.get(app.url("/ui/overview")).send().await.unwrap();
    assert_eq!(r.status(), 303);
}

#[tokio::test]
async fn cards_link_to_the_console_and_a_digests_see_all_to_its_list() {
    use crate::mockbot::MockBot;
    let mock = MockBot::dingtalk_bot("SECconsole-secret").await;
    let dd = channel(&format!(
        "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECconsole-secret\"",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![dd];
        c.server.public_url = Some("https://ackbot.example.com/".into());
        with_users(c);
    })
    .await;
    let storm: Vec<serde_json::Value> = (0..1500)
        .map(|i| json!({"title": format!("storm {i}"), "severity": "warning"}))
        .collect();
    assert_eq!(app.post_alerts(&json!(storm)).await.status(), 202);
    let digest = mock.wait_for(1, std::time::Duration::from_secs(10)).await[0]
        .body
        .to_string();
    assert!(
        digest.contains("[see all](https://ackbot.example.com/ui/alerts?state=firing)"),
        "{}",
        &digest[digest.len().saturating_sub(800)..]
    );
    let id = app
        .post_alert(&json!({"title": "Payment DB unreachable", "severity": "critical"}))
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let card = loop {
        if let Some(r) = mock
            .received()
            .into_iter()
            .find(|r| r.body.to_string().contains("Payment DB unreachable"))
        {
            break r.body.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "no critical card");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        card.contains(&format!(
            "[Details](https://ackbot.example.com/ui/alerts/{id})"
        )),
        "{card}"
    );
}
