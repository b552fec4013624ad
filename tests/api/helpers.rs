//! `spawn_app` and one helper per endpoint, including ones that sign a callback
//! the way Feishu, DingTalk or WeCom would. Set `TEST_LOG=1` to see server logs.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use ackbot::config::Config;
use ackbot::interaction::{CardAction, CardReply, ChatMessage, ChatReply, InteractionHandler};
use ackbot::startup::Application;
use ackbot::verify::{dingtalk, feishu, wecom};
use async_trait::async_trait;
use serde_json::{Value, json};

/// Secrets of the test app: the ones the SDK-checked vectors were made with, so
/// the vectors themselves can be sent to the server.
pub const FEISHU_TOKEN: &str = "tok";
pub const FEISHU_ENCRYPT_KEY: &str = "demo-encrypt-key";
pub const DINGTALK_SECRET: &str = "demo-app-secret";
pub const WECOM_TOKEN: &str = "tok";
pub const WECOM_AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const MAX_BODY: usize = 16 * 1024;
pub const API_TOKEN: &str = "test-api-token-0123456789";

pub fn vectors(file: &str) -> Value {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// Records every interaction that reached the handler, then hands it to the
/// server's own (acting) handler. "Left no trace" means: nothing recorded here.
#[derive(Default)]
pub struct Recorder {
    pub cards: Mutex<Vec<CardAction>>,
    pub chats: Mutex<Vec<ChatMessage>>,
    inner: std::sync::OnceLock<Arc<dyn InteractionHandler>>,
}

impl Recorder {
    pub fn card_count(&self) -> usize {
        self.cards.lock().unwrap().len()
    }
    pub fn chat_count(&self) -> usize {
        self.chats.lock().unwrap().len()
    }
    pub fn touched(&self) -> bool {
        self.card_count() + self.chat_count() > 0
    }
}

#[async_trait]
impl InteractionHandler for Recorder {
    async fn card_action(&self, action: CardAction) -> CardReply {
        self.cards.lock().unwrap().push(action.clone());
        self.inner
            .get()
            .expect("set at build")
            .card_action(action)
            .await
    }
    async fn chat_message(&self, message: ChatMessage) -> Option<ChatReply> {
        self.chats.lock().unwrap().push(message.clone());
        self.inner
            .get()
            .expect("set at build")
            .chat_message(message)
            .await
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub recorder: Arc<Recorder>,
    pub dir: tempfile::TempDir,
    pub server: actix_web::dev::ServerHandle,
    /// The fault points of this server (see `ackbot::faults`).
    pub faults: Arc<ackbot::faults::Faults>,
    /// `run_until_stopped`: ends with an error when a background task died.
    pub run: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    /// Stops the server and its delivery worker, and hands back the directory
    /// (config, certificate, database) for a restart with [`spawn_app_in`].
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.stop(false).await;
        // The rest of the stop: the delivery worker ends, leases are handed back.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.run).await;
        self.dir
    }
}

/// The full test config: every platform configured, TLS with a generated cert.
pub fn test_config_toml(dir: &std::path::Path) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
generated_cert_dir = "{dir}"
max_body_bytes = {MAX_BODY}
workers = 1

[storage]
url = "sqlite://{db}"

[api]
tokens = ["{API_TOKEN}"]

[feishu]
verification_token = "{FEISHU_TOKEN}"
encrypt_key = "{FEISHU_ENCRYPT_KEY}"

[dingtalk]
app_secret = "{DINGTALK_SECRET}"

[wecom]
token = "{WECOM_TOKEN}"
encoding_aes_key = "{WECOM_AES_KEY}"
"#,
        dir = dir.join("certs").display(),
        db = dir.join("data/ackbot.db").display()
    )
}

/// The storage a test uses. With `ACKBOT_TEST_DATABASE_URL` set (`.ci/run`
/// sets it for the second pass), a fresh PostgreSQL database per test
/// directory; otherwise SQLite inside it. The same directory gives the same
/// database, so a test can reopen it.
pub async fn storage_url(dir: &std::path::Path) -> String {
    let Ok(base) = std::env::var("ACKBOT_TEST_DATABASE_URL") else {
        return format!("sqlite://{}", dir.join("data/ackbot.db").display());
    };
    let marker = dir.join("postgres-database");
    let name = match std::fs::read_to_string(&marker) {
        Ok(name) => name,
        Err(_) => {
            use sqlx::Connection;
            let name = format!("ackbot_t_{}", random_hex(8));
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
            // Test servers are never shut down (their worker threads outlive
            // the test), so their pooled connections would pile up until
            // PostgreSQL runs out of slots. Close the ones idle for a while:
            // a live test's pool notices and reconnects (sqlx checks a
            // connection before handing it out).
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname LIKE 'ackbot_t_%' AND state = 'idle' \
                 AND state_change < now() - interval '5 seconds'",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            std::fs::write(&marker, &name).unwrap();
            name
        }
    };
    let mut url = reqwest::Url::parse(&base).unwrap();
    url.set_path(&name);
    url.to_string()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns a server with the test config after `tweak` has adjusted it.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_in(tempfile::tempdir().unwrap(), tweak).await
}

