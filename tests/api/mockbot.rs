//! Local mock chat-bot servers that check outbound requests the way each
//! platform does and answer the way it answers. One [`MockBot`] per test:
//!
//! | constructor | endpoint(s) | checks | spec |
//! |---|---|---|---|
//! | [`MockBot::feishu_bot`] | `POST /open-apis/bot/v2/hook/test-token` | hook token, body ≤ 20 KB JSON, `timestamp`+`sign` in the body (when a secret is set), message shape | feishu.md §1 |
//! | [`MockBot::dingtalk_bot`] | `POST /robot/send?access_token=test-token&timestamp=…&sign=…` | token, `timestamp`+`sign` in the query, Content-Type, body ≤ 20000 bytes, msgtype | dingtalk.md §1 |
//! | [`MockBot::wecom_bot`] | `POST /cgi-bin/webhook/send?key=test-key` | key, msgtype, lengths | dingtalk.md §4 |
//! | [`MockBot::slack`] | `POST /slack/hook` | JSON with `text` / `blocks` / `attachments` | Slack incoming-webhook docs (no team spec) |
//! | [`MockBot::webhook`] | `POST /hook` | `X-Ackbot-Signature` (when a secret is set) | ackbot's own format, see [`webhook_signature`] |
//! | [`MockBot::feishu_app`] | token, `POST /open-apis/im/v1/messages`, `PATCH …/messages/{id}` | app credentials, Bearer token, `receive_id_type`, body shape, `update_multi` | feishu.md §2.1–2.4 |
//!
//! **Rules shared by every mock.**
//! - Every request to the send endpoint (for `feishu_app`: messages and
//!   PATCHes) is recorded, accepted or not, in arrival order: see
//!   [`MockBot::received`]. Everything else (token fetches, unknown paths)
//!   goes to [`MockBot::others`].
//! - `verified` is true when the request passed the authentication checks
//!   (signature, timestamp window, token, key). A request can be verified and
//!   still refused for its content (`status`/`response`/`rejection` say so).
//! - A request that fails **any** check gets the platform's own error answer
//!   and does **not** consume a scripted reply. Only requests the platform
//!   would accept take the next [`Reply`] from the script; when the script is
//!   empty they get [`Reply::Success`].
//! - The signature checks are written here from the specs, not taken from
//!   ackbot's `verify` module, and are pinned by the SDK-checked vectors in
//!   `tests/vectors/` (self-tests at the bottom).
//! - `errmsg`/`msg` wording of error bodies follows the specs where they quote
//!   it; the platforms change their wording over time, so assert on codes.
#![allow(clippy::result_large_err)] // test code: verdicts carry whole answers
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

type HmacSha256 = Hmac<Sha256>;

/// The hook token in the Feishu custom-bot path and the DingTalk `access_token`.
pub const HOOK_TOKEN: &str = "test-token";
/// The WeCom group-robot `key`.
pub const WECOM_KEY: &str = "test-key";

/// Feishu custom bot: the timestamp must be within this many seconds of now (§1.3).
pub const FEISHU_BOT_WINDOW_SECS: i64 = 3600;
/// DingTalk custom robot: the timestamp (ms) must be within this of now (§1.3).
pub const DINGTALK_WINDOW_MS: i64 = 3_600_000;
/// Generic webhook: `t=` must be within this many seconds of now.
pub const WEBHOOK_WINDOW_SECS: i64 = 300;
/// Feishu custom bot body limit, 20 KB (§1.4/§1.5).
pub const FEISHU_BOT_MAX_BODY: usize = 20 * 1024;
/// DingTalk custom robot body limit, 20000 bytes (§1.5, errcode 460101).
pub const DINGTALK_MAX_BODY: usize = 20_000;

const JSON_UTF8: &str = "application/json; charset=utf-8";
const TEXT_UTF8: &str = "text/plain; charset=utf-8";

// ------------------------------------------------------------------ signing

/// Feishu custom-bot `sign` (feishu.md §1.3): standard base64 of
/// HMAC-SHA256 with **key** `"{timestamp}\n{secret}"` over an **empty** message.
/// `timestamp` is Unix seconds as a decimal string.
pub fn feishu_bot_sign(timestamp: &str, secret: &str) -> String {
    let key = format!("{timestamp}\n{secret}");
    let mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    BASE64.encode(mac.finalize().into_bytes())
}

/// DingTalk custom-robot `sign` **before** URL encoding (dingtalk.md §1.3):
/// standard base64 of HMAC-SHA256 with key `secret` over
/// `"{timestamp_ms}\n{secret}"`. On the wire it is percent-encoded once.
pub fn dingtalk_sign(timestamp_ms: &str, secret: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The generic webhook's `v1`: lowercase hex of HMAC-SHA256 with key `secret`
/// over `"{t}."` followed by the raw body bytes. The header is
/// `X-Ackbot-Signature: t=<unix seconds>,v1=<hex>`.
pub fn webhook_signature(secret: &str, t: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Equality without an early exit (the spirit of a constant-time compare; this
/// is a test server).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Feishu custom bot (feishu.md §1.3): `timestamp` (a JSON **string** of Unix
/// seconds, as in the doc) and `sign` at the top level of the body; window
/// ±1 h. `Err` carries the mock's reason; the platform answers 19021 for all.
fn check_feishu_bot(body: &Value, secret: &str, now: i64) -> Result<(), String> {
    let ts = match body.get("timestamp") {
        Some(Value::String(ts)) => ts,
        Some(other) => {
            return Err(format!(
                "timestamp must be a JSON string as in the doc (§1.3), got {other}"
            ));
        }
        None => return Err("no timestamp in the body".into()),
    };
    let t: i64 = ts
        .parse()
        .map_err(|_| format!("timestamp {ts:?} is not decimal seconds"))?;
    if (now - t).abs() > FEISHU_BOT_WINDOW_SECS {
        return Err(format!(
            "timestamp {t} is {}s away from now (window {FEISHU_BOT_WINDOW_SECS}s; ms instead of s?)",
            now - t
        ));
    }
    let sign = body
        .get("sign")
        .and_then(Value::as_str)
        .ok_or("no sign (string) in the body")?;
    if !same(sign, &feishu_bot_sign(ts, secret)) {
        return Err("sign does not match".into());
    }
    Ok(())
}

/// DingTalk custom robot (dingtalk.md §1.3, §7.3): `timestamp` (ms) and `sign`
/// from the **form-decoded** query (so an unencoded `+` arrives as a space,
/// as on DingTalk). `Err` is DingTalk's `errmsg` for errcode 310000.
fn check_dingtalk(
    query: &HashMap<String, String>,
    secret: &str,
    now_ms: i64,
) -> Result<(), &'static str> {
    // A missing timestamp or sign is reported as a sign mismatch (§7.3).
    let (Some(ts), Some(sign)) = (query.get("timestamp"), query.get("sign")) else {
        return Err("sign not match");
    };
    let t: i64 = ts.parse().map_err(|_| "invalid timestamp")?;
    if (now_ms - t).abs() > DINGTALK_WINDOW_MS {
        return Err("invalid timestamp");
    }
    if !same(sign, &dingtalk_sign(ts, secret)) {
        return Err("sign not match");
    }
    Ok(())
}

/// Generic webhook: `X-Ackbot-Signature: t=<secs>,v1=<hex>[,v1=<hex>…]`; any
/// `v1` may match (rotation); hex is compared lowercased; window ±5 min.
fn check_webhook(header: Option<&str>, body: &[u8], secret: &str, now: i64) -> Result<(), String> {
    let header = header.ok_or("no X-Ackbot-Signature header")?;
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) if t.is_none() => t = Some(value),
            Some(("v1", value)) => v1.push(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    let t = t.ok_or("no t= in X-Ackbot-Signature")?;
    let secs: i64 = t
        .parse()
        .map_err(|_| format!("t={t:?} is not decimal seconds"))?;
    if (now - secs).abs() > WEBHOOK_WINDOW_SECS {
        return Err(format!(
            "t={secs} is {}s away from now (window {WEBHOOK_WINDOW_SECS}s)",
            now - secs
        ));
    }
    if v1.is_empty() {
        return Err("no v1= in X-Ackbot-Signature".into());
    }
    let expected = webhook_signature(secret, t, body);
    if !v1.iter().any(|v| same(v, &expected)) {
        return Err("v1 does not match".into());
    }
    Ok(())
}

// ------------------------------------------------------------------ API types

/// One scripted answer of the send endpoint (see [`MockBot::script`]).
#[derive(Debug, Clone)]
pub enum Reply {
    /// The platform's success answer (see each constructor).
    Success,
    /// This HTTP status with an empty body (a gateway error, e.g. 500 or 502).
    Status(u16),
    /// This HTTP status (e.g. 429 or 503) with `Retry-After: <secs>`, empty body.
    RetryAfter(u16, u64),
    /// HTTP 200 with this JSON body: a platform error code inside a 200
    /// (see [`Reply::code`], [`Reply::errcode`]).
    Body(Value),
    /// This HTTP status with this JSON body (e.g. Feishu's 9499 with 400).
    StatusBody(u16, Value),
    /// The platform's own rate-limit answer: Feishu bot 11232 (200), DingTalk
    /// 130101 (200), WeCom 45009 (200), Feishu app 429 + 99991400 with
    /// `x-ogw-ratelimit-*` headers, Slack 429 `rate_limited` + `Retry-After: 1`,
    /// webhook 429 + `Retry-After: 1`.
    RateLimited,
    /// The success answer, sent after this delay (to test timeouts).
    Delay(Duration),
}

impl Reply {
    /// A Feishu-style body in HTTP 200: `{"code":…,"msg":…,"data":{}}`.
    pub fn code(code: i64, msg: &str) -> Reply {
        Reply::Body(json!({"code": code, "msg": msg, "data": {}}))
    }

    /// A DingTalk/WeCom-style body in HTTP 200: `{"errcode":…,"errmsg":…}`.
    pub fn errcode(code: i64, msg: &str) -> Reply {
        Reply::Body(json!({"errcode": code, "errmsg": msg}))
    }
}

/// One request as the mock saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// When the request (with its whole body) arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// Form-decoded query (`+` is a space, as the platforms decode it); the
    /// first value wins when a name repeats.
    pub query: HashMap<String, String>,
    /// Lowercase names; repeated headers joined with `", "`.
    pub headers: HashMap<String, String>,
    /// The body as JSON, or `Value::String(raw)` when it is not JSON.
    pub body: Value,
    /// The exact body bytes.
    pub raw: Vec<u8>,
    /// Authentication checks (signature, window, token, key) passed.
    pub verified: bool,
    /// The HTTP status the mock answered.
    pub status: u16,
    /// The body the mock answered: JSON, `Value::String` for text, `Null` if empty.
    pub response: Value,
    /// Why the mock refused the request (its own words), `None` if accepted.
    pub rejection: Option<String>,
}

impl Received {
    fn of(request: &Request) -> Received {
        let mut query = HashMap::new();
        for (name, value) in request.url.query_pairs() {
            query
                .entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        let mut headers: HashMap<String, String> = HashMap::new();
        for (name, value) in request.headers.iter() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(existing) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                None => {
                    headers.insert(name.as_str().to_owned(), value);
                }
            }
        }
        let body = serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&request.body).into_owned()));
        Received {
            at: Instant::now(),
            method: request.method.as_str().to_owned(),
            path: request.url.path().to_owned(),
            query,
            headers,
            body,
            raw: request.body.clone(),
            verified: false,
            status: 0,
            response: Value::Null,
            rejection: None,
        }
    }

    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    fn summary(&self) -> String {
        format!(
            "{} {} verified={} -> {} {}{}",
            self.method,
            self.path,
            self.verified,
            self.status,
            self.response,
            self.rejection
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )
    }
}

// ------------------------------------------------------------------ the server

#[derive(Debug, Clone)]
enum Kind {
    FeishuBot { secret: Option<String> },
    DingTalk { secret: String },
    WeCom,
    Slack,
    Webhook { secret: Option<String> },
    FeishuApp { app_id: String, app_secret: String },
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    token_script: VecDeque<Reply>,
    received: Vec<Received>,
    others: Vec<Received>,
    token_fetches: usize,
    tokens_issued: usize,
    /// The one valid tenant token and when it was issued.
    token: Option<(String, Instant)>,
    /// Feishu app messages: id → (msg_type, parsed content).
    messages: HashMap<String, (String, Value)>,
    /// Feishu app `uuid` → message id (dedupe).
    uuids: HashMap<String, String>,
    messages_sent: usize,
}

/// A mock bot server. Dropping it stops the server.
pub struct MockBot {
    server: MockServer,
    kind: Kind,
    state: Arc<Mutex<State>>,
}

impl MockBot {
    /// Feishu/Lark custom bot (feishu.md §1). URL: `{base}/open-apis/bot/v2/hook/test-token`.
    ///
    /// Checks, in order:
    /// 1. hook token: other → 200 `{"code":19001,"msg":"param invalid: incoming webhook access token invalid","data":{}}` (§1.4, observed code);
    /// 2. body ≤ 20 KB and a JSON object: else 400 `{"code":9499,"msg":"Bad Request","data":{}}` (§1.4);
    /// 3. with a secret: `timestamp` (JSON string, Unix seconds, ±3600 s) and
    ///    `sign` (§1.3): else 200 `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time","data":{}}` (§1.3), `verified=false`;
    /// 4. shape (§1.6): `msg_type` text/post/image/share_chat/interactive with
    ///    `content.text` / `content.post` / `content.image_key` /
    ///    `content.share_chat_id` / `card` as a JSON **object** (§7.12): else 400 9499.
    ///
    /// Success: 200 `{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}` (§1.4).
    /// Without a secret, `timestamp`/`sign` in the body are ignored.
    pub async fn feishu_bot(secret: Option<&str>) -> Self {
        Self::start(Kind::FeishuBot {
            secret: secret.map(str::to_owned),
        })
        .await
    }

    /// DingTalk custom robot with 加签 (dingtalk.md §1). URL:
    /// `{base}/robot/send?access_token=test-token`; the sender appends
    /// `&timestamp=<ms>&sign=<urlencoded base64>`.
    ///
    /// Checks, in order (all answers HTTP 200, §1.4):
    /// 1. `access_token`: other/missing → `{"errcode":400101,"errmsg":"access_token does not exist"}` (§1.4 table);
    /// 2. `timestamp`/`sign` from the form-decoded query (§1.3): missing either
    ///    → `{"errcode":310000,"errmsg":"sign not match"}` (§7.3); not a number or
    ///    outside ±1 h → `{"errcode":310000,"errmsg":"invalid timestamp"}`; wrong
    ///    (incl. unencoded `+`, double-encoded) → 310000 `sign not match`; `verified=false`;
    /// 3. `Content-Type` must be `application/json…` → else `{"errcode":43004,…}` (§1.1);
    /// 4. body ≤ 20000 bytes → else `{"errcode":460101,"errmsg":"message too long, exceed 20000 bytes"}` (§1.4/1.5);
    /// 5. JSON with `msgtype` and its object (§1.6): missing → `{"errcode":40035,…}`;
    ///    msgtype not text/link/markdown/actionCard/feedCard → `{"errcode":400105,…}`.
    ///
    /// Success: `{"errcode":0,"errmsg":"ok"}`.
    pub async fn dingtalk_bot(secret: &str) -> Self {
        Self::start(Kind::DingTalk {
            secret: secret.to_owned(),
        })
        .await
    }

    /// WeCom group robot (dingtalk.md §4). URL: `{base}/cgi-bin/webhook/send?key=test-key`.
    /// No signature exists (§4.1); the key is the credential.
    ///
    /// Checks (all answers HTTP 200, §4.4):
    /// 1. `key`: other/missing → `{"errcode":93000,"errmsg":"invalid webhook url"}`, `verified=false`;
    /// 2. JSON object → else `{"errcode":47001,"errmsg":"data format error"}` (WeCom global code, not in the spec);
    /// 3. `msgtype` one of §4.2 → else `{"errcode":40008,"errmsg":"invalid message type"}`;
    ///    `text.content` / `markdown(_v2).content` empty → 44004; over 2048 / 4096
    ///    bytes → 40058 `… exceed max length …` (§4.2; the text code is inferred);
    ///    more than 8 news articles → 45008; a missing type object → 40035.
    ///
    /// Success: `{"errcode":0,"errmsg":"ok"}`.
    pub async fn wecom_bot() -> Self {
        Self::start(Kind::WeCom).await
    }

    /// Slack incoming webhook (Slack's public docs; there is no team spec).
    /// URL: `{base}/slack/hook`. Other paths → 404 `no_service`; body not JSON →
    /// 400 `invalid_payload`; no `text`, `blocks` or `attachments` → 400 `no_text`.
    /// Success: 200 `ok` (text/plain).
    pub async fn slack() -> Self {
        Self::start(Kind::Slack).await
    }

    /// Generic webhook (ackbot's own format). URL: `{base}/hook`. With a secret,
    /// requires `X-Ackbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
    /// "<t>.<raw body>")>` with `t` within ±300 s (see [`webhook_signature`]);
    /// else 401 `{"error":"invalid_signature","reason":…}`, `verified=false`.
    /// Success: 200 `{"ok":true}`.
    pub async fn webhook(secret: Option<&str>) -> Self {
        Self::start(Kind::Webhook {
            secret: secret.map(str::to_owned),
        })
        .await
    }