/// Spawns a server in `dir`: a new one, or the one a stopped app used (same
/// database, same certificate).
pub async fn spawn_app_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let options = AppOptions::default();
    spawn_app_with_options(dir, tweak, options).await
}

/// What a test can set besides the config.
#[derive(Default)]
pub struct AppOptions {
    pub faults: Arc<ackbot::faults::Faults>,
    /// The file `/-/reload` reads.
    pub config_path: Option<std::path::PathBuf>,
}

/// [`spawn_app_in`] with fault points armed or a config file to reload.
pub async fn spawn_app_with_options(
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut Config),
    options: AppOptions,
) -> TestApp {
    if std::env::var("TEST_LOG").is_ok() {
        ackbot::telemetry::init("debug");
    }
    let mut config = Config::from_toml(&test_config_toml(dir.path()), "test", &|_| None).unwrap();
    config.storage.url = ackbot::config::Secret::new(storage_url(dir.path()).await);
    tweak(&mut config);
    let recorder = Arc::new(Recorder::default());
    let wrap = recorder.clone();
    let faults = options.faults.clone();
    let app = Application::build_with(
        config,
        ackbot::startup::Options {
            decorate: Box::new(move |acting| {
                let _ = wrap.inner.set(acting);
                wrap
            }),
            faults: faults.clone(),
            config_path: options.config_path,
        },
    )
    .await
    .unwrap();
    let address = format!("{}://127.0.0.1:{}", app.scheme(), app.port());
    let client = client_trusting(&dir.path().join("certs/server.crt"));
    let server = app.handle();
    let run = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client,
        recorder,
        dir,
        server,
        faults,
        run,
    }
}

/// A second server on the same storage as `first` (another replica): its
/// own directory for its certificate, `first`'s database.
pub async fn spawn_replica(first: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let url = storage_url(first.dir.path()).await;
    spawn_app_with(move |config| {
        tweak(config);
        config.storage.url = ackbot::config::Secret::new(url);
    })
    .await
}

/// A client that trusts exactly the given certificate (and no public roots).
pub fn client_trusting(cert: &std::path::Path) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().use_rustls_tls();
    if let Ok(pem) = std::fs::read(cert) {
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// Asserts a JSON error body with the given status and code; returns the body.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status for expected `{code}`"
    );
    assert!(
        response.headers().contains_key("x-request-id"),
        "error responses carry X-Request-Id"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

// ---------------------------------------------------------------- Feishu

/// A signed request as Feishu sends it: headers and the exact body bytes.
pub struct SignedFeishu {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub body: String,
}

/// Encrypts `plaintext` with `encrypt_key` and signs the wrapper at `ts`.
pub fn feishu_sign_encrypted(plaintext: &str, encrypt_key: &str, ts: i64) -> SignedFeishu {
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).unwrap();
    let body =
        json!({"encrypt": feishu::Cipher::new(encrypt_key).encrypt(plaintext.as_bytes(), iv)})
            .to_string();
    feishu_sign_raw(body, encrypt_key, ts)
}

/// Signs `body` as it is (no encryption).
pub fn feishu_sign_raw(body: String, encrypt_key: &str, ts: i64) -> SignedFeishu {
    let timestamp = ts.to_string();
    let nonce = random_hex(6);
    let signature = hex::encode(feishu::event_signature(
        &timestamp,
        &nonce,
        encrypt_key,
        body.as_bytes(),
    ));
    SignedFeishu {
        timestamp,
        nonce,
        signature,
        body,
    }
}

pub fn card_action_event(event_id: &str, token: &str, value: Value) -> String {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "token": token, "create_time": "1700000000000000",
                   "event_type": "card.action.trigger", "tenant_key": "tenant", "app_id": "cli_test"},
        "event": {"operator": {"open_id": "ou_li_lei"}, "token": "c-update",
                  "action": {"tag": "button", "value": value},
                  "host": "im_message",
                  "context": {"open_message_id": "om_1", "open_chat_id": "oc_1"}}
    })
    .to_string()
}