    /// Feishu app bot (feishu.md §2). [`url`](Self::url) is the API base.
    ///
    /// - `POST /open-apis/auth/v3/tenant_access_token/internal` with
    ///   `{"app_id","app_secret"}` (§2.1) → 200 `{"code":0,"msg":"ok",
    ///   "tenant_access_token":"t-N","expire":…}`. Like Feishu, a fetch while
    ///   the token is valid returns the **same** token with a smaller `expire`
    ///   (§2.1); after [`expire_token`](Self::expire_token) the next fetch
    ///   issues a new one (`t-1`, `t-2`, …). Only the newest is valid. Wrong
    ///   app_id or malformed body → 200 `{"code":10003,"msg":"invalid param"}`,
    ///   wrong secret → 200 `{"code":10014,"msg":"app secret invalid"}` (not in
    ///   the spec). Every request here counts in
    ///   [`token_fetches`](Self::token_fetches) and is recorded in
    ///   [`others`](Self::others); its answers can be scripted with
    ///   [`script_token`](Self::script_token).
    /// - `POST /open-apis/im/v1/messages?receive_id_type=…` (§2.2) and
    ///   `PATCH /open-apis/im/v1/messages/{id}` (§2.3) need
    ///   `Authorization: Bearer <current token>`: missing → 400
    ///   `{"code":99991661,…}`, any other token → 400 `{"code":99991663,"msg":
    ///   "Invalid access token for authorization. Please make a request with
    ///   token attached."}` (§2.1 names the code; HTTP 400 as Feishu's OpenAPI
    ///   answers business errors), `verified=false`.
    /// - Send: `receive_id_type` one of open_id/user_id/union_id/email/chat_id,
    ///   `receive_id`, `msg_type` strings, `uuid` ≤ 50 chars: else 400
    ///   `{"code":99992402,"msg":"field validation failed"}`; `content` a
    ///   **string** holding a JSON object: else 400 `{"code":230001,"msg":
    ///   "invalid message content"}` (§2.2, §7.12). Success: 200 `{"code":0,
    ///   "msg":"success","data":{"message_id":"om_mock_N","chat_id":…,
    ///   "msg_type":…,"body":{"content":…}}}`. A repeated `uuid` answers the
    ///   first message's id and posts nothing new (§2.2).
    /// - PATCH: `content` as above; the message must exist here, be
    ///   `interactive`, and both old and new card must set
    ///   `config.update_multi: true` (§2.3): else 400 `{"code":230001,…}`.
    ///   Success: 200 `{"code":0,"msg":"success","data":{}}`.
    pub async fn feishu_app(app_id: &str, app_secret: &str) -> Self {
        Self::start(Kind::FeishuApp {
            app_id: app_id.to_owned(),
            app_secret: app_secret.to_owned(),
        })
        .await
    }

    async fn start(kind: Kind) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(Handler {
                kind: kind.clone(),
                state: state.clone(),
            })
            .mount(&server)
            .await;
        MockBot {
            server,
            kind,
            state,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        self.server.uri()
    }

    /// What to configure as the channel's `url`: the full webhook URL, or for
    /// `feishu_app` the API base (`{base}`).
    pub fn url(&self) -> String {
        let base = self.base();
        match &self.kind {
            Kind::FeishuBot { .. } => format!("{base}/open-apis/bot/v2/hook/{HOOK_TOKEN}"),
            Kind::DingTalk { .. } => format!("{base}/robot/send?access_token={HOOK_TOKEN}"),
            Kind::WeCom => format!("{base}/cgi-bin/webhook/send?key={WECOM_KEY}"),
            Kind::Slack => format!("{base}/slack/hook"),
            Kind::Webhook { .. } => format!("{base}/hook"),
            Kind::FeishuApp { .. } => base,
        }
    }

    /// Answers for the next accepted requests to the send endpoint (for
    /// `feishu_app`: messages and PATCHes), in order; then [`Reply::Success`].
    /// Appends to what is still queued. Refused requests do not consume them.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().script.extend(replies);
    }

    /// `feishu_app`: answers for the next accepted token fetches, in order.
    pub fn script_token(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().token_script.extend(replies);
    }

    /// Send-endpoint requests, accepted or not, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// The accepted ones only (`verified` and answered 2xx).
    pub fn delivered(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.verified && r.rejection.is_none() && (200..300).contains(&r.status))
            .collect()
    }

    /// Every other request: token fetches, unknown paths and methods.
    pub fn others(&self) -> Vec<Received> {
        self.state().others.clone()
    }

    /// `feishu_app`: requests to the token endpoint so far.
    pub fn token_fetches(&self) -> usize {
        self.state().token_fetches
    }

    /// `feishu_app`: the contact API knows this user's name.
    pub async fn with_contact(&self, open_id: &str, name: &str) {
        // feishu_app: `GET /open-apis/contact/v3/users/{open_id}` answers this
        // user's name (the contact API's shape: `data.user.name`), ahead of
        // the catch-all handler.
        Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(format!(
                "/open-apis/contact/v3/users/{open_id}"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"code": 0, "msg": "success", "data": {"user": {"open_id": open_id, "name": name}}}),
            ))
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// `feishu_app`: the current token becomes invalid (99991663); the next
    /// fetch issues a new one.
    pub fn expire_token(&self) {
        assert!(
            matches!(self.kind, Kind::FeishuApp { .. }),
            "expire_token is for feishu_app"
        );
        self.state().token = None;
    }

    /// `feishu_app`: the current content (card) of a message sent here, after PATCHes.
    pub fn message(&self, message_id: &str) -> Option<Value> {
        self.state()
            .messages
            .get(message_id)
            .map(|(_, content)| content.clone())
    }

    /// Waits until `n` send-endpoint requests arrived; panics after `timeout`
    /// with what did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if Instant::now() >= deadline {
                let list = |v: &[Received]| {
                    v.iter()
                        .map(|r| format!("\n  {}", r.summary()))
                        .collect::<String>()
                };
                panic!(
                    "{}: expected {n} request(s) within {timeout:?}, got {}:{}\nother requests:{}",
                    self.url(),
                    received.len(),
                    list(&received),
                    list(&self.others())
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

// ------------------------------------------------------------------ handling

struct Answer {
    status: u16,
    body: Body,
    headers: Vec<(&'static str, String)>,
    delay: Option<Duration>,
}

enum Body {
    Empty,
    Json(Value),
    Text(String),
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: Body::Json(body),
            headers: Vec::new(),
            delay: None,
        }
    }

    fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: Body::Text(body.to_owned()),
            headers: Vec::new(),
            delay: None,
        }
    }

    fn empty(status: u16) -> Answer {
        Answer {
            status,
            body: Body::Empty,
            headers: Vec::new(),
            delay: None,
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    fn recorded(&self) -> Value {
        match &self.body {
            Body::Empty => Value::Null,
            Body::Json(v) => v.clone(),
            Body::Text(s) => Value::String(s.clone()),
        }
    }

    fn template(&self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status);
        for (name, value) in &self.headers {
            t = t.insert_header(*name, value.as_str());
        }
        t = match &self.body {
            Body::Empty => t,
            Body::Json(v) => t.set_body_raw(serde_json::to_vec(v).unwrap(), JSON_UTF8),
            Body::Text(s) => t.set_body_raw(s.clone().into_bytes(), TEXT_UTF8),
        };
        match self.delay {
            Some(d) => t.set_delay(d),
            None => t,
        }
    }
}

fn feishu_error(status: u16, code: i64, msg: &str) -> Answer {
    Answer::json(status, json!({"code": code, "msg": msg, "data": {}}))
}

fn errcode(code: i64, msg: &str) -> Answer {
    Answer::json(200, json!({"errcode": code, "errmsg": msg}))
}

fn feishu_bad_request() -> Answer {
    feishu_error(400, 9499, "Bad Request")
}

#[derive(Clone, Copy, PartialEq)]
enum Endpoint {
    Send,
    Token,
    Unknown,
}

/// What the success answer needs (built only if the script says Success/Delay).
enum Success {
    Plain,
    Token,
    FeishuSend {
        chat_id: String,
        msg_type: String,
        content: String,
        card: Value,
        uuid: Option<String>,
    },
    FeishuPatch {
        message_id: String,
        card: Value,
    },
}

enum Verdict {
    Accepted(Success),
    Refused {
        verified: bool,
        answer: Answer,
        why: String,
    },
}

fn refuse(verified: bool, answer: Answer, why: impl Into<String>) -> Verdict {
    Verdict::Refused {
        verified,
        answer,
        why: why.into(),
    }
}

fn unknown_route(rec: &Received, answer: Answer) -> (Endpoint, Verdict) {
    let why = format!("no such endpoint: {} {}", rec.method, rec.path);
    (Endpoint::Unknown, refuse(false, answer, why))
}

fn not_found(rec: &Received) -> (Endpoint, Verdict) {
    unknown_route(rec, Answer::text(404, "404 page not found"))
}

struct Handler {
    kind: Kind,
    state: Arc<Mutex<State>>,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut rec = Received::of(request);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (endpoint, verdict) = self.kind.route(request, &rec, &mut st);
        let answer = match verdict {
            Verdict::Refused {
                verified,
                answer,
                why,
            } => {
                rec.verified = verified;
                rec.rejection = Some(why);
                answer
            }
            Verdict::Accepted(success) => {
                rec.verified = true;
                let script = if endpoint == Endpoint::Token {
                    &mut st.token_script
                } else {
                    &mut st.script
                };
                let reply = script.pop_front().unwrap_or(Reply::Success);
                self.kind.answer(reply, success, &mut st)
            }
        };
        rec.status = answer.status;
        rec.response = answer.recorded();
        match endpoint {
            Endpoint::Send => st.received.push(rec),
            Endpoint::Token | Endpoint::Unknown => st.others.push(rec),
        }
        answer.template()
    }
}

impl Kind {
    fn route(&self, req: &Request, rec: &Received, st: &mut State) -> (Endpoint, Verdict) {
        match self {
            Kind::FeishuBot { secret } => feishu_bot_route(secret.as_deref(), req, rec),
            Kind::DingTalk { secret } => dingtalk_route(secret, req, rec),
            Kind::WeCom => wecom_route(req, rec),
            Kind::Slack => slack_route(req, rec),
            Kind::Webhook { secret } => webhook_route(secret.as_deref(), req, rec),
            Kind::FeishuApp { app_id, app_secret } => {
                feishu_app_route(app_id, app_secret, req, rec, st)
            }
        }
    }

    fn answer(&self, reply: Reply, success: Success, st: &mut State) -> Answer {
        match reply {
            Reply::Success => self.success(success, st),
            Reply::Delay(d) => {
                let mut answer = self.success(success, st);
                answer.delay = Some(d);
                answer
            }
            Reply::Status(status) => Answer::empty(status),
            Reply::RetryAfter(status, secs) => {
                Answer::empty(status).header("retry-after", secs.to_string())
            }
            Reply::Body(body) => Answer::json(200, body),
            Reply::StatusBody(status, body) => Answer::json(status, body),
            Reply::RateLimited => self.rate_limited(),
        }
    }

    fn rate_limited(&self) -> Answer {
        match self {
            // feishu.md §1.4: 11232, observed with HTTP 200.
            Kind::FeishuBot { .. } => feishu_error(
                200,
                11232,
                "frequency limited psm[lark.oapi.app_platform_runtime]appID[0]",
            ),
            // dingtalk.md §1.4: the rate-limit code seen in practice.
            Kind::DingTalk { .. } => errcode(130101, "send too fast, exceed 20 times per minute"),
            // dingtalk.md §4.4.
            Kind::WeCom => errcode(45009, "api freq out of limit"),
            Kind::Slack => Answer::text(429, "rate_limited").header("retry-after", "1"),
            Kind::Webhook { .. } => Answer::empty(429).header("retry-after", "1"),
            // feishu.md §2.4.
            Kind::FeishuApp { .. } => Answer::json(
                429,
                json!({"code": 99991400, "msg": "request trigger frequency limit"}),
            )
            .header("x-ogw-ratelimit-limit", "50")
            .header("x-ogw-ratelimit-reset", "1"),
        }
    }

    fn success(&self, success: Success, st: &mut State) -> Answer {
        match success {
            Success::Plain => match self {
                Kind::FeishuBot { .. } => Answer::json(
                    200,
                    json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
                ),
                Kind::DingTalk { .. } | Kind::WeCom => errcode(0, "ok"),
                Kind::Slack => Answer::text(200, "ok"),
                Kind::Webhook { .. } => Answer::json(200, json!({"ok": true})),
                Kind::FeishuApp { .. } => {
                    Answer::json(200, json!({"code": 0, "msg": "success", "data": {}}))
                }
            },
            Success::Token => {
                let (token, issued) = match &st.token {
                    Some(current) => current.clone(),
                    None => {
                        st.tokens_issued += 1;
                        let fresh = (format!("t-{}", st.tokens_issued), Instant::now());
                        st.token = Some(fresh.clone());
                        fresh
                    }
                };
                let expire = (7200 - issued.elapsed().as_secs() as i64).max(0);
                Answer::json(
                    200,
                    json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire}),
                )
            }
            Success::FeishuSend {
                chat_id,
                msg_type,
                content,
                card,
                uuid,
            } => {
                let existing = uuid.as_ref().and_then(|u| st.uuids.get(u)).cloned();
                let message_id = match existing {
                    Some(id) => id,
                    None => {
                        st.messages_sent += 1;
                        let id = format!("om_mock_{}", st.messages_sent);
                        st.messages.insert(id.clone(), (msg_type.clone(), card));
                        if let Some(u) = uuid {
                            st.uuids.insert(u, id.clone());
                        }
                        id
                    }
                };
                Answer::json(
                    200,
                    json!({"code": 0, "msg": "success", "data": {
                        "message_id": message_id, "chat_id": chat_id, "msg_type": msg_type,
                        "create_time": (now_ms()).to_string(), "body": {"content": content}}}),
                )
            }
            Success::FeishuPatch { message_id, card } => {
                if let Some(entry) = st.messages.get_mut(&message_id) {
                    entry.1 = card;
                }
                Answer::json(200, json!({"code": 0, "msg": "success", "data": {}}))
            }
        }
    }
}

fn is_post(req: &Request) -> bool {
    req.method.as_str() == "POST"
}

// ----- Feishu custom bot (feishu.md §1)

fn feishu_bot_route(secret: Option<&str>, req: &Request, rec: &Received) -> (Endpoint, Verdict) {
    let Some(token) = rec.path.strip_prefix("/open-apis/bot/v2/hook/") else {
        return not_found(rec);
    };
    if !is_post(req) {
        return not_found(rec);
    }
    (Endpoint::Send, feishu_bot_verdict(secret, token, req))
}

fn feishu_bot_verdict(secret: Option<&str>, token: &str, req: &Request) -> Verdict {
    if token != HOOK_TOKEN {
        let answer = feishu_error(
            200,
            19001,
            "param invalid: incoming webhook access token invalid",
        );
        return refuse(false, answer, format!("unknown hook token {token:?}"));
    }
    if req.body.len() > FEISHU_BOT_MAX_BODY {
        let why = format!("body is {} bytes, over 20 KB", req.body.len());
        return refuse(false, feishu_bad_request(), why);
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body @ Value::Object(_)) => body,
        _ => return refuse(false, feishu_bad_request(), "body is not a JSON object"),
    };
    if let Some(secret) = secret {
        if let Err(why) = check_feishu_bot(&body, secret, now_secs()) {
            let answer = feishu_error(
                200,
                19021,
                "sign match fail or timestamp is not within one hour from current time",
            );
            return refuse(false, answer, why);
        }
    }
    if let Err(why) = feishu_bot_shape(&body) {
        return refuse(true, feishu_bad_request(), why);
    }
    Verdict::Accepted(Success::Plain)
}

fn feishu_bot_shape(body: &Value) -> Result<(), String> {
    let content = &body["content"];
    let (ok, need) = match body["msg_type"].as_str() {
        Some("text") => (content["text"].is_string(), "content.text (string)"),
        Some("post") => (content["post"].is_object(), "content.post (object)"),
        Some("image") => (content["image_key"].is_string(), "content.image_key"),
        Some("share_chat") => (
            content["share_chat_id"].is_string(),
            "content.share_chat_id",
        ),
        Some("interactive") => (
            body["card"].is_object(),
            "`card` as a JSON object (a string is the app-bot form, §7.12)",
        ),
        Some(other) => return Err(format!("unknown msg_type {other:?}")),
        None => return Err("no msg_type".into()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("msg_type {} needs {need}", body["msg_type"]))
    }
}

// ----- DingTalk custom robot (dingtalk.md §1)

fn dingtalk_route(secret: &str, req: &Request, rec: &Received) -> (Endpoint, Verdict) {
    if rec.path != "/robot/send" || !is_post(req) {
        return not_found(rec);
    }
    (Endpoint::Send, dingtalk_verdict(secret, req, rec))
}

fn dingtalk_verdict(secret: &str, req: &Request, rec: &Received) -> Verdict {
    if rec.query.get("access_token").map(String::as_str) != Some(HOOK_TOKEN) {
        let why = format!("access_token {:?}", rec.query.get("access_token"));
        return refuse(false, errcode(400101, "access_token does not exist"), why);
    }
    if let Err(errmsg) = check_dingtalk(&rec.query, secret, now_ms()) {
        let why = format!(
            "{errmsg}: timestamp={:?} sign={:?} (form-decoded)",
            rec.query.get("timestamp"),
            rec.query.get("sign")
        );
        return refuse(false, errcode(310000, errmsg), why);
    }
    let content_type = rec.header("content-type").unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        let answer = errcode(43004, "无效的HTTP HEADER Content-Type");
        return refuse(true, answer, format!("Content-Type {content_type:?}"));
    }
    if req.body.len() > DINGTALK_MAX_BODY {
        let answer = errcode(460101, "message too long, exceed 20000 bytes");
        return refuse(true, answer, format!("body is {} bytes", req.body.len()));
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body @ Value::Object(_)) => body,
        _ => {
            return refuse(
                true,
                errcode(40035, "缺少参数 json"),
                "body is not a JSON object",
            );
        }
    };
    let Some(msgtype) = body["msgtype"].as_str() else {
        return refuse(true, errcode(40035, "缺少参数 msgtype"), "no msgtype");
    };
    let m = &body[msgtype];
    let ok = match msgtype {
        "text" => m["content"].is_string(),
        "markdown" => m["title"].is_string() && m["text"].is_string(),
        "link" => m["title"].is_string() && m["text"].is_string() && m["messageUrl"].is_string(),
        "actionCard" => {
            m["title"].is_string()
                && m["text"].is_string()
                && ((m["singleTitle"].is_string() && m["singleURL"].is_string())
                    || m["btns"].is_array())
        }
        "feedCard" => m["links"].is_array(),
        other => {
            let why = format!("unsupported msgtype {other:?} (§1.6)");
            return refuse(true, errcode(400105, "不支持的消息类型"), why);
        }
    };
    if !ok {
        let why = format!("msgtype {msgtype} lacks required fields (§1.6): {m}");
        return refuse(true, errcode(40035, &format!("缺少参数 {msgtype}")), why);
    }
    Verdict::Accepted(Success::Plain)
}

// ----- WeCom group robot (dingtalk.md §4)

fn wecom_route(req: &Request, rec: &Received) -> (Endpoint, Verdict) {
    if rec.path != "/cgi-bin/webhook/send" || !is_post(req) {
        return not_found(rec);
    }
    (Endpoint::Send, wecom_verdict(req, rec))
}