pub fn message_event(event_id: &str, text: &str) -> String {
    json!({
        "schema": "2.0",
        "header": {"event_id": event_id, "token": FEISHU_TOKEN, "create_time": "1700000000000",
                   "event_type": "im.message.receive_v1", "tenant_key": "tenant", "app_id": "cli_test"},
        "event": {"sender": {"sender_id": {"open_id": "ou_han_meimei"}, "sender_type": "user"},
                  "message": {"message_id": "om_2", "chat_id": "oc_ops", "chat_type": "group",
                              "message_type": "text", "content": json!({"text": text}).to_string()}}
    })
    .to_string()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_feishu(&self, path: &str, signed: &SignedFeishu) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/json; charset=utf-8")
            .header("X-Lark-Request-Timestamp", &signed.timestamp)
            .header("X-Lark-Request-Nonce", &signed.nonce)
            .header("X-Lark-Signature", &signed.signature)
            .body(signed.body.clone())
            .send()
            .await
            .unwrap()
    }

    pub async fn post_unsigned(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    // ------------------------------------------------------------ DingTalk

    pub async fn post_dingtalk(
        &self,
        timestamp: &str,
        sign: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/dingtalk/robot"))
            .header("timestamp", timestamp)
            .header("sign", sign)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    // ------------------------------------------------------------ WeCom

    pub async fn get_wecom(&self, query: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/wecom/callback?{query}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_wecom(&self, query: &str, body: String) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/wecom/callback?{query}")))
            .header("Content-Type", "text/xml")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// DingTalk's headers for `ts_ms`, signed with `secret`.
pub fn dingtalk_headers(ts_ms: i64, secret: &str) -> (String, String) {
    let ts = ts_ms.to_string();
    let sign = dingtalk::robot_sign(&ts, secret);
    (ts, sign)
}

pub fn dingtalk_message(msg_id: &str, text: &str) -> Value {
    json!({
        "msgtype": "text", "text": {"content": text}, "msgId": msg_id,
        "createAt": 1613630252678_i64, "conversationType": "2", "conversationId": "cid_ops",
        "senderId": "$:LWCP_v1:$abc", "senderNick": "Zhang San", "senderStaffId": "user123",
        "chatbotUserId": "$:LWCP_v1:$bot", "robotCode": "dingbot", "isInAtList": true
    })
}

/// A WeCom callback: query string (percent-encoded) and XML body for `inner`.
pub fn wecom_post(inner: &str, receive_id: &str, ts: i64) -> (String, String, String) {
    let cipher = wecom::Cipher::new(WECOM_AES_KEY).unwrap();
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).unwrap();
    let encrypted = cipher.encrypt(inner.as_bytes(), receive_id, random);
    let ts = ts.to_string();
    let nonce = random_hex(5);
    let sig = hex::encode(wecom::msg_signature(WECOM_TOKEN, &ts, &nonce, &encrypted));
    let query = format!("msg_signature={sig}&timestamp={ts}&nonce={nonce}");
    let body = format!(
        "<xml><ToUserName><![CDATA[]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
    );
    (query, body, nonce)
}

pub fn wecom_text(msg_id: &str, text: &str) -> String {
    format!(
        "<xml><WebhookUrl><![CDATA[https://qyapi.example/hook]]></WebhookUrl><ChatId><![CDATA[wrchat]]></ChatId>\
         <ChatType>group</ChatType><From><UserId>lilei</UserId><Name><![CDATA[Li Lei]]></Name></From>\
         <MsgId>{msg_id}</MsgId><MsgType>text</MsgType><Text><Content><![CDATA[{text}]]></Content></Text></xml>"
    )
}

pub fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

// ---------------------------------------------------------------- /api/v1

impl TestApp {
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(API_TOKEN)
    }

    pub async fn post_alerts(&self, body: &Value) -> reqwest::Response {
        self.api(reqwest::Method::POST, "/api/v1/alerts")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts one alert, expects 202, and returns its record id.
    pub async fn post_alert(&self, alert: &Value) -> String {
        let res = self.post_alerts(alert).await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        body["ids"][0].as_str().unwrap().to_string()
    }

    /// `GET /metrics` (Prometheus text).
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.api(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn alert_count(&self) -> usize {
        self.get_json("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .len()
    }
}

/// A `[[channels]]` entry from its TOML.
pub fn channel(toml_text: &str) -> ackbot::config::ChannelConfig {
    toml::from_str(toml_text).unwrap()
}

// ---------------------------------------------------------------- raw HTTP

/// A response read off the wire by [`TestApp::raw`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

impl TestApp {
    /// Writes `request` as it is (a captured request, byte for byte) over a
    /// TLS connection trusting the server's certificate, and reads one
    /// response (with a `Content-Length`, as ackbot's answers have).
    pub async fn raw(&self, request: &[u8]) -> RawResponse {
        use rustls_pki_types::pem::PemObject;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let pem = std::fs::read(self.dir.path().join("certs/server.crt")).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let port = self.address.rsplit(':').next().unwrap();
        let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        tls.write_all(request).await.unwrap();
        tls.flush().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let mut lines = head.split("\r\n");
                let status: u16 = lines
                    .next()
                    .unwrap()
                    .split(' ')
                    .nth(1)
                    .unwrap()
                    .parse()
                    .unwrap();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                if buf.len() >= end + 4 + len {
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    return RawResponse {
                        status,
                        headers,
                        body,
                    };
                }
            }
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), tls.read(&mut chunk))
                .await
                .expect("response within 10 s")
                .unwrap();
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}