fn wecom_verdict(req: &Request, rec: &Received) -> Verdict {
    if rec.query.get("key").map(String::as_str) != Some(WECOM_KEY) {
        let why = format!("key {:?}", rec.query.get("key"));
        return refuse(false, errcode(93000, "invalid webhook url"), why);
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(body @ Value::Object(_)) => body,
        _ => {
            return refuse(
                true,
                errcode(47001, "data format error"),
                "body is not a JSON object",
            );
        }
    };
    let msgtype = body["msgtype"].as_str().unwrap_or("");
    let m = &body[msgtype];
    let content_len = |limit: usize| -> Option<Verdict> {
        let content = m["content"].as_str().unwrap_or("");
        if content.is_empty() {
            return Some(refuse(
                true,
                errcode(44004, "empty content"),
                "empty content",
            ));
        }
        if content.len() > limit {
            let msg = format!("{msgtype}.content exceed max length {limit}");
            let why = format!("{msgtype}.content is {} bytes", content.len());
            return Some(refuse(true, errcode(40058, &msg), why));
        }
        None
    };
    let missing = |field: &str| {
        let why = format!("msgtype {msgtype} lacks {field}");
        refuse(true, errcode(40035, "invalid parameter"), why)
    };
    match msgtype {
        "text" => {
            if let Some(refused) = content_len(2048) {
                return refused;
            }
        }
        "markdown" | "markdown_v2" => {
            if let Some(refused) = content_len(4096) {
                return refused;
            }
        }
        "image" => {
            if !(m["base64"].is_string() && m["md5"].is_string()) {
                return missing("image.base64 / image.md5");
            }
        }
        "news" => match m["articles"].as_array() {
            Some(a) if a.len() > 8 => {
                return refuse(
                    true,
                    errcode(45008, "article size out of limit"),
                    "over 8 articles",
                );
            }
            Some(a) if !a.is_empty() => {}
            _ => return missing("news.articles"),
        },
        "file" | "voice" => {
            if !m["media_id"].is_string() {
                return refuse(true, errcode(41006, "media_id missing"), "no media_id");
            }
        }
        "template_card" => {
            if !m["card_type"].is_string() {
                return missing("template_card.card_type");
            }
        }
        other => {
            let why = format!("msgtype {other:?} (§4.2)");
            return refuse(true, errcode(40008, "invalid message type"), why);
        }
    }
    Verdict::Accepted(Success::Plain)
}

// ----- Slack incoming webhook

fn slack_route(req: &Request, rec: &Received) -> (Endpoint, Verdict) {
    if rec.path != "/slack/hook" || !is_post(req) {
        return unknown_route(rec, Answer::text(404, "no_service"));
    }
    let verdict = match serde_json::from_slice::<Value>(&req.body) {
        Ok(body) if body.is_object() => {
            let has = |k: &str| match &body[k] {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            };
            if has("text") || has("blocks") || has("attachments") {
                Verdict::Accepted(Success::Plain)
            } else {
                refuse(
                    true,
                    Answer::text(400, "no_text"),
                    "no text, blocks or attachments",
                )
            }
        }
        _ => refuse(
            true,
            Answer::text(400, "invalid_payload"),
            "body is not a JSON object",
        ),
    };
    (Endpoint::Send, verdict)
}

// ----- Generic webhook

fn webhook_route(secret: Option<&str>, req: &Request, rec: &Received) -> (Endpoint, Verdict) {
    if rec.path != "/hook" || !is_post(req) {
        return not_found(rec);
    }
    if let Some(secret) = secret {
        let header = rec.header("x-ackbot-signature");
        if let Err(why) = check_webhook(header, &req.body, secret, now_secs()) {
            let answer = Answer::json(401, json!({"error": "invalid_signature", "reason": why}));
            return (Endpoint::Send, refuse(false, answer, why));
        }
    }
    (Endpoint::Send, Verdict::Accepted(Success::Plain))
}

// ----- Feishu app bot (feishu.md §2)

const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";
const MESSAGES_PATH: &str = "/open-apis/im/v1/messages";

fn feishu_app_route(
    app_id: &str,
    app_secret: &str,
    req: &Request,
    rec: &Received,
    st: &mut State,
) -> (Endpoint, Verdict) {
    let method = req.method.as_str();
    if rec.path == TOKEN_PATH && method == "POST" {
        st.token_fetches += 1;
        return (
            Endpoint::Token,
            feishu_token_verdict(app_id, app_secret, req),
        );
    }
    if rec.path == MESSAGES_PATH && method == "POST" {
        return (Endpoint::Send, feishu_send_verdict(req, rec, st));
    }
    if let Some(id) = rec.path.strip_prefix("/open-apis/im/v1/messages/") {
        if method == "PATCH" && !id.is_empty() && !id.contains('/') {
            return (Endpoint::Send, feishu_patch_verdict(id, req, rec, st));
        }
    }
    // Feishu answers unknown OpenAPI paths with 404.
    not_found(rec)
}

fn feishu_token_verdict(app_id: &str, app_secret: &str, req: &Request) -> Verdict {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let (Some(id), Some(secret)) = (body["app_id"].as_str(), body["app_secret"].as_str()) else {
        let answer = Answer::json(200, json!({"code": 10003, "msg": "invalid param"}));
        return refuse(false, answer, "body needs app_id and app_secret strings");
    };
    if id != app_id {
        let answer = Answer::json(200, json!({"code": 10003, "msg": "invalid param"}));
        return refuse(false, answer, format!("unknown app_id {id:?}"));
    }
    if !same(secret, app_secret) {
        let answer = Answer::json(200, json!({"code": 10014, "msg": "app secret invalid"}));
        return refuse(false, answer, "wrong app_secret");
    }
    Verdict::Accepted(Success::Token)
}

/// The Bearer check shared by send and PATCH.
fn feishu_auth(rec: &Received, st: &State) -> Result<(), Verdict> {
    let Some(auth) = rec.header("authorization") else {
        let answer = feishu_error(
            400,
            99991661,
            "Missing access token for authorization. Please make a request with token attached.",
        );
        return Err(refuse(false, answer, "no Authorization header"));
    };
    let current = st.token.as_ref().map(|(t, _)| t.as_str());
    let valid = match (auth.strip_prefix("Bearer "), current) {
        (Some(given), Some(current)) => same(given, current),
        _ => false,
    };
    if !valid {
        let answer = feishu_error(
            400,
            99991663,
            "Invalid access token for authorization. Please make a request with token attached.",
        );
        let why = format!("Authorization {auth:?}, current token {current:?}");
        return Err(refuse(false, answer, why));
    }
    Ok(())
}

fn field_validation(why: impl Into<String>) -> Verdict {
    refuse(
        true,
        feishu_error(400, 99992402, "field validation failed"),
        why,
    )
}

fn invalid_content(why: impl Into<String>) -> Verdict {
    refuse(
        true,
        feishu_error(400, 230001, "invalid message content"),
        why,
    )
}

/// `content` must be a string holding a JSON object (§2.2, §7.12).
fn feishu_content(body: &Value) -> Result<(String, Value), Verdict> {
    match &body["content"] {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(card @ Value::Object(_)) => Ok((s.clone(), card)),
            _ => Err(invalid_content("content is not a JSON object in a string")),
        },
        Value::Null => Err(field_validation("no content")),
        other => Err(invalid_content(format!(
            "content must be a string of JSON, got {}",
            json_type(other)
        ))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn feishu_send_verdict(req: &Request, rec: &Received, st: &State) -> Verdict {
    if let Err(refused) = feishu_auth(rec, st) {
        return refused;
    }
    let id_type = rec
        .query
        .get("receive_id_type")
        .map(String::as_str)
        .unwrap_or("");
    if !["open_id", "user_id", "union_id", "email", "chat_id"].contains(&id_type) {
        return field_validation(format!("receive_id_type {id_type:?}"));
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    if !body.is_object() {
        return field_validation("body is not a JSON object");
    }
    let (Some(receive_id), Some(msg_type)) =
        (body["receive_id"].as_str(), body["msg_type"].as_str())
    else {
        return field_validation("receive_id and msg_type must be strings");
    };
    let uuid = match &body["uuid"] {
        Value::Null => None,
        Value::String(u) if u.chars().count() <= 50 => Some(u.clone()),
        other => return field_validation(format!("uuid must be a string of ≤ 50 chars: {other}")),
    };
    let (content, card) = match feishu_content(&body) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let chat_id = if id_type == "chat_id" {
        receive_id.to_owned()
    } else {
        "oc_mock".to_owned()
    };
    Verdict::Accepted(Success::FeishuSend {
        chat_id,
        msg_type: msg_type.to_owned(),
        content,
        card,
        uuid,
    })
}

fn feishu_patch_verdict(message_id: &str, req: &Request, rec: &Received, st: &State) -> Verdict {
    if let Err(refused) = feishu_auth(rec, st) {
        return refused;
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let (_, card) = match feishu_content(&body) {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let refused = |why: String| {
        refuse(
            true,
            feishu_error(400, 230001, "invalid message_id or card"),
            why,
        )
    };
    let Some((msg_type, old)) = st.messages.get(message_id) else {
        return refused(format!("message {message_id:?} was not sent here"));
    };
    if msg_type != "interactive" {
        return refused(format!("message {message_id} is {msg_type:?}, not a card"));
    }
    let shared = |card: &Value| card["config"]["update_multi"] == Value::Bool(true);
    if !shared(old) || !shared(&card) {
        return refused(format!(
            "both cards need config.update_multi=true (§2.3): old {}, new {}",
            shared(old),
            shared(&card)
        ));
    }
    Verdict::Accepted(Success::FeishuPatch {
        message_id: message_id.to_owned(),
        card,
    })
}

// ------------------------------------------------------------------ self-tests

mod self_tests {
    use super::*;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

    fn vectors(file: &str) -> Value {
        let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    fn encode(s: &str) -> String {
        utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
    }

    /// The form-decoded query of `?{query}`, as the mock sees it.
    fn query_of(query: &str) -> HashMap<String, String> {
        reqwest::Url::parse(&format!("http://x/?{query}"))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    async fn json_of(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    // ---- vectors

    #[test]
    fn feishu_bot_sign_matches_the_spec_vectors() {
        let v = &vectors("feishu-vectors.json")["a_custom_bot_sign"];
        let secret = v["secret"].as_str().unwrap();
        let ts = v["timestamp"].as_i64().unwrap().to_string();
        assert_eq!(feishu_bot_sign(&ts, secret), v["sign"].as_str().unwrap());
        let go = &v["cross_check_go_lark"];
        assert_eq!(
            feishu_bot_sign(
                &go["timestamp"].as_i64().unwrap().to_string(),
                go["secret"].as_str().unwrap()
            ),
            go["sign"].as_str().unwrap()
        );

        // The verifier accepts the spec's example body at its own time...
        let body = v["request_body_example"].clone();
        let t = v["timestamp"].as_i64().unwrap();
        check_feishu_bot(&body, secret, t).unwrap();
        check_feishu_bot(&body, secret, t - 3600).unwrap();
        // ...not an hour and a second later, nor with the swapped construction.
        assert!(check_feishu_bot(&body, secret, t + 3601).is_err());
        let mut swapped = body.clone();
        swapped["sign"] = v["wrong_if_key_and_message_swapped"].clone();
        assert!(check_feishu_bot(&swapped, secret, t).is_err());
        let mut number = body.clone();
        number["timestamp"] = json!(t);
        assert!(check_feishu_bot(&number, secret, t).is_err());
        assert!(check_feishu_bot(&body, "other-secret", t).is_err());
    }

    #[test]
    fn dingtalk_sign_matches_the_spec_vectors() {
        let all = vectors("dingtalk-vectors.json");
        for id in [
            "a_dingtalk_custom_robot_sign",
            "a2_dingtalk_custom_robot_sign_with_plus_and_slash",
        ] {
            let v = &all[id];
            let secret = v["secret"].as_str().unwrap();
            let ts = v["timestamp"].as_str().unwrap();
            let now: i64 = ts.parse().unwrap();
            assert_eq!(
                dingtalk_sign(ts, secret),
                v["sign_base64"].as_str().unwrap()
            );
            assert_eq!(
                encode(&dingtalk_sign(ts, secret)),
                v["sign_urlencoded"].as_str().unwrap()
            );
            let q = format!(
                "access_token=TOKEN&timestamp={ts}&sign={}",
                v["sign_urlencoded"].as_str().unwrap()
            );
            check_dingtalk(&query_of(&q), secret, now).unwrap();
            assert_eq!(
                check_dingtalk(&query_of(&q), secret, now + DINGTALK_WINDOW_MS + 1),
                Err("invalid timestamp")
            );
            assert_eq!(
                check_dingtalk(&query_of(&q), "SECother", now),
                Err("sign not match")
            );
        }

        let a = &all["a_dingtalk_custom_robot_sign"];
        let now = 1_700_000_000_000;
        for wrong in [
            "wrong_if_key_and_message_swapped_feishu_style",
            "wrong_if_SEC_prefix_stripped_from_secret",
        ] {
            let q = format!(
                "timestamp=1700000000000&sign={}",
                encode(a[wrong].as_str().unwrap())
            );
            assert_eq!(
                check_dingtalk(&query_of(&q), "SECdemo", now),
                Err("sign not match"),
                "{wrong}"
            );
        }
        let q = format!(
            "timestamp=1700000000&sign={}",
            encode(a["wrong_if_timestamp_in_seconds"].as_str().unwrap())
        );
        assert_eq!(
            check_dingtalk(&query_of(&q), "SECdemo", now),
            Err("invalid timestamp")
        );

        // a2: `+` left raw is form-decoded to a space; double encoding survives one decode.
        let a2 = &all["a2_dingtalk_custom_robot_sign_with_plus_and_slash"];
        let now = 1_700_000_000_001;
        for q in [
            format!(
                "timestamp=1700000000001&sign={}",
                a2["sign_base64"].as_str().unwrap()
            ),
            format!(
                "timestamp=1700000000001&sign={}",
                a2["wrong_if_double_encoded"].as_str().unwrap()
            ),
        ] {
            assert_eq!(
                check_dingtalk(&query_of(&q), "SECdemo", now),
                Err("sign not match"),
                "{q}"
            );
        }
        assert_eq!(
            query_of(&format!("sign={}", a2["sign_base64"].as_str().unwrap()))["sign"],
            a2["wrong_if_not_urlencoded_server_form_decodes_plus_to_space"]
                .as_str()
                .unwrap()
        );
        // Missing parts count as a sign mismatch (§7.3).
        assert_eq!(
            check_dingtalk(&query_of("timestamp=1700000000001"), "SECdemo", now),
            Err("sign not match")
        );
    }

    #[test]
    fn webhook_signature_is_checked() {
        let body = br#"{"a":1}"#;
        let now = 1_700_000_000;
        let sig = webhook_signature("whsec", "1700000000", body);
        // Independent: HMAC over "<t>." ‖ body, done here in one go.
        let mut mac = HmacSha256::new_from_slice(b"whsec").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        let header = format!("t=1700000000,v1={sig}");
        check_webhook(Some(&header), body, "whsec", now).unwrap();
        let upper = format!("t=1700000000,v1={}", sig.to_uppercase());
        check_webhook(Some(&upper), body, "whsec", now).unwrap();
        check_webhook(
            Some(&format!("t=1700000000,v1=00,v1={sig}")),
            body,
            "whsec",
            now,
        )
        .unwrap();
        assert!(check_webhook(Some(&header), br#"{"a":2}"#, "whsec", now).is_err());
        assert!(check_webhook(Some(&header), body, "other", now).is_err());
        assert!(check_webhook(Some(&header), body, "whsec", now + 301).is_err());
        assert!(check_webhook(Some("t=1700000000"), body, "whsec", now).is_err());
        assert!(check_webhook(None, body, "whsec", now).is_err());
    }

    // ---- Feishu custom bot

    fn feishu_text(ts: &str, sign: &str) -> Value {
        json!({"timestamp": ts, "sign": sign, "msg_type": "text", "content": {"text": "disk full"}})
    }

    #[tokio::test]
    async fn feishu_bot_accepts_a_signed_message_and_refuses_bad_ones() {
        let bot = MockBot::feishu_bot(Some("s3cret")).await;
        let c = client();
        let now = now_secs().to_string();

        let res = c
            .post(bot.url())
            .json(&feishu_text(&now, &feishu_bot_sign(&now, "s3cret")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_of(res).await,
            (
                200,
                json!({"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"})
            )
        );

        let stale = (now_secs() - 7200).to_string();
        let ms = now_ms().to_string();
        let bad = [
            feishu_text(&now, &feishu_bot_sign(&now, "wrong")),
            feishu_text(&stale, &feishu_bot_sign(&stale, "s3cret")),
            feishu_text(&ms, &feishu_bot_sign(&ms, "s3cret")),
            json!({"msg_type": "text", "content": {"text": "unsigned"}}),
            json!({"timestamp": now_secs(), "sign": feishu_bot_sign(&now, "s3cret"),
                   "msg_type": "text", "content": {"text": "number"}}),
        ];
        for body in &bad {
            let res = c.post(bot.url()).json(body).send().await.unwrap();
            let (status, json) = json_of(res).await;
            assert_eq!(status, 200);
            assert_eq!(json["code"], 19021, "{body}");
            assert_eq!(
                json["msg"],
                "sign match fail or timestamp is not within one hour from current time"
            );
        }
        let got = bot.received();
        assert_eq!(got.len(), 6);
        assert!(got[0].verified && got[0].rejection.is_none());
        assert!(
            got[1..]
                .iter()
                .all(|r| !r.verified && r.rejection.is_some())
        );
        assert_eq!(got[0].body["content"]["text"], "disk full");
        assert_eq!(bot.delivered().len(), 1);
    }

    #[tokio::test]
    async fn feishu_bot_checks_token_and_shape() {
        let bot = MockBot::feishu_bot(None).await;
        let c = client();
        let card_as_string = json!({"msg_type": "interactive", "card": "{\"schema\":\"2.0\"}"});
        let res = c
            .post(bot.url())
            .json(&card_as_string)
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_of(res).await,
            (400, json!({"code": 9499, "msg": "Bad Request", "data": {}}))
        );

        let wrong_hook = format!("{}/open-apis/bot/v2/hook/other", bot.base());
        let res = c
            .post(wrong_hook)
            .json(&json!({"msg_type": "text", "content": {"text": "x"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["code"], 19001);

        let res = c.post(bot.url()).body("not json").send().await.unwrap();
        assert_eq!(json_of(res).await.1["code"], 9499);

        let card =
            json!({"msg_type": "interactive", "card": {"schema": "2.0", "body": {"elements": []}}});
        let res = c.post(bot.url()).json(&card).send().await.unwrap();
        assert_eq!(json_of(res).await.1["code"], 0);

        let got = bot.received();
        assert_eq!(
            got.iter()
                .map(|r| (r.verified, r.status))
                .collect::<Vec<_>>(),
            [(true, 400), (false, 200), (false, 400), (true, 200)]
        );
    }

    // ---- DingTalk

    fn dingtalk_url(bot: &MockBot, ts: &str, sign: &str) -> String {
        format!("{}&timestamp={ts}&sign={sign}", bot.url())
    }

    fn signed_dingtalk_url(bot: &MockBot, secret: &str) -> String {
        let ts = now_ms().to_string();
        dingtalk_url(bot, &ts, &encode(&dingtalk_sign(&ts, secret)))
    }

    fn dingtalk_text() -> Value {
        json!({"msgtype": "text", "text": {"content": "[FIRING] disk full"}})
    }

    #[tokio::test]
    async fn dingtalk_accepts_a_signed_message_and_refuses_bad_ones() {
        let secret = "SECmock";
        let bot = MockBot::dingtalk_bot(secret).await;
        let c = client();

        let res = c
            .post(signed_dingtalk_url(&bot, secret))
            .json(&dingtalk_text())
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_of(res).await,
            (200, json!({"errcode": 0, "errmsg": "ok"}))
        );

        // A timestamp whose base64 sign has a `+`, sent without encoding.
        let mut t = now_ms();
        while !dingtalk_sign(&t.to_string(), secret).contains('+') {
            t += 1;
        }
        let ts = t.to_string();
        let stale = (now_ms() - 2 * 3_600_000).to_string();
        let secs = now_secs().to_string();
        let now = now_ms().to_string();
        let cases = [
            (
                dingtalk_url(&bot, &now, &encode(&dingtalk_sign(&now, "SECwrong"))),
                "sign not match",
            ),
            (
                dingtalk_url(&bot, &ts, &dingtalk_sign(&ts, secret)),
                "sign not match",
            ),
            (
                dingtalk_url(&bot, &stale, &encode(&dingtalk_sign(&stale, secret))),
                "invalid timestamp",
            ),
            (
                dingtalk_url(&bot, &secs, &encode(&dingtalk_sign(&secs, secret))),
                "invalid timestamp",
            ),
            (bot.url(), "sign not match"),
        ];
        for (url, errmsg) in &cases {
            let res = c.post(url).json(&dingtalk_text()).send().await.unwrap();
            assert_eq!(
                json_of(res).await,
                (200, json!({"errcode": 310000, "errmsg": errmsg})),
                "{url}"
            );
        }
        // The same `+` sign, encoded once, passes.
        let res = c
            .post(dingtalk_url(
                &bot,
                &ts,
                &encode(&dingtalk_sign(&ts, secret)),
            ))
            .json(&dingtalk_text())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 0);

        let got = bot.received();
        assert_eq!(
            got.iter().map(|r| r.verified).collect::<Vec<_>>(),
            [true, false, false, false, false, false, true]
        );
        assert_eq!(got[0].query["access_token"], HOOK_TOKEN);
    }

    #[tokio::test]
    async fn dingtalk_checks_token_content_type_and_msgtype() {
        let secret = "SECmock";
        let bot = MockBot::dingtalk_bot(secret).await;
        let c = client();
        let ts = now_ms().to_string();
        let sign = encode(&dingtalk_sign(&ts, secret));
        let wrong_token = format!(
            "{}/robot/send?access_token=nope&timestamp={ts}&sign={sign}",
            bot.base()
        );
        let res = c
            .post(wrong_token)
            .json(&dingtalk_text())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 400101);

        let res = c
            .post(signed_dingtalk_url(&bot, secret))
            .header("content-type", "text/plain")
            .body(dingtalk_text().to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 43004);

        let res = c
            .post(signed_dingtalk_url(&bot, secret))
            .json(&json!({"msgtype": "image", "image": {"picURL": "x"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 400105);

        let res = c
            .post(signed_dingtalk_url(&bot, secret))
            .json(&json!({"msgtype": "markdown", "markdown": {"text": "no title"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 40035);

        let big = json!({"msgtype": "text", "text": {"content": "x".repeat(20_000)}});
        let res = c
            .post(signed_dingtalk_url(&bot, secret))
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 460101);

        assert_eq!(
            bot.received()
                .iter()
                .map(|r| r.verified)
                .collect::<Vec<_>>(),
            [false, true, true, true, true]
        );
        assert!(bot.delivered().is_empty());
    }

    #[tokio::test]
    async fn scripted_replies_come_in_order_and_refused_requests_skip_them() {
        let secret = "SECmock";
        let bot = MockBot::dingtalk_bot(secret).await;
        bot.script([
            Reply::Status(500),
            Reply::RetryAfter(429, 7),
            Reply::errcode(130101, "send too fast, exceed 20 times per minute"),
        ]);
        let c = client();
        let send = |url: String| c.post(url).json(&dingtalk_text()).send();

        let res = send(signed_dingtalk_url(&bot, secret)).await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(res.text().await.unwrap(), "");

        // A bad signature in between gets 310000 and leaves the script alone.
        let res = send(signed_dingtalk_url(&bot, "SECwrong")).await.unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 310000);

        let res = send(signed_dingtalk_url(&bot, secret)).await.unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "7");

        let res = send(signed_dingtalk_url(&bot, secret)).await.unwrap();
        assert_eq!(
            json_of(res).await,
            (
                200,
                json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
            )
        );

        bot.script([Reply::RateLimited]);
        let res = send(signed_dingtalk_url(&bot, secret)).await.unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 130101);

        for _ in 0..2 {
            let res = send(signed_dingtalk_url(&bot, secret)).await.unwrap();
            assert_eq!(
                json_of(res).await,
                (200, json!({"errcode": 0, "errmsg": "ok"}))
            );
        }
        let got = bot.received();
        assert_eq!(
            got.iter()
                .map(|r| (r.verified, r.status))
                .collect::<Vec<_>>(),
            [
                (true, 500),
                (false, 200),
                (true, 429),
                (true, 200),
                (true, 200),
                (true, 200),
                (true, 200)
            ]
        );
        assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
    }

    // ---- WeCom, Slack, webhook

    #[tokio::test]
    async fn wecom_checks_the_key_and_limits() {
        let bot = MockBot::wecom_bot().await;
        let c = client();
        let text = json!({"msgtype": "text", "text": {"content": "disk full", "mentioned_list": ["@all"]}});
        let res = c.post(bot.url()).json(&text).send().await.unwrap();
        assert_eq!(
            json_of(res).await,
            (200, json!({"errcode": 0, "errmsg": "ok"}))
        );

        let wrong = format!("{}/cgi-bin/webhook/send?key=other", bot.base());
        let res = c.post(wrong).json(&text).send().await.unwrap();
        assert_eq!(
            json_of(res).await,
            (
                200,
                json!({"errcode": 93000, "errmsg": "invalid webhook url"})
            )
        );

        let long = json!({"msgtype": "markdown", "markdown": {"content": "é".repeat(2049)}});
        let res = c.post(bot.url()).json(&long).send().await.unwrap();
        assert_eq!(
            json_of(res).await.1,
            json!({"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
        );
        let res = c
            .post(bot.url())
            .json(&json!({"msgtype": "card"}))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["errcode"], 40008);

        bot.script([Reply::RateLimited]);
        let res = c.post(bot.url()).json(&text).send().await.unwrap();
        assert_eq!(
            json_of(res).await,
            (
                200,
                json!({"errcode": 45009, "errmsg": "api freq out of limit"})
            )
        );

        assert_eq!(
            bot.received()
                .iter()
                .map(|r| r.verified)
                .collect::<Vec<_>>(),
            [true, false, true, true, true]
        );
        assert_eq!(bot.delivered().len(), 2);
    }

    #[tokio::test]
    async fn slack_answers_ok_as_text() {
        let bot = MockBot::slack().await;
        let c = client();
        let res = c
            .post(bot.url())
            .json(&json!({"text": "disk full"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(res.text().await.unwrap(), "ok");

        let res = c
            .post(bot.url())
            .json(&json!({"username": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (res.status().as_u16(), res.text().await.unwrap()),
            (400, "no_text".into())
        );
        let res = c
            .post(format!("{}/slack/other", bot.base()))
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (res.status().as_u16(), res.text().await.unwrap()),
            (404, "no_service".into())
        );

        bot.script([Reply::RateLimited]);
        let res = c
            .post(bot.url())
            .json(&json!({"text": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["retry-after"], "1");
        assert_eq!(bot.received().len(), 3);
        assert_eq!(bot.others().len(), 1);
    }

    #[tokio::test]
    async fn webhook_verifies_the_signature_header() {
        let bot = MockBot::webhook(Some("whsec")).await;
        let c = client();
        let body = br#"{"alert":"disk full"}"#.to_vec();
        let post = |header: String, body: Vec<u8>| {
            c.post(bot.url())
                .header("content-type", "application/json")
                .header("x-ackbot-signature", header)
                .body(body)
                .send()
        };
        let t = now_secs().to_string();
        let res = post(
            format!("t={t},v1={}", webhook_signature("whsec", &t, &body)),
            body.clone(),
        )
        .await
        .unwrap();
        assert_eq!(json_of(res).await, (200, json!({"ok": true})));

        let stale = (now_secs() - 7200).to_string();
        for (header, body) in [
            (
                format!("t={t},v1={}", webhook_signature("wrong", &t, &body)),
                body.clone(),
            ),
            (
                format!("t={t},v1={}", webhook_signature("whsec", &t, &body)),
                b"{}".to_vec(),
            ),
            (
                format!("t={stale},v1={}", webhook_signature("whsec", &stale, &body)),
                body.clone(),
            ),
        ] {
            let res = post(header, body).await.unwrap();
            assert_eq!(res.status(), 401);
        }
        let res = c.post(bot.url()).body(body.clone()).send().await.unwrap();
        assert_eq!(json_of(res).await.1["error"], "invalid_signature");
        assert_eq!(
            bot.received()
                .iter()
                .map(|r| r.verified)
                .collect::<Vec<_>>(),
            [true, false, false, false, false]
        );

        let open = MockBot::webhook(None).await;
        let res = c.post(open.url()).body("plain text").send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(open.received()[0].body, json!("plain text"));
        assert!(open.received()[0].verified);
    }

    #[tokio::test]
    async fn delay_really_delays() {
        let bot = MockBot::wecom_bot().await;
        let text = json!({"msgtype": "text", "text": {"content": "slow"}});
        bot.script([
            Reply::Delay(Duration::from_millis(400)),
            Reply::Delay(Duration::from_millis(400)),
        ]);

        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let err = impatient
            .post(bot.url())
            .json(&text)
            .send()
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");

        let started = Instant::now();
        let res = client().post(bot.url()).json(&text).send().await.unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(json_of(res).await.1["errcode"], 0);

        let started = Instant::now();
        client().post(bot.url()).json(&text).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(400));
    }

    #[tokio::test]
    async fn wait_for_returns_when_requests_arrive() {
        let bot = MockBot::slack().await;
        let url = bot.url();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            client()
                .post(url)
                .json(&json!({"text": "late"}))
                .send()
                .await
                .unwrap();
        });
        let got = bot.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(got[0].body["text"], "late");
    }

    #[tokio::test]
    #[should_panic(expected = "expected 1 request(s)")]
    async fn wait_for_panics_with_what_arrived() {
        let bot = MockBot::slack().await;
        bot.wait_for(1, Duration::from_millis(50)).await;
    }

    // ---- Feishu app bot

    async fn fetch_token(c: &reqwest::Client, bot: &MockBot, secret: &str) -> Value {
        let res = c
            .post(format!("{}{TOKEN_PATH}", bot.url()))
            .json(&json!({"app_id": "cli_mock", "app_secret": secret}))
            .send()
            .await
            .unwrap();
        json_of(res).await.1
    }

    fn card(text: &str) -> String {
        json!({"schema": "2.0", "config": {"update_multi": true},
               "body": {"elements": [{"tag": "markdown", "content": text}]}})
        .to_string()
    }

    async fn send_card(c: &reqwest::Client, bot: &MockBot, token: &str) -> (u16, Value) {
        let res = c
            .post(format!("{}{MESSAGES_PATH}?receive_id_type=chat_id", bot.url()))
            .bearer_auth(token)
            .json(&json!({"receive_id": "oc_ops", "msg_type": "interactive", "content": card("firing")}))
            .send()
            .await
            .unwrap();
        json_of(res).await
    }

    #[tokio::test]
    async fn feishu_app_token_send_expire_refetch() {
        let bot = MockBot::feishu_app("cli_mock", "app-secret").await;
        let c = client();

        assert_eq!(
            fetch_token(&c, &bot, "wrong").await,
            json!({"code": 10014, "msg": "app secret invalid"})
        );
        let first = fetch_token(&c, &bot, "app-secret").await;
        assert_eq!(first["code"], 0);
        assert_eq!(first["msg"], "ok");
        assert_eq!(first["expire"], 7200);
        let t1 = first["tenant_access_token"].as_str().unwrap().to_owned();
        assert_eq!(t1, "t-1");
        // While valid, Feishu hands out the same token (§2.1).
        assert_eq!(
            fetch_token(&c, &bot, "app-secret").await["tenant_access_token"],
            "t-1"
        );
        assert_eq!(bot.token_fetches(), 3);

        let (status, sent) = send_card(&c, &bot, &t1).await;
        assert_eq!((status, sent["code"].clone()), (200, json!(0)));
        let message_id = sent["data"]["message_id"].as_str().unwrap().to_owned();
        assert!(message_id.starts_with("om_"));
        assert_eq!(sent["data"]["chat_id"], "oc_ops");

        let res = c
            .patch(format!("{}{MESSAGES_PATH}/{message_id}", bot.url()))
            .bearer_auth(&t1)
            .json(&json!({"content": card("acknowledged by Li Lei")}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_of(res).await,
            (200, json!({"code": 0, "msg": "success", "data": {}}))
        );
        assert_eq!(
            bot.message(&message_id).unwrap()["body"]["elements"][0]["content"],
            "acknowledged by Li Lei"
        );

        bot.expire_token();
        let (status, refused) = send_card(&c, &bot, &t1).await;
        assert_eq!((status, refused["code"].clone()), (400, json!(99991663)));

        let t2 = fetch_token(&c, &bot, "app-secret").await["tenant_access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(t2, "t-2");
        assert_eq!(bot.token_fetches(), 4);
        let (status, sent) = send_card(&c, &bot, &t2).await;
        assert_eq!((status, sent["code"].clone()), (200, json!(0)));
        assert_ne!(sent["data"]["message_id"], json!(message_id));

        let got = bot.received();
        assert_eq!(
            got.iter()
                .map(|r| (r.method.as_str(), r.verified, r.status))
                .collect::<Vec<_>>(),
            [
                ("POST", true, 200),
                ("PATCH", true, 200),
                ("POST", false, 400),
                ("POST", true, 200)
            ]
        );
        assert_eq!(got[0].header("Authorization"), Some("Bearer t-1"));
        assert_eq!(got[0].query["receive_id_type"], "chat_id");
        assert_eq!(bot.others().len(), 4);
    }

    #[tokio::test]
    async fn feishu_app_checks_requests_like_feishu() {
        let bot = MockBot::feishu_app("cli_mock", "app-secret").await;
        let c = client();
        let token = fetch_token(&c, &bot, "app-secret").await["tenant_access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let messages = format!("{}{MESSAGES_PATH}?receive_id_type=chat_id", bot.url());

        let res = c.post(&messages).json(&json!({})).send().await.unwrap();
        assert_eq!(json_of(res).await.1["code"], 99991661);

        // content as an object (the custom-bot habit) is refused.
        let res = c
            .post(&messages)
            .bearer_auth(&token)
            .json(&json!({"receive_id": "oc_ops", "msg_type": "interactive", "content": {"schema": "2.0"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_of(res).await,
            (
                400,
                json!({"code": 230001, "msg": "invalid message content", "data": {}})
            )
        );

        let no_type = format!("{}{MESSAGES_PATH}", bot.url());
        let res = c
            .post(no_type)
            .bearer_auth(&token)
            .json(
                &json!({"receive_id": "oc_ops", "msg_type": "text", "content": "{\"text\":\"x\"}"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(res).await.1["code"], 99992402);

        // uuid dedupe: the same id twice gives the same message.
        let with_uuid = json!({"receive_id": "oc_ops", "msg_type": "interactive",
                               "content": json!({"config": {}}).to_string(), "uuid": "A-42-firing-1"});
        let mut ids = Vec::new();
        for _ in 0..2 {
            let res = c
                .post(&messages)
                .bearer_auth(&token)
                .json(&with_uuid)
                .send()
                .await
                .unwrap();
            ids.push(json_of(res).await.1["data"]["message_id"].clone());
        }
        assert_eq!(ids[0], ids[1]);

        // That card is not shared: PATCH refused; unknown ids too.
        for id in [ids[0].as_str().unwrap(), "om_unknown"] {
            let res = c
                .patch(format!("{}{MESSAGES_PATH}/{id}", bot.url()))
                .bearer_auth(&token)
                .json(&json!({"content": card("x")}))
                .send()
                .await
                .unwrap();
            assert_eq!(json_of(res).await.1["code"], 230001);
        }

        bot.script([Reply::RateLimited]);
        let res = c
            .post(&messages)
            .bearer_auth(&token)
            .json(&with_uuid)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers()["x-ogw-ratelimit-reset"], "1");
        assert_eq!(json_of(res).await.1["code"], 99991400);

        bot.script_token([Reply::Status(503)]);
        let res = c
            .post(format!("{}{TOKEN_PATH}", bot.url()))
            .json(&json!({"app_id": "cli_mock", "app_secret": "app-secret"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(
            fetch_token(&c, &bot, "app-secret").await["tenant_access_token"],
            "t-1"
        );
        assert_eq!(bot.token_fetches(), 3);
    }
}
