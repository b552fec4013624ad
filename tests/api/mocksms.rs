//! Local mock SMS and voice-call providers that check outbound requests the
//! way each provider does and answer the way it answers. One [`MockSms`] per
//! test (each starts its own wiremock server on 127.0.0.1):
//!
//! | constructor | endpoint | auth checked | content checked | spec |
//! |---|---|---|---|---|
//! | [`MockSms::aliyun_sms`] | `POST /?<SendSms params>`, empty body | ACS3-HMAC-SHA256 header, or legacy RPC HMAC-SHA1 `Signature` query param | `PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam` (JSON object of strings, no URLs, ≤ 20 chars each) | sms.md §1.3–1.7 |
//! | [`MockSms::aliyun_voice`] | `POST /?<SingleCallByTts params>` | same | `CalledNumber`, `TtsCode`, `TtsParam` (object of strings, no URLs, < 250 chars together), `PlayTimes` 1–3, `OutId` ≤ 15 bytes | sms.md §2 |
//! | [`MockSms::tencent_sms`] | `POST /`, JSON body | TC3-HMAC-SHA256 (`sms` scope), `X-TC-Timestamp` ±5 min | `X-TC-Action: SendSms`, `X-TC-Version: 2021-01-11`, `X-TC-Region`; `PhoneNumberSet` (E.164), `SmsSdkAppId`, `SignName`, `TemplateId` (string), `TemplateParamSet` (strings, no URLs, ≤ 6 chars each) | sms.md §3.1–3.6 |
//! | [`MockSms::tencent_voice`] | `POST /`, JSON body | TC3-HMAC-SHA256 (`vms` scope) | `SendTtsVoice` / `2020-09-02`; `TemplateId`, `CalledNumber`, `VoiceSdkAppid`, `TemplateParamSet`, `PlayTimes` 1–3 | sms.md §3.7 |
//! | [`MockSms::twilio`] | `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` and `/Calls.json`, form body | HTTP Basic: Account SID + Auth Token, or an API key ([`MockSms::with_api_key`]) | Messages: `To` (E.164), `From` or `MessagingServiceSid`, `Body` ≤ 1600 chars; Calls: `To`, `From`, `Twiml` or `Url` | sms.md §4.1–4.3, §4.5 |
//!
//! **Rules shared by every mock.**
//! - Every request is recorded, accepted or not, in arrival order
//!   ([`MockSms::received`]); [`MockSms::delivered`] keeps the verified,
//!   successful ones.
//! - `verified` is true when the request passed authentication (signature,
//!   key id, time window, nonce, Basic credentials). A verified request can
//!   still be refused for its content (`code` says why; `reason` has the
//!   mock's own words).
//! - A request that fails **any** check (authentication, parameters, a
//!   per-number limit from [`MockSms::limit_number`]) gets the provider's own
//!   error answer and does **not** consume a scripted reply. Only requests the
//!   provider would accept take the next [`Reply`] from [`MockSms::script`];
//!   when the script is empty they get [`Reply::Success`].
//! - The signature checks are written here from sms.md, not taken from
//!   ackbot's code, and are pinned by the SDK-checked vectors in
//!   `tests/vectors/sms-vectors.json` (self-tests at the bottom).
//! - Headers are signed **as received**: the host is `127.0.0.1:<port>`.
//! - Branch on codes, not messages: messages follow the spec where it quotes
//!   them and are otherwise plausible stand-ins.
//!
//! **HTTP statuses** (the spec only says "4xx/5xx" for Alibaba gateway errors):
//! - Alibaba: business errors (`isv.*`) 200; `SignatureDoesNotMatch`,
//!   `IncompleteSignature`, `InvalidTimeStamp.Expired`, `InvalidTimeStamp.Format`,
//!   `SignatureNonceUsed`, `InvalidVersion`, `Missing<Param>` 400;
//!   `InvalidAccessKeyId.NotFound` and `InvalidAction.NotFound` (wrong action,
//!   path or method) 404. Body `{"RequestId","HostId","Code","Message","Recommend"}`
//!   for gateway errors, `{"RequestId","Code","Message"}` for business errors.
//!   A legacy RPC request without `Format=JSON` (any case) is answered in XML
//!   (Alibaba's default); `answer` then holds the XML as a string.
//! - Tencent: always 200 (errors in `Response.Error`), except a path other
//!   than `/` or a method other than POST: 404 with the same body shape.
//! - Twilio: 201 on success; 401 (20003, with `WWW-Authenticate`), 400 for
//!   parameter errors (21211, 21602, 21603, 21604, 21617, 21201, 21213,
//!   21205), 404 (20404) for unknown paths, 405 (20004) for other methods,
//!   and a scripted `Code("20429", …)` answers 429.
#![allow(clippy::result_large_err)] // test code: verdicts carry whole answers
#![allow(dead_code)]

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

/// Alibaba `x-acs-date` / RPC `Timestamp` must be within this of now (§1.3, §1.4).
pub const ALIYUN_WINDOW_SECS: i64 = 15 * 60;
/// Tencent `X-TC-Timestamp` must be within this of now (§3.2 step 7).
pub const TENCENT_WINDOW_SECS: i64 = 5 * 60;
/// Alibaba SMS: default per-variable limit in Unicode chars (§1.9).
pub const ALIYUN_PARAM_LIMIT: usize = 20;
/// Alibaba voice: default limit for all `TtsParam` values together ("< 250", §2).
pub const ALIYUN_TTS_TOTAL_LIMIT: usize = 249;
/// Tencent SMS: default per-variable limit in Unicode chars (§3.6).
pub const TENCENT_PARAM_LIMIT: usize = 6;
/// Twilio `Body` limit in chars (§4.1).
pub const TWILIO_BODY_LIMIT: usize = 1600;
/// Alibaba API version, SMS and voice (§1, §2).
pub const ALIYUN_VERSION: &str = "2017-05-25";
/// Default codes for [`MockSms::limit_number`] with an empty code.
pub const ALIYUN_LIMIT_CODE: &str = "isv.BUSINESS_LIMIT_CONTROL";
pub const TENCENT_SMS_LIMIT_CODE: &str = "LimitExceeded.PhoneNumberDailyLimit";
pub const TENCENT_VOICE_LIMIT_CODE: &str = "LimitExceeded.DeliveryFrequencyLimit";
pub const TWILIO_LIMIT_CODE: &str = "21610";

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Alibaba's time format `YYYY-MM-DDTHH:MM:SSZ` for a Unix time.
pub fn aliyun_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn parse_aliyun_time(s: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

// ------------------------------------------------------------------ signing

/// RFC 3986 unreserved characters stay; everything else is `%XX` (upper-case hex).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// "Percent-encode" as sms.md uses the word: RFC 3986 over the UTF-8 bytes,
/// space → `%20`, `*` → `%2A`, `~` stays.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Form-style decoding of one query/form component: `+` is a space, then `%XX`.
pub fn form_decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// `a=1&b=x+y` → `[("a","1"),("b","x y")]`, in order, repeats kept.
pub fn query_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Equality without an early exit (test server; the spirit of constant time).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Alibaba V3 CanonicalQueryString (sms.md §1.3 step 1): drop empty values,
/// sort by name (byte order; then value), percent-encode name and value,
/// join `name=value` with `&`.
pub fn acs3_canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut v: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    v.sort();
    v.iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Alibaba V3 CanonicalHeaders and SignedHeaders (§1.3 step 2) over exactly
/// the headers given: names lower-cased, values trimmed, sorted by name.
pub fn acs3_canonical_headers<K: AsRef<str>, V: AsRef<str>>(
    headers: &[(K, V)],
) -> (String, String) {
    let mut v: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().trim()))
        .collect();
    v.sort();
    let canonical = v.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = v
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// Alibaba V3 CanonicalRequest (§1.3 step 3); the path is always `/`.
pub fn acs3_canonical_request<K: AsRef<str>, V: AsRef<str>>(
    method: &str,
    canonical_query: &str,
    signed_headers: &[(K, V)],
    payload_hash: &str,
) -> String {
    let (ch, sh) = acs3_canonical_headers(signed_headers);
    format!("{method}\n/\n{canonical_query}\n{ch}\n{sh}\n{payload_hash}")
}

/// `ACS3-HMAC-SHA256\n` + hex SHA-256(CanonicalRequest) (§1.3 step 4).
pub fn acs3_string_to_sign(canonical_request: &str) -> String {
    format!(
        "ACS3-HMAC-SHA256\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Lower-case hex HMAC-SHA256(key = AccessKeySecret, StringToSign) (§1.3 step 4).
pub fn acs3_signature(secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

pub fn acs3_authorization(key_id: &str, signed_headers: &str, signature: &str) -> String {
    format!(
        "ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed_headers},Signature={signature}"
    )
}

/// Everything a V3 signer produces (for self-tests and for crafting requests).
#[derive(Debug, Clone)]
pub struct Acs3Signed {
    pub canonical_query: String,
    pub canonical_headers: String,
    pub signed_headers: String,
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
    /// `headers` plus `x-acs-content-sha256` (what to send, besides `Authorization`).
    pub headers: Vec<(String, String)>,
}

/// Signs like the spec's signer: `headers` are the headers before signing
/// (host, x-acs-*, content-type…); `x-acs-content-sha256` is added; every
/// header given is signed.
pub fn acs3_sign(
    key_id: &str,
    secret: &str,
    method: &str,
    params: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> Acs3Signed {
    let hash = sha256_hex(body);
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.push(("x-acs-content-sha256".into(), hash.clone()));
    let canonical_query = acs3_canonical_query(params);
    let (canonical_headers, signed_headers) = acs3_canonical_headers(&all);
    let canonical_request = acs3_canonical_request(method, &canonical_query, &all, &hash);
    let string_to_sign = acs3_string_to_sign(&canonical_request);
    let signature = acs3_signature(secret, &string_to_sign);
    let authorization = acs3_authorization(key_id, &signed_headers, &signature);
    Acs3Signed {
        canonical_query,
        canonical_headers,
        signed_headers,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
        headers: all,
    }
}

/// Alibaba RPC CanonicalizedQueryString (§1.4 step 2): sort by name,
/// percent-encode, **keep** empty values as `name=`. `Signature` excluded by the caller.
pub fn rpc_canonical_query<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut v: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    v.sort();
    v.iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `METHOD&%2F&percent(CanonicalizedQueryString)` (§1.4 step 3).
pub fn rpc_string_to_sign(method: &str, canonical_query: &str) -> String {
    format!("{method}&%2F&{}", percent_encode(canonical_query))
}

/// base64(HMAC-SHA1(key = secret + "&", StringToSign)) (§1.4 step 4).
pub fn rpc_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        HmacSha1::new_from_slice(format!("{secret}&").as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The RPC wire query: canonical query + `&Signature=<percent-encoded>` (§1.4 step 5).
pub fn rpc_signed_query(method: &str, secret: &str, params: &[(&str, &str)]) -> String {
    let cq = rpc_canonical_query(params);
    let sig = rpc_signature(secret, &rpc_string_to_sign(method, &cq));
    format!("{cq}&Signature={}", percent_encode(&sig))
}

/// Tencent TC3 CanonicalRequest for a POST (sms.md §3.2 step 1): empty query
/// line; the given headers lower-cased (names and values) and trimmed, sorted.
pub fn tc3_canonical_request<K: AsRef<str>, V: AsRef<str>>(
    signed_headers: &[(K, V)],
    body: &[u8],
) -> String {
    let mut v: Vec<(String, String)> = signed_headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_ref().to_ascii_lowercase(),
                v.as_ref().trim().to_ascii_lowercase(),
            )
        })
        .collect();
    v.sort();
    let ch: String = v.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let sh = v
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    format!("POST\n/\n\n{ch}\n{sh}\n{}", sha256_hex(body))
}

/// The **UTC** date of a Unix timestamp, `YYYY-MM-DD` (§3.2 step 2).
pub fn tc3_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `TC3-HMAC-SHA256\n<ts>\n<date>/<service>/tc3_request\n<hex sha256(CanonicalRequest)>`.
pub fn tc3_string_to_sign(
    timestamp: &str,
    date: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The TC3 key chain and signature (§3.2 step 5), lower-case hex.
pub fn tc3_signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"tc3_request");
    hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

pub fn tc3_authorization(
    secret_id: &str,
    date: &str,
    service: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

/// Everything a TC3 signer produces over `content-type;host`.
#[derive(Debug, Clone)]
pub struct Tc3Signed {
    pub date: String,
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
}

pub fn tc3_sign(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    content_type: &str,
    host: &str,
    timestamp: i64,
    body: &[u8],
) -> Tc3Signed {
    let date = tc3_date(timestamp);
    let canonical_request =
        tc3_canonical_request(&[("content-type", content_type), ("host", host)], body);
    let string_to_sign =
        tc3_string_to_sign(&timestamp.to_string(), &date, service, &canonical_request);
    let signature = tc3_signature(secret_key, &date, service, &string_to_sign);
    let authorization =
        tc3_authorization(secret_id, &date, service, "content-type;host", &signature);
    Tc3Signed {
        date,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
    }
}

/// Twilio REST auth (§4.2): `Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

// ------------------------------------------------------------------ API types

/// One scripted answer (see [`MockSms::script`]).
#[derive(Debug, Clone)]
pub enum Reply {
    /// The provider's success answer (see each constructor).
    Success,
    /// A provider business error in its own shape: Alibaba HTTP 200
    /// `{"Code","Message","RequestId"}`; Tencent 200 `Response.Error`;
    /// Twilio `{"code","message","more_info","status"}` with HTTP 400
    /// (401 for 20003, 429 for 20429, 404 for 20404; a numeric code is sent as
    /// a JSON number).
    Code(String, String),
    /// Tencent SMS: a failure for every number inside `SendStatusSet` (no
    /// `Error`); the other providers: same as [`Reply::Code`].
    PerNumber(String, String),
    /// This HTTP status and this raw body (`application/json` if it parses as
    /// JSON, else `text/plain`).
    Status(u16, String),
    /// The success answer, sent after this delay (timeouts).
    Delay(Duration),
}

impl Reply {
    pub fn code(code: &str, message: &str) -> Reply {
        Reply::Code(code.to_owned(), message.to_owned())
    }

    pub fn per_number(code: &str, message: &str) -> Reply {
        Reply::PerNumber(code.to_owned(), message.to_owned())
    }

    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply::Status(status, body.into())
    }
}

/// One request as the mock saw it, and what it answered.
#[derive(Debug, Clone)]
pub struct SmsReceived {
    /// When the request (with its whole body) arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// Authentication passed (signature/credentials, time window, nonce).
    pub verified: bool,
    /// The HTTP status answered.
    pub status: u16,
    /// The body answered: JSON, or `Value::String` (Alibaba XML, raw scripted text).
    pub answer: Value,
    /// The error code answered (Alibaba `Code` ≠ `OK`; Tencent `Error.Code`
    /// or the first `SendStatusSet[i].Code` ≠ `Ok`; Twilio `code`); `None` on success.
    pub code: Option<String>,
    /// `PhoneNumbers` / `PhoneNumberSet[0]` / `CalledNumber` / `To`, as sent.
    pub phone: Option<String>,
    /// `TemplateCode` / `TtsCode` / `TemplateId` (a number as its decimal text); Twilio `None`.
    pub template: Option<String>,
    /// `TemplateParam` / `TtsParam` parsed (a `Value::String` if it is not
    /// JSON), `TemplateParamSet` as sent, or for Twilio the `Body` / `Twiml` /
    /// `Url` string; `Null` if absent.
    pub params: Value,
    /// The raw query string (empty if none).
    pub query: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
    /// Why the mock refused the request (its own words), `None` if accepted.
    pub reason: Option<String>,
}

impl SmsReceived {
    /// A bare record (for checking hand-made requests in self-tests).
    pub fn new(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> SmsReceived {
        SmsReceived {
            at: Instant::now(),
            method: method.to_owned(),
            path: path.to_owned(),
            verified: false,
            status: 0,
            answer: Value::Null,
            code: None,
            phone: None,
            template: None,
            params: Value::Null,
            query: query.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.to_vec(),
            reason: None,
        }
    }

    fn of(request: &Request) -> SmsReceived {
        let mut rec = SmsReceived::new(
            request.method.as_str(),
            request.url.path(),
            request.url.query().unwrap_or(""),
            &[],
            &request.body,
        );
        rec.headers = request
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        rec
    }

    /// The first header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A request parameter by name: a top-level field of a JSON body (strings
    /// as they are, other values as JSON text), else the first value in the
    /// form-decoded query or form body (e.g. `OutId`, `SessionContext`,
    /// `StatusCallback`).
    pub fn param(&self, name: &str) -> Option<String> {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&self.body) {
            return map.get(name).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Query pairs, then (for a form body) body pairs, all form-decoded.
    fn form(&self) -> Vec<(String, String)> {
        let mut pairs = query_pairs(&self.query);
        pairs.extend(self.form_body());
        pairs
    }

    fn form_body(&self) -> Vec<(String, String)> {
        let form = self
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if form && !self.body.is_empty() {
            query_pairs(&String::from_utf8_lossy(&self.body))
        } else {
            Vec::new()
        }
    }

    fn json_body(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} {}?{} verified={} -> {} {}{}",
            self.method,
            self.path,
            self.query,
            self.verified,
            self.status,
            self.answer,
            self.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )
    }
}

// ------------------------------------------------------------------ the server

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AliyunSms,
    AliyunVoice,
    TencentSms,
    TencentVoice,
    Twilio,
}

impl Kind {
    fn is_aliyun(self) -> bool {
        matches!(self, Kind::AliyunSms | Kind::AliyunVoice)
    }

    fn is_tencent(self) -> bool {
        matches!(self, Kind::TencentSms | Kind::TencentVoice)
    }

    fn action(self) -> &'static str {
        match self {
            Kind::AliyunSms | Kind::TencentSms => "SendSms",
            Kind::AliyunVoice => "SingleCallByTts",
            Kind::TencentVoice => "SendTtsVoice",
            Kind::Twilio => "",
        }
    }

    fn tencent_version(self) -> &'static str {
        if self == Kind::TencentVoice {
            "2020-09-02"
        } else {
            "2021-01-11"
        }
    }

    fn tencent_service(self) -> &'static str {
        if self == Kind::TencentVoice {
            "vms"
        } else {
            "sms"
        }
    }

    fn aliyun_host(self) -> &'static str {
        if self == Kind::AliyunVoice {
            "dyvmsapi.aliyuncs.com"
        } else {
            "dysmsapi.aliyuncs.com"
        }
    }

    fn default_param_limit(self) -> Option<usize> {
        match self {
            Kind::AliyunSms => Some(ALIYUN_PARAM_LIMIT),
            Kind::AliyunVoice => Some(ALIYUN_TTS_TOTAL_LIMIT),
            Kind::TencentSms => Some(TENCENT_PARAM_LIMIT),
            Kind::TencentVoice | Kind::Twilio => None,
        }
    }

    fn default_limit_code(self) -> &'static str {
        match self {
            Kind::AliyunSms | Kind::AliyunVoice => ALIYUN_LIMIT_CODE,
            Kind::TencentSms => TENCENT_SMS_LIMIT_CODE,
            Kind::TencentVoice => TENCENT_VOICE_LIMIT_CODE,
            Kind::Twilio => TWILIO_LIMIT_CODE,
        }
    }
}

struct State {
    kind: Kind,
    id: String,
    secret: String,
    api_keys: Vec<(String, String)>,
    script: VecDeque<Reply>,
    received: Vec<SmsReceived>,
    nonces: HashSet<String>,
    limits: Vec<(String, String)>,
    param_limit: Option<usize>,
    seq: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// A mock provider. Dropping it stops the server.
pub struct MockSms {
    server: MockServer,
    kind: Kind,
    state: Arc<Mutex<State>>,
}

impl MockSms {
    /// Alibaba Cloud SMS, SendSms (sms.md §1). Point the channel's endpoint at
    /// [`base`](Self::base).
    ///
    /// Checks, in order:
    /// 1. `POST /`: else 404 `InvalidAction.NotFound`.
    /// 2. V3 when `Authorization` starts with `ACS3-HMAC-SHA256` (§1.3):
    ///    `ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<names>,Signature=<hex>`
    ///    (commas, no spaces) else 400 `IncompleteSignature`; Credential = the key
    ///    id else 404 `InvalidAccessKeyId.NotFound`; `x-acs-action` = `SendSms`
    ///    else 404 `InvalidAction.NotFound`; `x-acs-version` = `2017-05-25`
    ///    else 400 `InvalidVersion`; `x-acs-date` `YYYY-MM-DDTHH:MM:SSZ` (else
    ///    400 `InvalidTimeStamp.Format`) within 15 min (else 400
    ///    `InvalidTimeStamp.Expired`); SignedHeaders must name `host`,
    ///    `x-acs-action`, `x-acs-version`, `x-acs-date`, `x-acs-signature-nonce`,
    ///    `x-acs-content-sha256`, every `x-acs-*` header sent, and
    ///    `content-type` when there is a body (else 400 `IncompleteSignature`);
    ///    `x-acs-content-sha256` = lower-case hex SHA-256 of the body, and the
    ///    signature recomputed over the named headers as received and the
    ///    canonical query rebuilt from the received query (form-decoded, so a
    ///    `+` counts as a space; re-encoded RFC 3986, sorted, empty values
    ///    dropped) else 400 `SignatureDoesNotMatch`.
    /// 3. Legacy RPC when the query has `Signature` (§1.4): `AccessKeyId`,
    ///    `Action=SendSms`, `Version`, `SignatureMethod=HMAC-SHA1`,
    ///    `SignatureVersion=1.0`, `SignatureNonce`, `Timestamp` (15 min);
    ///    Signature = base64 HMAC-SHA1(secret + "&", `POST&%2F&` +
    ///    percent(canonical query with empty values kept)). Same codes as V3.
    ///    Neither form: 400 `IncompleteSignature`.
    /// 4. The nonce (`x-acs-signature-nonce` / `SignatureNonce`) of a request
    ///    with a good signature must not have been seen by this mock: else 400
    ///    `SignatureNonceUsed`. Up to here failures are `verified=false`.
    /// 5. Parameters (from the query, and a form body if any): missing
    ///    `PhoneNumbers` / `SignName` / `TemplateCode` → 400
    ///    `MissingPhoneNumbers` / …; a number that is neither digits nor a
    ///    `+86`/`+`-prefixed 11-digit mainland number, or more than 1000 → 200
    ///    `isv.MOBILE_NUMBER_ILLEGAL` / `isv.MOBILE_COUNT_OVER_LIMIT`;
    ///    `TemplateParam` not a JSON object of strings → 200
    ///    `isv.INVALID_JSON_PARAM`; a value with `http://`, `https://` or `www.`
    ///    → 200 `isv.PARAM_NOT_SUPPORT_URL`; a value longer than the limit
    ///    (chars; default 20, [`set_param_limit`](Self::set_param_limit)) → 200
    ///    `isv.PARAM_LENGTH_LIMIT`.
    ///
    /// Success: 200 `{"Code":"OK","Message":"OK","BizId":"…^0","RequestId":"…"}`.
    pub async fn aliyun_sms(access_key_id: &str, access_key_secret: &str) -> Self {
        Self::start(Kind::AliyunSms, access_key_id, access_key_secret).await
    }

    /// Alibaba Cloud voice, SingleCallByTts (sms.md §2): signing and codes as
    /// [`aliyun_sms`](Self::aliyun_sms) with `x-acs-action: SingleCallByTts`.
    /// Parameters: `CalledNumber` (one number) and `TtsCode` required
    /// (`MissingCalledNumber` / `MissingTtsCode`); `TtsParam` a JSON object of
    /// strings (`isv.INVALID_JSON_PARAM`), no URLs (`isv.PARAM_NOT_SUPPORT_URL`),
    /// all values together < 250 chars (`isv.PARAM_LENGTH_LIMIT`;
    /// `set_param_limit(n)` sets the allowed total, default 249);
    /// `PlayTimes` `1`–`3` and `OutId` ≤ 15 bytes (`isv.INVALID_PARAMETERS`);
    /// `CalledShowNumber` optional.
    ///
    /// Success: 200 `{"Code":"OK","Message":"OK","CallId":"…","RequestId":"…"}`.
    pub async fn aliyun_voice(access_key_id: &str, access_key_secret: &str) -> Self {
        Self::start(Kind::AliyunVoice, access_key_id, access_key_secret).await
    }

    /// Tencent Cloud SMS, SendSms 2021-01-11 (sms.md §3). All answers HTTP 200.
    ///
    /// Checks, in order:
    /// 1. `POST /` (else 404 with `Error.Code` `InvalidAction`).
    /// 2. `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request,
    ///    SignedHeaders=<names>, Signature=<hex>` (`", "` separators; SignedHeaders
    ///    must include `content-type` and `host`) else `AuthFailure.InvalidAuthorization`;
    ///    SecretId else `AuthFailure.SecretIdNotFound`; `X-TC-Timestamp` present
    ///    (`MissingParameter`), decimal seconds (`InvalidParameter`), within 5 min
    ///    (`AuthFailure.SignatureExpire`); scope date = the UTC date of the
    ///    timestamp, service `sms`, and the signature over the named headers as
    ///    received (values lower-cased) and the exact body bytes, else
    ///    `AuthFailure.SignatureFailure`. Up to here failures are `verified=false`.
    /// 3. `X-TC-Action: SendSms` (`InvalidAction`), `X-TC-Version: 2021-01-11`
    ///    (`NoSuchVersion`), `X-TC-Region` (`MissingParameter`).
    /// 4. Body a JSON object (`FailedOperation.JsonParseFail`); `PhoneNumberSet`
    ///    non-empty array of strings ≤ 200, `SmsSdkAppId` and `TemplateId`
    ///    strings, `SignName` string (required when a number is `+86…`),
    ///    `TemplateParamSet` array of strings: missing → `MissingParameter`,
    ///    wrong type → `InvalidParameter`, > 200 numbers →
    ///    `LimitExceeded.PhoneNumberCountLimit`; a variable with a URL →
    ///    `InvalidParameterValue.ProhibitedUseUrlInTemplateParameter`; longer
    ///    than the limit (default 6) → `InvalidParameterValue.TemplateParameterLengthLimit`
    ///    (all these whole-request, in `Response.Error`).
    /// 5. Per number, in `SendStatusSet`: not E.164 (`+` and 6–15 digits) →
    ///    `InvalidParameterValue.IncorrectPhoneNumber`; a number given to
    ///    [`limit_number`](Self::limit_number) → its code. A request with any
    ///    per-number failure does not consume the script.
    ///
    /// Success: `{"Response":{"SendStatusSet":[{"SerialNo":"…","PhoneNumber":"+86…",
    /// "Fee":1,"SessionContext":"…","Code":"Ok","Message":"send success","IsoCode":"CN"}],
    /// "RequestId":"…"}}`, one entry per number.
    pub async fn tencent_sms(secret_id: &str, secret_key: &str) -> Self {
        Self::start(Kind::TencentSms, secret_id, secret_key).await
    }

    /// Tencent Cloud voice, SendTtsVoice 2020-09-02 (sms.md §3.7): signing as
    /// [`tencent_sms`](Self::tencent_sms) with service `vms` in the scope,
    /// `X-TC-Action: SendTtsVoice`, `X-TC-Version: 2020-09-02`. Body:
    /// `TemplateId`, `CalledNumber` (E.164, else
    /// `InvalidParameterValue.CalledNumberVerifyFail`), `VoiceSdkAppid` (lower-case
    /// `id`) strings required; `TemplateParamSet` array of strings (optional;
    /// with [`set_param_limit`](Self::set_param_limit) a longer variable →
    /// `InvalidParameterValue.ContentLengthLimit`); `PlayTimes` integer 1–3
    /// (`InvalidParameterValue`). All errors in `Response.Error`.
    ///
    /// Success: `{"Response":{"SendStatus":{"CallId":"…","SessionContext":"…"},"RequestId":"…"}}`.
    pub async fn tencent_voice(secret_id: &str, secret_key: &str) -> Self {
        Self::start(Kind::TencentVoice, secret_id, secret_key).await
    }

    /// Twilio REST (sms.md §4): `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`
    /// or `/Calls.json`.
    ///
    /// Checks, in order: path (404 20404), POST (405 20004); HTTP Basic with
    /// the Account SID and Auth Token or a key from
    /// [`with_api_key`](Self::with_api_key), and the Account SID (not an API
    /// key SID) in the path, else 401 20003 `Authenticate` (`verified=false`);
    /// a form body (`application/x-www-form-urlencoded`, `+` is a space).
    /// Messages: `To` (21604 missing, 21211 not E.164), `From` or
    /// `MessagingServiceSid` (21603), `Body` (21602 missing, 21617 over 1600
    /// chars). Calls: `To` (21201, 21211), `From` (21213), `Twiml` or `Url`
    /// (21205). All 400.
    ///
    /// Success: 201 Message JSON (`sid` `SM…`, `status` `queued`, `to`, `from`,
    /// `messaging_service_sid`, `body`, `error_code` null, …) or Call JSON
    /// (`sid` `CA…`, `status` `queued`, `to`, `from`, …).
    pub async fn twilio(account_sid: &str, auth_token: &str) -> Self {
        Self::start(Kind::Twilio, account_sid, auth_token).await
    }

    async fn start(kind: Kind, id: &str, secret: &str) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            kind,
            id: id.to_owned(),
            secret: secret.to_owned(),
            api_keys: Vec::new(),
            script: VecDeque::new(),
            received: Vec::new(),
            nonces: HashSet::new(),
            limits: Vec::new(),
            param_limit: kind.default_param_limit(),
            seq: 0,
        }));
        Mock::given(any())
            .respond_with(Handler {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        MockSms {
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

    /// Twilio: also accept HTTP Basic with this API key SID (`SK…`) and secret
    /// (the path still carries the Account SID).
    pub fn with_api_key(self, sid: &str, secret: &str) -> Self {
        self.state()
            .api_keys
            .push((sid.to_owned(), secret.to_owned()));
        self
    }

    /// The per-variable length limit in chars (Alibaba SMS, default 20;
    /// Tencent SMS, default 6; Tencent voice, default none), or for Alibaba
    /// voice the allowed total of all `TtsParam` values (default 249).
    pub fn set_param_limit(&self, n: usize) {
        self.state().param_limit = Some(n);
    }

    /// Answers for the next requests that pass every check, in order; then
    /// [`Reply::Success`]. Appends to what is still queued.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state().script.extend(replies);
    }

    /// Every request to `phone` that passes every other check gets business
    /// error `code` (empty: the provider's usual one: Alibaba
    /// `isv.BUSINESS_LIMIT_CONTROL` (200), Tencent SMS per-number
    /// `LimitExceeded.PhoneNumberDailyLimit`, Tencent voice
    /// `LimitExceeded.DeliveryFrequencyLimit`, Twilio 400 `21610`). A leading
    /// `+` is ignored on both sides. Does not consume the script.
    pub fn limit_number(&self, phone: &str, code: &str) {
        let code = if code.is_empty() {
            self.kind.default_limit_code()
        } else {
            code
        };
        self.state()
            .limits
            .push((phone.trim_start_matches('+').to_owned(), code.to_owned()));
    }

    /// Every request, accepted or not, in arrival order.
    pub fn received(&self) -> Vec<SmsReceived> {
        self.state().received.clone()
    }

    /// Verified requests answered with success (2xx and no error code).
    pub fn delivered(&self) -> Vec<SmsReceived> {
        self.received()
            .into_iter()
            .filter(|r| r.verified && r.code.is_none() && (200..300).contains(&r.status))
            .collect()
    }

    /// Polls every 20 ms until `n` requests arrived; at `timeout` returns what
    /// did arrive.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<SmsReceived> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= n || Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One line per request received (for assertion messages).
    pub fn summary(&self) -> String {
        self.received()
            .iter()
            .map(|r| format!("\n  {}", r.summary()))
            .collect()
    }
}

// ------------------------------------------------------------------ answers

struct Answer {
    status: u16,
    /// What is recorded as `answer`.
    value: Value,
    code: Option<String>,
    bytes: Vec<u8>,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    delay: Option<Duration>,
}

impl Answer {
    fn json(kind: Kind, status: u16, value: Value) -> Answer {
        Answer {
            status,
            code: answer_code(kind, status, &value),
            bytes: serde_json::to_vec(&value).unwrap(),
            value,
            content_type: "application/json;charset=utf-8",
            headers: Vec::new(),
            delay: None,
        }
    }

    fn raw(kind: Kind, status: u16, body: String) -> Answer {
        match serde_json::from_str::<Value>(&body) {
            Ok(value) => {
                let mut a = Answer::json(kind, status, value);
                a.bytes = body.into_bytes();
                a
            }
            Err(_) => Answer {
                status,
                code: None,
                value: if body.is_empty() {
                    Value::Null
                } else {
                    Value::String(body.clone())
                },
                bytes: body.into_bytes(),
                content_type: "text/plain;charset=utf-8",
                headers: Vec::new(),
                delay: None,
            },
        }
    }

    /// Alibaba's default (non-JSON) format: the same flat object as XML.
    fn into_xml(mut self, root: &str) -> Answer {
        let mut xml = format!("<?xml version='1.0' encoding='UTF-8'?><{root}>");
        if let Value::Object(map) = &self.value {
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let text = text
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;");
                xml.push_str(&format!("<{k}>{text}</{k}>"));
            }
        }
        xml.push_str(&format!("</{root}>"));
        self.value = Value::String(xml.clone());
        self.bytes = xml.into_bytes();
        self.content_type = "text/xml;charset=utf-8";
        self
    }

    fn template(&self) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status);
        for (name, value) in &self.headers {
            t = t.insert_header(*name, value.as_str());
        }
        if !self.bytes.is_empty() {
            t = t.set_body_raw(self.bytes.clone(), self.content_type);
        }
        match self.delay {
            Some(d) => t.set_delay(d),
            None => t,
        }
    }
}

/// The error code an answer carries, by the provider's success rule (§0).
fn answer_code(kind: Kind, status: u16, v: &Value) -> Option<String> {
    match kind {
        Kind::AliyunSms | Kind::AliyunVoice => match v.get("Code").and_then(Value::as_str) {
            Some("OK") | None => None,
            Some(code) => Some(code.to_owned()),
        },
        Kind::TencentSms | Kind::TencentVoice => {
            let r = &v["Response"];
            if let Some(code) = r["Error"]["Code"].as_str() {
                return Some(code.to_owned());
            }
            r["SendStatusSet"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["Code"].as_str())
                .find(|c| *c != "Ok")
                .map(str::to_owned)
        }
        Kind::Twilio if status >= 400 => match v.get("code") {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        Kind::Twilio => None,
    }
}

/// A refusal: which code to answer, and the mock's reason.
#[derive(Debug)]
struct Fail {
    verified: bool,
    status: u16,
    code: String,
    message: String,
    why: String,
}

fn fail(verified: bool, status: u16, code: &str, message: &str, why: impl Into<String>) -> Fail {
    Fail {
        verified,
        status,
        code: code.to_owned(),
        message: message.to_owned(),
        why: why.into(),
    }
}

fn request_id(kind: Kind, seq: u64) -> String {
    let id = format!(
        "{:08X}-{:04X}-4000-8000-{:012X}",
        0x5A5A_0000u32 + seq as u32,
        kind as u16,
        seq
    );
    if kind.is_tencent() {
        id.to_ascii_lowercase()
    } else {
        id
    }
}

fn error_answer(kind: Kind, f: &Fail, st: &mut State) -> Answer {
    let seq = st.next();
    match kind {
        Kind::AliyunSms | Kind::AliyunVoice => {
            let mut v =
                json!({"RequestId": request_id(kind, seq), "Code": f.code, "Message": f.message});
            if f.status >= 400 {
                v["HostId"] = json!(kind.aliyun_host());
                v["Recommend"] = json!(format!(
                    "https://api.aliyun.com/troubleshoot?q={}&product=Dysmsapi",
                    f.code
                ));
            }
            Answer::json(kind, f.status, v)
        }
        Kind::TencentSms | Kind::TencentVoice => Answer::json(
            kind,
            f.status,
            json!({"Response": {"Error": {"Code": f.code, "Message": f.message},
                                "RequestId": request_id(kind, seq)}}),
        ),
        Kind::Twilio => {
            let code = match f.code.parse::<u64>() {
                Ok(n) => json!(n),
                Err(_) => json!(f.code),
            };
            let mut a = Answer::json(
                kind,
                f.status,
                json!({"code": code, "message": f.message,
                       "more_info": format!("https://www.twilio.com/docs/errors/{}", f.code),
                       "status": f.status}),
            );
            if f.status == 401 {
                a.headers
                    .push(("www-authenticate", "Basic realm=\"Twilio API\"".into()));
            }
            a
        }
    }
}

fn twilio_status_for(code: &str) -> u16 {
    match code {
        "20003" => 401,
        "20404" => 404,
        "20429" => 429,
        _ => 400,
    }
}

fn iso_code(phone: &str) -> &'static str {
    let p = phone.trim_start_matches('+');
    if p.starts_with("86") {
        "CN"
    } else if p.starts_with("852") {
        "HK"
    } else if p.starts_with('1') {
        "US"
    } else if p.starts_with("44") {
        "GB"
    } else {
        ""
    }
}

fn tencent_status_set(acc: &Accepted, all: Option<(&str, &str)>, st: &mut State) -> Answer {
    let mut set = Vec::new();
    for (i, phone) in acc.phones.iter().enumerate() {
        let seq = st.next();
        let failure = all.or(acc
            .per_number
            .get(i)
            .and_then(|f| f.as_ref())
            .map(|(c, m)| (c.as_str(), m.as_str())));
        set.push(match failure {
            None => json!({"SerialNo": format!("5000:{:028}", 1_045_710_669_157u64 + seq),
                           "PhoneNumber": phone, "Fee": 1, "SessionContext": acc.session,
                           "Code": "Ok", "Message": "send success", "IsoCode": iso_code(phone)}),
            Some((code, message)) => json!({"SerialNo": "", "PhoneNumber": phone, "Fee": 0,
                           "SessionContext": acc.session, "Code": code, "Message": message,
                           "IsoCode": iso_code(phone)}),
        });
    }
    let seq = st.next();
    Answer::json(
        Kind::TencentSms,
        200,
        json!({"Response": {"SendStatusSet": set, "RequestId": request_id(Kind::TencentSms, seq)}}),
    )
}

fn success(kind: Kind, acc: &Accepted, st: &mut State) -> Answer {
    match kind {
        Kind::AliyunSms => {
            let seq = st.next();
            Answer::json(
                kind,
                200,
                json!({"Code": "OK", "Message": "OK",
                       "BizId": format!("{}^0", 900_619_746_936_498_440u64 + seq),
                       "RequestId": request_id(kind, seq)}),
            )
        }
        Kind::AliyunVoice => {
            let seq = st.next();
            Answer::json(
                kind,
                200,
                json!({"Code": "OK", "Message": "OK",
                       "CallId": format!("116012354148^{}", 102_813_780_000u64 + seq),
                       "RequestId": request_id(kind, seq)}),
            )
        }
        Kind::TencentSms => tencent_status_set(acc, None, st),
        Kind::TencentVoice => {
            let seq = st.next();
            Answer::json(
                kind,
                200,
                json!({"Response": {"SendStatus": {"CallId": format!("{:032x}", 0xca11_0000u64 + seq),
                                                   "SessionContext": acc.session},
                                    "RequestId": request_id(kind, seq)}}),
            )
        }
        Kind::Twilio => {
            let seq = st.next();
            let mut v = acc.twilio.clone();
            let prefix = if acc.call { "CA" } else { "SM" };
            let sid = format!("{prefix}{seq:032x}");
            let list = if acc.call { "Calls" } else { "Messages" };
            v["sid"] = json!(sid);
            v["uri"] = json!(format!("/2010-04-01/Accounts/{}/{list}/{sid}.json", st.id));
            Answer::json(kind, 201, v)
        }
    }
}

fn reply_answer(kind: Kind, reply: Reply, acc: &Accepted, st: &mut State) -> Answer {
    match reply {
        Reply::Success => success(kind, acc, st),
        Reply::Delay(d) => {
            let mut a = success(kind, acc, st);
            a.delay = Some(d);
            a
        }
        Reply::PerNumber(code, message) if kind == Kind::TencentSms => {
            tencent_status_set(acc, Some((&code, &message)), st)
        }
        Reply::Code(code, message) | Reply::PerNumber(code, message) => {
            let status = match kind {
                Kind::Twilio => twilio_status_for(&code),
                _ => 200,
            };
            error_answer(kind, &fail(true, status, &code, &message, "scripted"), st)
        }
        Reply::Status(status, body) => Answer::raw(kind, status, body),
    }
}

fn limit_message(code: &str) -> &'static str {
    match code {
        ALIYUN_LIMIT_CODE => "触发天级流控Permits:10",
        TENCENT_SMS_LIMIT_CODE => {
            "the number of sms messages sent from a single mobile number every day exceeds the upper limit"
        }
        TENCENT_VOICE_LIMIT_CODE => "delivery frequency limit",
        TWILIO_LIMIT_CODE => "Attempt to send to unsubscribed recipient",
        _ => "limited by the mock (limit_number)",
    }
}

// ------------------------------------------------------------------ handling

/// What a request that passed the checks needs for its answer.
#[derive(Default)]
struct Accepted {
    phones: Vec<String>,
    /// Tencent SMS: failures of individual numbers found by the checks.
    per_number: Vec<Option<(String, String)>>,
    session: String,
    /// Twilio: a Call (else a Message), and its success JSON without `sid`/`uri`.
    call: bool,
    twilio: Value,
}

struct Handler {
    state: Arc<Mutex<State>>,
}

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut rec = SmsReceived::of(request);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let kind = st.kind;
        describe(kind, &mut rec);
        // Legacy RPC answers XML unless Format=JSON (Alibaba's default format).
        let xml = kind.is_aliyun() && {
            let q = query_pairs(&rec.query);
            q.iter().any(|(k, _)| k == "Signature")
                && !q
                    .iter()
                    .any(|(k, v)| k == "Format" && v.eq_ignore_ascii_case("json"))
        };
        let now = now_secs();
        let checked = check(kind, &rec, &mut st, now).and_then(|acc| limits(kind, acc, &st));
        let mut scripted_status = false;
        let answer = match checked {
            Err(f) => {
                rec.verified = f.verified;
                rec.reason = Some(f.why.clone());
                error_answer(kind, &f, &mut st)
            }
            Ok(acc) => {
                rec.verified = true;
                if acc.per_number.iter().any(Option::is_some) {
                    rec.reason = Some("per-number failure (see SendStatusSet)".into());
                    tencent_status_set(&acc, None, &mut st)
                } else {
                    let reply = st.script.pop_front().unwrap_or(Reply::Success);
                    scripted_status = matches!(reply, Reply::Status(..));
                    reply_answer(kind, reply, &acc, &mut st)
                }
            }
        };
        let answer = if xml && !scripted_status {
            let root = if answer.code.is_some() {
                "Error".to_owned()
            } else {
                format!("{}Response", kind.action())
            };
            answer.into_xml(&root)
        } else {
            answer
        };
        rec.status = answer.status;
        rec.answer = answer.value.clone();
        rec.code = answer.code.clone();
        st.received.push(rec);
        answer.template()
    }
}

/// Fills `phone`, `template`, `params` from the request, before any check.
fn describe(kind: Kind, rec: &mut SmsReceived) {
    let first = |pairs: &[(String, String)], name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match kind {
        Kind::AliyunSms | Kind::AliyunVoice => {
            let pairs = rec.form();
            let (p, t, j) = if kind == Kind::AliyunSms {
                ("PhoneNumbers", "TemplateCode", "TemplateParam")
            } else {
                ("CalledNumber", "TtsCode", "TtsParam")
            };
            rec.phone = first(&pairs, p);
            rec.template = first(&pairs, t);
            rec.params = match first(&pairs, j) {
                Some(raw) => serde_json::from_str(&raw).unwrap_or(Value::String(raw)),
                None => Value::Null,
            };
        }
        Kind::TencentSms | Kind::TencentVoice => {
            let Some(body) = rec.json_body() else { return };
            let text = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            rec.phone = if kind == Kind::TencentSms {
                body.get("PhoneNumberSet")
                    .and_then(|s| s.get(0))
                    .and_then(text)
            } else {
                body.get("CalledNumber").and_then(text)
            };
            rec.template = body.get("TemplateId").and_then(text);
            rec.params = body.get("TemplateParamSet").cloned().unwrap_or(Value::Null);
        }
        Kind::Twilio => {
            let pairs = rec.form_body();
            rec.phone = first(&pairs, "To");
            rec.params = first(&pairs, "Body")
                .or_else(|| first(&pairs, "Twiml"))
                .or_else(|| first(&pairs, "Url"))
                .map(Value::String)
                .unwrap_or(Value::Null);
        }
    }
}

fn check(kind: Kind, rec: &SmsReceived, st: &mut State, now: i64) -> Result<Accepted, Fail> {
    match kind {
        Kind::AliyunSms | Kind::AliyunVoice => {
            if rec.method != "POST" || rec.path != "/" {
                return Err(fail(
                    false,
                    404,
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                    format!("{} {}: the API is POST /", rec.method, rec.path),
                ));
            }
            let v3 = rec
                .header("authorization")
                .is_some_and(|a| a.starts_with("ACS3-HMAC-SHA256"));
            let rpc = query_pairs(&rec.query)
                .iter()
                .any(|(k, _)| k == "Signature");
            let nonce = if v3 {
                check_acs3(rec, &st.id, &st.secret, kind.action(), now)?
            } else if rpc {
                check_rpc(rec, &st.id, &st.secret, kind.action(), now)?
            } else {
                return Err(fail(
                    false,
                    400,
                    "IncompleteSignature",
                    "The request signature does not conform to Aliyun standards.",
                    "neither an ACS3-HMAC-SHA256 Authorization header nor a Signature query parameter",
                ));
            };
            if !st.nonces.insert(nonce.clone()) {
                return Err(fail(
                    false,
                    400,
                    "SignatureNonceUsed",
                    "Specified signature nonce was used already.",
                    format!("nonce {nonce:?} was used before (sign afresh on every attempt)"),
                ));
            }
            let pairs = rec.form();
            if kind == Kind::AliyunSms {
                aliyun_sms_params(&pairs, st.param_limit)
            } else {
                aliyun_voice_params(&pairs, st.param_limit)
            }
        }
        Kind::TencentSms | Kind::TencentVoice => {
            if rec.method != "POST" || rec.path != "/" {
                return Err(fail(
                    false,
                    404,
                    "InvalidAction",
                    "The requested path or method does not exist.",
                    format!("{} {}: the API is POST /", rec.method, rec.path),
                ));
            }
            check_tc3(rec, &st.id, &st.secret, kind.tencent_service(), now)?;
            tencent_headers(kind, rec)?;
            let Some(body) = rec.json_body() else {
                return Err(fail(
                    true,
                    200,
                    "FailedOperation.JsonParseFail",
                    "Failed to parse the request body as a JSON object.",
                    "body is not a JSON object",
                ));
            };
            if kind == Kind::TencentSms {
                tencent_sms_body(&body, st.param_limit)
            } else {
                tencent_voice_body(&body, st.param_limit)
            }
        }
        Kind::Twilio => check_twilio(rec, st),
    }
}

/// Applies [`MockSms::limit_number`] to a request that passed the checks.
fn limits(kind: Kind, mut acc: Accepted, st: &State) -> Result<Accepted, Fail> {
    let limited = |phone: &str| {
        let p = phone.trim().trim_start_matches('+');
        st.limits
            .iter()
            .find(|(l, _)| l == p)
            .map(|(_, code)| code.clone())
    };
    if kind == Kind::TencentSms {
        acc.per_number.resize(acc.phones.len(), None);
        for (i, phone) in acc.phones.iter().enumerate() {
            if acc.per_number[i].is_none()
                && let Some(code) = limited(phone)
            {
                acc.per_number[i] = Some((code.clone(), limit_message(&code).to_owned()));
            }
        }
        return Ok(acc);
    }
    match acc.phones.iter().find_map(|p| limited(p)) {
        Some(code) => {
            let status = if kind == Kind::Twilio {
                twilio_status_for(&code)
            } else {
                200
            };
            Err(fail(
                true,
                status,
                &code,
                limit_message(&code),
                "limit_number: this number is limited",
            ))
        }
        None => Ok(acc),
    }
}

// ---- Alibaba

fn incomplete(why: impl Into<String>) -> Fail {
    fail(
        false,
        400,
        "IncompleteSignature",
        "The request signature does not conform to Aliyun standards.",
        why,
    )
}

fn aliyun_time_check(value: Option<&str>, what: &str, now: i64) -> Result<(), Fail> {
    let value = value.ok_or_else(|| incomplete(format!("no {what}")))?;
    let t = parse_aliyun_time(value).ok_or_else(|| {
        fail(
            false,
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
            format!("{what} {value:?} is not YYYY-MM-DDTHH:MM:SSZ"),
        )
    })?;
    if (now - t).abs() > ALIYUN_WINDOW_SECS {
        return Err(fail(
            false,
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
            format!(
                "{what} {value} is {}s away from now (window 15 min)",
                now - t
            ),
        ));
    }
    Ok(())
}

fn aliyun_action_check(
    action: Option<&str>,
    version: Option<&str>,
    expected: &str,
) -> Result<(), Fail> {
    if action != Some(expected) {
        return Err(fail(
            false,
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
            format!("action {action:?}, expected {expected:?}"),
        ));
    }
    if version != Some(ALIYUN_VERSION) {
        return Err(fail(
            false,
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
            format!("version {version:?}, expected {ALIYUN_VERSION:?}"),
        ));
    }
    Ok(())
}

fn key_not_found(got: &str) -> Fail {
    fail(
        false,
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
        format!("access key id {got:?} is not this mock's"),
    )
}

fn signature_mismatch(message: String, why: impl Into<String>) -> Fail {
    fail(false, 400, "SignatureDoesNotMatch", &message, why)
}

/// Alibaba V3 (sms.md §1.3) on a received request. `Ok` is the nonce.
fn check_acs3(
    rec: &SmsReceived,
    key_id: &str,
    secret: &str,
    action: &str,
    now: i64,
) -> Result<String, Fail> {
    let auth = rec.header("authorization").unwrap_or("");
    let rest = auth.strip_prefix("ACS3-HMAC-SHA256 ").ok_or_else(|| {
        incomplete("Authorization must start with `ACS3-HMAC-SHA256 ` (one space)")
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.split_once('=') {
            Some(("Credential", v)) if credential.is_none() => credential = Some(v),
            Some(("SignedHeaders", v)) if signed.is_none() => signed = Some(v),
            Some(("Signature", v)) if signature.is_none() => signature = Some(v),
            _ => {
                return Err(incomplete(format!(
                    "unexpected part {part:?} in Authorization (Credential=…,SignedHeaders=…,Signature=…; commas, no spaces)"
                )));
            }
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization needs Credential, SignedHeaders and Signature",
        ));
    };
    if credential != key_id {
        return Err(key_not_found(credential));
    }
    aliyun_action_check(
        rec.header("x-acs-action"),
        rec.header("x-acs-version"),
        action,
    )?;
    aliyun_time_check(rec.header("x-acs-date"), "x-acs-date", now)?;
    let nonce = rec
        .header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| incomplete("no x-acs-signature-nonce"))?;
    let hash = rec
        .header("x-acs-content-sha256")
        .ok_or_else(|| incomplete("no x-acs-content-sha256"))?;
    let names: Vec<&str> = signed.split(';').collect();
    let mut required: Vec<String> = [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    required.extend(
        rec.headers
            .iter()
            .filter(|(k, _)| k.starts_with("x-acs-"))
            .map(|(k, _)| k.clone()),
    );
    if !rec.body.is_empty() {
        required.push("content-type".into());
    }
    if let Some(missing) = required.iter().find(|r| !names.contains(&r.as_str())) {
        return Err(incomplete(format!(
            "SignedHeaders {signed:?} does not name {missing:?} (sign host, content-type with a body, and every x-acs-* header sent)"
        )));
    }
    let body_hash = sha256_hex(&rec.body);
    if hash != body_hash {
        return Err(signature_mismatch(
            "Specified signature does not match our calculation.".into(),
            format!(
                "x-acs-content-sha256 {hash:?} is not the lower-case hex SHA-256 of the body ({body_hash})"
            ),
        ));
    }
    let mut values = Vec::new();
    for name in &names {
        let value = rec.header(name).ok_or_else(|| {
            signature_mismatch(
                "Specified signature does not match our calculation.".into(),
                format!("signed header {name:?} was not sent"),
            )
        })?;
        values.push((name.to_string(), value.to_owned()));
    }
    let canonical_query = acs3_canonical_query(&query_pairs(&rec.query));
    let canonical_request = acs3_canonical_request("POST", &canonical_query, &values, &body_hash);
    let expected = acs3_signature(secret, &acs3_string_to_sign(&canonical_request));
    if !same(signature, &expected) {
        let sorted = acs3_canonical_headers(&values).1;
        let hint = if sorted != signed {
            format!(" (SignedHeaders {signed:?} is not lower-case and sorted: {sorted:?})")
        } else {
            String::new()
        };
        return Err(signature_mismatch(
            "Specified signature does not match our calculation.".into(),
            format!("signature mismatch{hint}; server canonical request:\n{canonical_request}"),
        ));
    }
    Ok(nonce.to_owned())
}

/// Alibaba legacy RPC HMAC-SHA1 (sms.md §1.4). `Ok` is the nonce.
fn check_rpc(
    rec: &SmsReceived,
    key_id: &str,
    secret: &str,
    action: &str,
    now: i64,
) -> Result<String, Fail> {
    let pairs = rec.form();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let signature = get("Signature").unwrap_or("");
    let id = get("AccessKeyId").ok_or_else(|| incomplete("no AccessKeyId"))?;
    if id != key_id {
        return Err(key_not_found(id));
    }
    if get("SignatureMethod") != Some("HMAC-SHA1") {
        return Err(incomplete(format!(
            "SignatureMethod {:?}, expected HMAC-SHA1",
            get("SignatureMethod")
        )));
    }
    if get("SignatureVersion") != Some("1.0") {
        return Err(incomplete(format!(
            "SignatureVersion {:?}, expected 1.0",
            get("SignatureVersion")
        )));
    }
    aliyun_action_check(get("Action"), get("Version"), action)?;
    aliyun_time_check(get("Timestamp"), "Timestamp", now)?;
    let nonce = get("SignatureNonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| incomplete("no SignatureNonce"))?;
    let unsigned: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "Signature").collect();
    let unsigned: Vec<(&str, &str)> = unsigned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let string_to_sign = rpc_string_to_sign(&rec.method, &rpc_canonical_query(&unsigned));
    let expected = rpc_signature(secret, &string_to_sign);
    if !same(signature, &expected) {
        let hint = if signature.contains(' ') {
            " (a raw `+` in Signature decodes to a space: percent-encode it)"
        } else {
            ""
        };
        return Err(signature_mismatch(
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
            format!("signature mismatch{hint}"),
        ));
    }
    Ok(nonce.to_owned())
}

fn is_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("http://") || l.contains("https://") || l.contains("www.")
}

/// Mainland numbers may carry `+`, `+86`, `0086` or `86`; others are digits only (§1.5).
fn aliyun_number_ok(n: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match n.strip_prefix('+') {
        Some(rest) => {
            digits(rest)
                && ((rest.len() == 13 && rest.starts_with("861"))
                    || (rest.len() == 11 && rest.starts_with('1')))
        }
        None => digits(n) && (5..=20).contains(&n.len()),
    }
}

fn aliyun_business(code: &str, message: &str, why: impl Into<String>) -> Fail {
    fail(true, 200, code, message, why)
}

fn aliyun_missing(name: &str) -> Fail {
    fail(
        true,
        400,
        &format!("Missing{name}"),
        &format!("{name} is mandatory for this action."),
        format!("no {name}"),
    )
}

/// `TemplateParam` / `TtsParam`: a JSON object of strings. `Ok` is its values.
fn aliyun_json_params(raw: Option<&str>, name: &str) -> Result<Vec<String>, Fail> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let bad = |why: String| {
        aliyun_business(
            "isv.INVALID_JSON_PARAM",
            "JSON参数不合法，只接受字符串值",
            why,
        )
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Err(bad(format!("{name} {raw:?} is not a JSON object")));
    };
    map.iter()
        .map(|(k, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("{name}.{k} is {v}, not a string")))
        })
        .collect()
}

fn aliyun_sms_params(pairs: &[(String, String)], limit: Option<usize>) -> Result<Accepted, Fail> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let phones = get("PhoneNumbers").ok_or_else(|| aliyun_missing("PhoneNumbers"))?;
    get("SignName").ok_or_else(|| aliyun_missing("SignName"))?;
    get("TemplateCode").ok_or_else(|| aliyun_missing("TemplateCode"))?;
    let numbers: Vec<String> = phones.split(',').map(|p| p.trim().to_owned()).collect();
    if numbers.len() > 1000 {
        return Err(aliyun_business(
            "isv.MOBILE_COUNT_OVER_LIMIT",
            "手机号码数量超过限制",
            format!("{} numbers (max 1000)", numbers.len()),
        ));
    }
    if let Some(bad) = numbers.iter().find(|n| !aliyun_number_ok(n)) {
        return Err(aliyun_business(
            "isv.MOBILE_NUMBER_ILLEGAL",
            "非法手机号",
            format!(
                "{bad:?}: mainland 11 digits (optionally +/+86/86/0086), international digits without +"
            ),
        ));
    }
    let values = aliyun_json_params(get("TemplateParam"), "TemplateParam")?;
    if let Some(v) = values.iter().find(|v| is_url(v)) {
        return Err(aliyun_business(
            "isv.PARAM_NOT_SUPPORT_URL",
            "不支持URL",
            format!("variable {v:?} contains a URL"),
        ));
    }
    if let Some(limit) = limit
        && let Some(v) = values.iter().find(|v| v.chars().count() > limit)
    {
        return Err(aliyun_business(
            "isv.PARAM_LENGTH_LIMIT",
            "参数超出长度限制",
            format!(
                "variable {v:?} is {} chars (limit {limit})",
                v.chars().count()
            ),
        ));
    }
    Ok(Accepted {
        phones: numbers,
        ..Accepted::default()
    })
}

fn aliyun_voice_params(pairs: &[(String, String)], limit: Option<usize>) -> Result<Accepted, Fail> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let called = get("CalledNumber").ok_or_else(|| aliyun_missing("CalledNumber"))?;
    get("TtsCode").ok_or_else(|| aliyun_missing("TtsCode"))?;
    if !aliyun_number_ok(called) {
        return Err(aliyun_business(
            "isv.MOBILE_NUMBER_ILLEGAL",
            "非法手机号",
            format!("CalledNumber {called:?} is not one phone number"),
        ));
    }
    let values = aliyun_json_params(get("TtsParam"), "TtsParam")?;
    if let Some(v) = values.iter().find(|v| is_url(v)) {
        return Err(aliyun_business(
            "isv.PARAM_NOT_SUPPORT_URL",
            "不支持URL",
            format!("variable {v:?} contains a URL"),
        ));
    }
    let total: usize = values.iter().map(|v| v.chars().count()).sum();
    if let Some(limit) = limit
        && total > limit
    {
        return Err(aliyun_business(
            "isv.PARAM_LENGTH_LIMIT",
            "参数超出长度限制",
            format!("TtsParam values are {total} chars together (allowed {limit})"),
        ));
    }
    if let Some(p) = get("PlayTimes")
        && !matches!(p, "1" | "2" | "3")
    {
        return Err(aliyun_business(
            "isv.INVALID_PARAMETERS",
            "参数异常",
            format!("PlayTimes {p:?} (1–3)"),
        ));
    }
    if let Some(o) = get("OutId")
        && o.len() > 15
    {
        return Err(aliyun_business(
            "isv.INVALID_PARAMETERS",
            "参数异常",
            format!("OutId {o:?} is {} bytes (1–15)", o.len()),
        ));
    }
    Ok(Accepted {
        phones: vec![called.to_owned()],
        ..Accepted::default()
    })
}

// ---- Tencent

fn tc3_fail(code: &str, message: &str, why: impl Into<String>) -> Fail {
    fail(false, 200, code, message, why)
}

fn invalid_authorization(why: impl Into<String>) -> Fail {
    tc3_fail(
        "AuthFailure.InvalidAuthorization",
        "The Authorization header is invalid.",
        why,
    )
}

fn signature_failure(why: impl Into<String>) -> Fail {
    tc3_fail(
        "AuthFailure.SignatureFailure",
        "The provided credentials could not be validated. Please check your signature is correct.",
        why,
    )
}

/// Tencent TC3-HMAC-SHA256 (sms.md §3.2) on a received request.
fn check_tc3(
    rec: &SmsReceived,
    secret_id: &str,
    secret_key: &str,
    service: &str,
    now: i64,
) -> Result<(), Fail> {
    let auth = rec
        .header("authorization")
        .ok_or_else(|| invalid_authorization("no Authorization header"))?;
    let rest = auth
        .strip_prefix("TC3-HMAC-SHA256 ")
        .ok_or_else(|| invalid_authorization("Authorization must start with `TC3-HMAC-SHA256 `"))?;
    let parts: Vec<&str> = rest.split(", ").collect();
    let (Some(credential), Some(signed), Some(signature), 3) = (
        parts.first().and_then(|p| p.strip_prefix("Credential=")),
        parts.get(1).and_then(|p| p.strip_prefix("SignedHeaders=")),
        parts.get(2).and_then(|p| p.strip_prefix("Signature=")),
        parts.len(),
    ) else {
        return Err(invalid_authorization(format!(
            "{rest:?} is not `Credential=…, SignedHeaders=…, Signature=…` (\", \" separators)"
        )));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [id, date, scope_service, "tc3_request"] = scope[..] else {
        return Err(invalid_authorization(format!(
            "Credential {credential:?} is not <SecretId>/<date>/<service>/tc3_request"
        )));
    };
    if id != secret_id {
        return Err(tc3_fail(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
            format!("SecretId {id:?} is not this mock's"),
        ));
    }
    let ts_text = rec.header("x-tc-timestamp").ok_or_else(|| {
        tc3_fail(
            "MissingParameter",
            "The request is missing a required parameter `Timestamp`.",
            "no X-TC-Timestamp",
        )
    })?;
    let ts: i64 = ts_text.parse().map_err(|_| {
        tc3_fail(
            "InvalidParameter",
            "The parameter `Timestamp` is not valid.",
            format!("X-TC-Timestamp {ts_text:?} is not decimal seconds"),
        )
    })?;
    if (now - ts).abs() > TENCENT_WINDOW_SECS {
        return Err(tc3_fail(
            "AuthFailure.SignatureExpire",
            "Signature expired. Timestamp is too far from the server time.",
            format!(
                "X-TC-Timestamp {ts} is {}s away from now (window 300 s; ms instead of s?)",
                now - ts
            ),
        ));
    }
    if scope_service != service {
        return Err(signature_failure(format!(
            "service {scope_service:?} in the credential scope, expected {service:?}"
        )));
    }
    let utc_date = tc3_date(ts);
    if date != utc_date {
        return Err(signature_failure(format!(
            "credential date {date} is not the UTC date {utc_date} of X-TC-Timestamp"
        )));
    }
    let names: Vec<&str> = signed.split(';').collect();
    for needed in ["content-type", "host"] {
        if !names.contains(&needed) {
            return Err(invalid_authorization(format!(
                "SignedHeaders {signed:?} does not include {needed}"
            )));
        }
    }
    let mut values = Vec::new();
    for name in &names {
        let value = rec
            .header(name)
            .ok_or_else(|| signature_failure(format!("signed header {name:?} was not sent")))?;
        values.push((name.to_string(), value.to_owned()));
    }
    let canonical_request = tc3_canonical_request(&values, &rec.body);
    let string_to_sign = tc3_string_to_sign(ts_text, date, service, &canonical_request);
    let expected = tc3_signature(secret_key, date, service, &string_to_sign);
    if !same(signature, &expected) {
        return Err(signature_failure(format!(
            "signature mismatch; server canonical request:\n{canonical_request}"
        )));
    }
    Ok(())
}

fn tencent_business(code: &str, message: &str, why: impl Into<String>) -> Fail {
    fail(true, 200, code, message, why)
}

fn tencent_missing(name: &str) -> Fail {
    tencent_business(
        "MissingParameter",
        &format!("The request is missing a required parameter `{name}`."),
        format!("no {name}"),
    )
}

fn tencent_type(name: &str, want: &str) -> Fail {
    tencent_business(
        "InvalidParameter",
        &format!("The type of parameter `{name}` is not correct."),
        format!("{name} must be {want}"),
    )
}

fn tencent_headers(kind: Kind, rec: &SmsReceived) -> Result<(), Fail> {
    let action = rec.header("x-tc-action");
    if action != Some(kind.action()) {
        return Err(tencent_business(
            "InvalidAction",
            "The requested action does not exist.",
            format!("X-TC-Action {action:?}, expected {:?}", kind.action()),
        ));
    }
    let version = rec.header("x-tc-version");
    if version != Some(kind.tencent_version()) {
        return Err(tencent_business(
            "NoSuchVersion",
            "The requested version does not exist.",
            format!(
                "X-TC-Version {version:?}, expected {:?}",
                kind.tencent_version()
            ),
        ));
    }
    if rec.header("x-tc-region").is_none_or(str::is_empty) {
        return Err(tencent_missing("Region"));
    }
    Ok(())
}

fn json_str<'a>(
    body: &'a Map<String, Value>,
    name: &str,
    required: bool,
) -> Result<Option<&'a str>, Fail> {
    match body.get(name) {
        None | Some(Value::Null) if required => Err(tencent_missing(name)),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(tencent_type(name, "a string")),
    }
}

fn json_strings(body: &Map<String, Value>, name: &str) -> Result<Vec<String>, Fail> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| tencent_type(name, "an array of strings"))
            })
            .collect(),
        Some(_) => Err(tencent_type(name, "an array of strings")),
    }
}

fn e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| {
        (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

fn tencent_sms_body(body: &Map<String, Value>, limit: Option<usize>) -> Result<Accepted, Fail> {
    if !body.contains_key("PhoneNumberSet") {
        return Err(tencent_missing("PhoneNumberSet"));
    }
    let phones = json_strings(body, "PhoneNumberSet")?;
    if phones.is_empty() {
        return Err(tencent_missing("PhoneNumberSet"));
    }
    if phones.len() > 200 {
        return Err(tencent_business(
            "LimitExceeded.PhoneNumberCountLimit",
            "the number of phone numbers in a single request exceeds the upper limit (200)",
            format!("{} numbers", phones.len()),
        ));
    }
    json_str(body, "SmsSdkAppId", true)?;
    json_str(body, "TemplateId", true)?;
    let domestic = phones.iter().any(|p| p.starts_with("+86"));
    json_str(body, "SignName", domestic)?;
    let session = json_str(body, "SessionContext", false)?
        .unwrap_or("")
        .to_owned();
    let params = json_strings(body, "TemplateParamSet")?;
    if let Some(v) = params.iter().find(|v| is_url(v)) {
        return Err(tencent_business(
            "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
            "URLs are not allowed in template parameters.",
            format!("variable {v:?} contains a URL"),
        ));
    }
    if let Some(limit) = limit
        && let Some(v) = params.iter().find(|v| v.chars().count() > limit)
    {
        return Err(tencent_business(
            "InvalidParameterValue.TemplateParameterLengthLimit",
            "a single template variable exceeds the length limit",
            format!(
                "variable {v:?} is {} chars (limit {limit})",
                v.chars().count()
            ),
        ));
    }
    let per_number = phones
        .iter()
        .map(|p| {
            (!e164(p)).then(|| {
                (
                    "InvalidParameterValue.IncorrectPhoneNumber".to_owned(),
                    "incorrect number format".to_owned(),
                )
            })
        })
        .collect();
    Ok(Accepted {
        phones,
        per_number,
        session,
        ..Accepted::default()
    })
}

fn tencent_voice_body(body: &Map<String, Value>, limit: Option<usize>) -> Result<Accepted, Fail> {
    json_str(body, "TemplateId", true)?;
    let called = json_str(body, "CalledNumber", true)?.unwrap_or_default();
    if body.contains_key("VoiceSdkAppId") && !body.contains_key("VoiceSdkAppid") {
        return Err(tencent_business(
            "MissingParameter",
            "The request is missing a required parameter `VoiceSdkAppid`.",
            "VoiceSdkAppId sent; the field is VoiceSdkAppid (lower-case id)",
        ));
    }
    json_str(body, "VoiceSdkAppid", true)?;
    let session = json_str(body, "SessionContext", false)?
        .unwrap_or("")
        .to_owned();
    let params = json_strings(body, "TemplateParamSet")?;
    match body.get("PlayTimes") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| (1..=3).contains(&n)) => {}
        Some(Value::Number(n)) => {
            return Err(tencent_business(
                "InvalidParameterValue",
                "The value of parameter `PlayTimes` is not valid.",
                format!("PlayTimes {n} (1–3)"),
            ));
        }
        Some(_) => return Err(tencent_type("PlayTimes", "an integer")),
    }
    if !e164(called) {
        return Err(tencent_business(
            "InvalidParameterValue.CalledNumberVerifyFail",
            "called number verification failed",
            format!("CalledNumber {called:?} is not E.164 (+86…)"),
        ));
    }
    if let Some(limit) = limit
        && let Some(v) = params.iter().find(|v| v.chars().count() > limit)
    {
        return Err(tencent_business(
            "InvalidParameterValue.ContentLengthLimit",
            "a template variable exceeds the length limit",
            format!(
                "variable {v:?} is {} chars (limit {limit})",
                v.chars().count()
            ),
        ));
    }
    Ok(Accepted {
        phones: vec![called.to_owned()],
        session,
        ..Accepted::default()
    })
}

// ---- Twilio

fn twilio_fail(
    verified: bool,
    status: u16,
    code: u32,
    message: impl Into<String>,
    why: impl Into<String>,
) -> Fail {
    Fail {
        verified,
        status,
        code: code.to_string(),
        message: message.into(),
        why: why.into(),
    }
}

/// HTTP Basic against the account credentials and the registered API keys.
fn check_basic(
    rec: &SmsReceived,
    account_sid: &str,
    auth_token: &str,
    api_keys: &[(String, String)],
) -> Result<(), Fail> {
    let unauth = |why: String| twilio_fail(false, 401, 20003, "Authenticate", why);
    let header = rec
        .header("authorization")
        .ok_or_else(|| unauth("no Authorization header".into()))?;
    let encoded = header
        .strip_prefix("Basic ")
        .ok_or_else(|| unauth(format!("{header:?} is not Basic auth")))?;
    let decoded = BASE64
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| unauth("Basic credentials are not base64 of UTF-8".into()))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| unauth("Basic credentials have no ':'".into()))?;
    let ok = (same(user, account_sid) && same(password, auth_token))
        || api_keys
            .iter()
            .any(|(sid, secret)| same(user, sid) && same(password, secret));
    if !ok {
        return Err(unauth(format!(
            "user {user:?} with a wrong password, or unknown"
        )));
    }
    Ok(())
}

fn check_twilio(rec: &SmsReceived, st: &State) -> Result<Accepted, Fail> {
    let not_found = || {
        twilio_fail(
            false,
            404,
            20404,
            format!("The requested resource {} was not found", rec.path),
            "no such endpoint",
        )
    };
    let rest = rec
        .path
        .strip_prefix("/2010-04-01/Accounts/")
        .ok_or_else(not_found)?;
    let (sid, call) = match rest.split_once('/') {
        Some((sid, "Messages.json")) => (sid, false),
        Some((sid, "Calls.json")) => (sid, true),
        _ => return Err(not_found()),
    };
    if rec.method != "POST" {
        return Err(twilio_fail(
            false,
            405,
            20004,
            "Method not allowed",
            format!("{} (create is POST)", rec.method),
        ));
    }
    check_basic(rec, &st.id, &st.secret, &st.api_keys)?;
    if sid != st.id {
        return Err(twilio_fail(
            false,
            401,
            20003,
            "Authenticate",
            format!(
                "path account {sid:?} is not the Account SID (an API key SID goes in the Basic user only)"
            ),
        ));
    }
    let is_form = rec
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        let message = if call {
            "No 'To' number is specified"
        } else {
            "A 'To' phone number is required."
        };
        return Err(twilio_fail(
            true,
            400,
            if call { 21201 } else { 21604 },
            message,
            format!(
                "Content-Type {:?}: Twilio reads parameters only from an application/x-www-form-urlencoded body",
                rec.header("content-type")
            ),
        ));
    }
    let form = rec.form_body();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let bad = |code: u32, message: String| twilio_fail(true, 400, code, message.clone(), message);
    let to = get("To").ok_or_else(|| {
        if call {
            bad(21201, "No 'To' number is specified".into())
        } else {
            bad(21604, "A 'To' phone number is required.".into())
        }
    })?;
    if !e164(to) {
        return Err(bad(
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        ));
    }
    let from = get("From");
    let now = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S +0000")
        .to_string();
    let twilio = if call {
        let from = from.ok_or_else(|| bad(21213, "No 'From' number is specified".into()))?;
        if get("Twiml").is_none() && get("Url").is_none() && get("ApplicationSid").is_none() {
            return Err(bad(
                21205,
                "Url, Twiml or ApplicationSid is required.".into(),
            ));
        }
        json!({"account_sid": st.id, "api_version": "2010-04-01", "date_created": now,
               "date_updated": now, "direction": "outbound-api", "duration": null,
               "end_time": null, "from": from, "from_formatted": from, "price": null,
               "start_time": null, "status": "queued", "to": to, "to_formatted": to})
    } else {
        let service = get("MessagingServiceSid");
        if from.is_none() && service.is_none() {
            return Err(bad(21603, "A 'From' phone number is required.".into()));
        }
        let body = get("Body");
        if body.is_none() && get("MediaUrl").is_none() {
            return Err(bad(21602, "Message body is required.".into()));
        }
        let body = body.unwrap_or("");
        let chars = body.chars().count();
        if chars > TWILIO_BODY_LIMIT {
            return Err(bad(
                21617,
                format!(
                    "The concatenated message body exceeds the 1600 character limit ({chars})."
                ),
            ));
        }
        json!({"account_sid": st.id, "api_version": "2010-04-01", "body": body,
               "date_created": now, "date_sent": null, "date_updated": now,
               "direction": "outbound-api", "error_code": null, "error_message": null,
               "from": from, "messaging_service_sid": service, "num_media": "0",
               "num_segments": "1", "price": null, "price_unit": "USD",
               "status": "queued", "to": to})
    };
    Ok(Accepted {
        phones: vec![to.to_owned()],
        call,
        twilio,
        ..Accepted::default()
    })
}

// ------------------------------------------------------------------ self-tests

mod self_tests {
    use super::*;

    fn vectors() -> Value {
        serde_json::from_str(include_str!("../vectors/sms-vectors.json")).unwrap()
    }

    fn s<'a>(v: &'a Value, k: &str) -> &'a str {
        v[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
    }

    fn pairs(v: &Value) -> Vec<(&str, &str)> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect()
    }

    #[test]
    fn acs3_reproduces_a0_a1_a2_a3_a4() {
        let all = vectors();
        for id in [
            "a0_aliyun_v3_official_doc_example",
            "a1_aliyun_v3_sendsms_minimal",
            "a2_aliyun_v3_sendsms_as_sent_by_sdk",
            "a3_aliyun_v3_sendbatchsms_form_body",
            "a4_aliyun_v3_singlecallbytts",
        ] {
            let v = &all[id];
            let body = v["body"].as_str().unwrap_or("");
            let signed = acs3_sign(
                s(&all["a1_aliyun_v3_sendsms_minimal"], "access_key_id"),
                s(v, "access_key_secret"),
                "POST",
                &pairs(&v["query"]),
                &pairs(&v["headers_before_signing"]),
                body.as_bytes(),
            );
            assert_eq!(
                signed.canonical_query,
                s(v, "canonical_query_string"),
                "{id}"
            );
            assert_eq!(signed.canonical_headers, s(v, "canonical_headers"), "{id}");
            assert_eq!(signed.signed_headers, s(v, "signed_headers"), "{id}");
            assert_eq!(signed.canonical_request, s(v, "canonical_request"), "{id}");
            assert_eq!(signed.string_to_sign, s(v, "string_to_sign"), "{id}");
            assert_eq!(signed.signature, s(v, "signature"), "{id}");
        }
        let a1 = &all["a1_aliyun_v3_sendsms_minimal"];
        let signed = acs3_sign(
            s(a1, "access_key_id"),
            s(a1, "access_key_secret"),
            "POST",
            &pairs(&a1["query"]),
            &pairs(&a1["headers_before_signing"]),
            b"",
        );
        assert_eq!(signed.authorization, s(a1, "authorization"));
    }

    #[test]
    fn rpc_reproduces_b0_b1_b2() {
        let all = vectors();
        for id in [
            "b0_aliyun_rpc_hmac_sha1_official_doc_example",
            "b1_aliyun_rpc_hmac_sha1_sendsms",
            "b2_aliyun_rpc_hmac_sha1_sendsms_old_core_sdk",
        ] {
            let v = &all[id];
            let cq = rpc_canonical_query(&pairs(&v["params"]));
            assert_eq!(cq, s(v, "canonicalized_query_string"), "{id}");
            let sts = rpc_string_to_sign(s(v, "http_method"), &cq);
            assert_eq!(sts, s(v, "string_to_sign"), "{id}");
            assert_eq!(
                rpc_signature(s(v, "access_key_secret"), &sts),
                s(v, "signature")
            );
            assert_eq!(
                rpc_signed_query(
                    s(v, "http_method"),
                    s(v, "access_key_secret"),
                    &pairs(&v["params"])
                ),
                s(v, "wire_query")
            );
        }
    }

    #[test]
    fn tc3_reproduces_c0_to_c4() {
        let all = vectors();
        for id in [
            "c0_tencent_tc3_official_doc_example",
            "c1_tencent_tc3_sendsms_as_sent_by_sdk",
            "c2_tencent_tc3_sendsms_compact_utf8_body",
            "c3_tencent_tc3_date_is_utc_not_beijing",
            "c4_tencent_tc3_vms_sendttsvoice",
        ] {
            let v = &all[id];
            let ts: i64 = s(v, "x_tc_timestamp").parse().unwrap();
            let signed = tc3_sign(
                s(v, "secret_id"),
                s(v, "secret_key"),
                s(v, "service"),
                s(v, "content_type"),
                s(v, "host"),
                ts,
                s(v, "body").as_bytes(),
            );
            assert_eq!(signed.date, s(v, "date"), "{id}");
            if v.get("canonical_request").is_some() {
                assert_eq!(signed.canonical_request, s(v, "canonical_request"), "{id}");
            }
            assert_eq!(signed.string_to_sign, s(v, "string_to_sign"), "{id}");
            assert_eq!(signed.signature, s(v, "signature"), "{id}");
            assert_eq!(signed.authorization, s(v, "authorization"), "{id}");
        }
    }

    #[test]
    fn basic_auth_reproduces_d0() {
        let d0 = &vectors()["d0_twilio_basic_auth_and_form_body"];
        assert_eq!(
            basic_auth(s(d0, "account_sid"), s(d0, "auth_token")),
            s(d0, "authorization_with_auth_token")
        );
        assert_eq!(
            basic_auth(s(d0, "api_key_sid"), s(d0, "api_key_secret")),
            s(d0, "authorization_with_api_key")
        );
    }

    // ---- the checks on captured / vector requests

    /// 2024-01-02T03:04:05Z, the time pinned in the a*, b1, c1, c2, c4 vectors.
    const VECTOR_NOW: i64 = 1_704_164_645;

    fn with_auth(headers: &[(String, String)], auth: &str) -> Vec<(String, String)> {
        let mut h = headers.to_vec();
        h.push(("authorization".into(), auth.into()));
        h
    }

    fn rec_of(query: &str, headers: &[(String, String)], body: &[u8]) -> SmsReceived {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        SmsReceived::new("POST", "/", query, &h, body)
    }

    /// Headers of an Alibaba vector as sent: headers_before_signing + content hash.
    fn aliyun_headers(v: &Value) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = pairs(&v["headers_before_signing"])
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        h.push((
            "x-acs-content-sha256".into(),
            s(v, "hashed_request_payload").into(),
        ));
        h
    }

    #[test]
    fn acs3_check_accepts_a1_a2_a4_and_rejects_the_wrong_variants() {
        let all = vectors();
        let a1 = &all["a1_aliyun_v3_sendsms_minimal"];
        let (id, secret) = (s(a1, "access_key_id"), s(a1, "access_key_secret"));
        let headers = aliyun_headers(a1);
        let query = s(a1, "canonical_query_string");
        let good = rec_of(query, &with_auth(&headers, s(a1, "authorization")), b"");
        assert_eq!(
            check_acs3(&good, id, secret, "SendSms", VECTOR_NOW).unwrap(),
            "0123456789abcdef0123456789abcdef"
        );
        // the wire form of the SDK (a2): '+' for the space in the query, more headers signed
        let a2 = &all["a2_aliyun_v3_sendsms_as_sent_by_sdk"];
        let wire = s(a2, "captured_http_request")
            .split_once('?')
            .unwrap()
            .1
            .split_once(' ')
            .unwrap()
            .0;
        assert!(wire.contains("%25+5m"));
        let rec = rec_of(
            wire,
            &with_auth(&aliyun_headers(a2), s(a2, "authorization")),
            b"",
        );
        check_acs3(&rec, id, secret, "SendSms", VECTOR_NOW).unwrap();
        // a4, the voice call
        let a4 = &all["a4_aliyun_v3_singlecallbytts"];
        let rec = rec_of(
            s(a4, "canonical_query_string"),
            &with_auth(&aliyun_headers(a4), s(a4, "authorization")),
            b"",
        );
        check_acs3(&rec, id, secret, "SingleCallByTts", VECTOR_NOW).unwrap();
        assert_eq!(
            check_acs3(&rec, id, secret, "SendSms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "InvalidAction.NotFound"
        );

        for wrong in [
            "wrong_if_query_form_encoded_plus_for_space",
            "wrong_if_query_not_sorted",
            "wrong_if_asterisk_left_unencoded",
            "wrong_if_payload_hash_upper_case_hex",
            "wrong_if_signature_base64_instead_of_hex",
        ] {
            let auth = s(a1, "authorization").replace(s(a1, "signature"), s(a1, wrong));
            let rec = rec_of(query, &with_auth(&headers, &auth), b"");
            let f = check_acs3(&rec, id, secret, "SendSms", VECTOR_NOW).unwrap_err();
            assert_eq!(f.code, "SignatureDoesNotMatch", "{wrong}");
            assert_eq!(f.status, 400);
            assert!(!f.verified);
        }
        let wrong = |rec: &SmsReceived, now: i64| {
            check_acs3(rec, id, secret, "SendSms", now)
                .unwrap_err()
                .code
        };
        // other secret, other key id, time window, upper-case hash header
        assert_eq!(
            check_acs3(&good, id, "other", "SendSms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "SignatureDoesNotMatch"
        );
        assert_eq!(
            check_acs3(&good, "LTAIother", secret, "SendSms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "InvalidAccessKeyId.NotFound"
        );
        assert_eq!(wrong(&good, VECTOR_NOW + 901), "InvalidTimeStamp.Expired");
        assert_eq!(wrong(&good, VECTOR_NOW - 901), "InvalidTimeStamp.Expired");
        check_acs3(&good, id, secret, "SendSms", VECTOR_NOW + 900).unwrap();
        let mut upper = headers.clone();
        upper.last_mut().unwrap().1 = s(a1, "hashed_request_payload").to_uppercase();
        let rec = rec_of(query, &with_auth(&upper, s(a1, "authorization")), b"");
        assert_eq!(wrong(&rec, VECTOR_NOW), "SignatureDoesNotMatch");
        // an x-acs-* header sent but not signed; a ", " separator; a different query
        let mut extra = headers.clone();
        extra.push(("x-acs-extra".into(), "1".into()));
        let rec = rec_of(query, &with_auth(&extra, s(a1, "authorization")), b"");
        assert_eq!(wrong(&rec, VECTOR_NOW), "IncompleteSignature");
        let spaced = s(a1, "authorization").replace(",SignedHeaders", ", SignedHeaders");
        let rec = rec_of(query, &with_auth(&headers, &spaced), b"");
        assert_eq!(wrong(&rec, VECTOR_NOW), "IncompleteSignature");
        let rec = rec_of(
            &query.replace("alert-42", "alert-43"),
            &with_auth(&headers, s(a1, "authorization")),
            b"",
        );
        assert_eq!(wrong(&rec, VECTOR_NOW), "SignatureDoesNotMatch");
        // a0: the doc example, and its bad date format
        let a0 = &all["a0_aliyun_v3_official_doc_example"];
        let rec = rec_of(
            s(a0, "canonical_query_string"),
            &with_auth(&aliyun_headers(a0), s(a0, "authorization")),
            b"",
        );
        let a0_now = parse_aliyun_time("2023-10-26T10:22:32Z").unwrap();
        // RunInstances / 2014-05-26 is not this API: refused before the signature
        assert_eq!(
            check_acs3(
                &rec,
                "YourAccessKeyId",
                "YourAccessKeySecret",
                "SendSms",
                a0_now
            )
            .unwrap_err()
            .code,
            "InvalidAction.NotFound"
        );
        let mut ms = headers.clone();
        ms.iter_mut().find(|(k, _)| k == "x-acs-date").unwrap().1 =
            "2024-01-02T03:04:05.000Z".into();
        let rec = rec_of(query, &with_auth(&ms, s(a1, "authorization")), b"");
        assert_eq!(wrong(&rec, VECTOR_NOW), "InvalidTimeStamp.Format");
    }

    #[test]
    fn rpc_check_accepts_b1_b2_and_rejects_the_wrong_variants() {
        let all = vectors();
        let id = "LTAI5tFAKEFAKEFAKEFAKE";
        for name in [
            "b1_aliyun_rpc_hmac_sha1_sendsms",
            "b2_aliyun_rpc_hmac_sha1_sendsms_old_core_sdk",
        ] {
            let v = &all[name];
            let rec = rec_of(s(v, "wire_query"), &[], b"");
            assert_eq!(
                check_rpc(&rec, id, s(v, "access_key_secret"), "SendSms", VECTOR_NOW).unwrap(),
                "0123456789abcdef0123456789abcdef",
                "{name}"
            );
        }
        let b1 = &all["b1_aliyun_rpc_hmac_sha1_sendsms"];
        let secret = s(b1, "access_key_secret");
        let wire = s(b1, "wire_query");
        let encoded = s(b1, "signature_percent_encoded");
        for wrong in [
            "wrong_if_hmac_key_without_trailing_ampersand",
            "wrong_if_form_encoding_plus_for_space",
            "wrong_if_method_GET",
            "wrong_if_canonical_query_not_percent_encoded_a_second_time",
        ] {
            let q = wire.replace(encoded, &percent_encode(s(b1, wrong)));
            let f =
                check_rpc(&rec_of(&q, &[], b""), id, secret, "SendSms", VECTOR_NOW).unwrap_err();
            assert_eq!(f.code, "SignatureDoesNotMatch", "{wrong}");
            assert!(f.message.contains(s(b1, "string_to_sign")));
        }
        // the signature left raw: its '+' decodes to a space
        let raw = wire.replace(encoded, s(b1, "signature"));
        let f = check_rpc(&rec_of(&raw, &[], b""), id, secret, "SendSms", VECTOR_NOW).unwrap_err();
        assert_eq!(f.code, "SignatureDoesNotMatch");
        assert!(f.why.contains("raw `+`"));
        // signed for POST, sent as GET
        let mut get = rec_of(wire, &[], b"");
        get.method = "GET".into();
        assert!(check_rpc(&get, id, secret, "SendSms", VECTOR_NOW).is_err());
        let rec = rec_of(wire, &[], b"");
        assert_eq!(
            check_rpc(&rec, id, secret, "SendSms", VECTOR_NOW + 901)
                .unwrap_err()
                .code,
            "InvalidTimeStamp.Expired"
        );
        assert_eq!(
            check_rpc(&rec, "other", secret, "SendSms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "InvalidAccessKeyId.NotFound"
        );
        // the doc's own example (b0) is DescribeRegions over GET
        let b0 = &all["b0_aliyun_rpc_hmac_sha1_official_doc_example"];
        let rec = rec_of(s(b0, "wire_query"), &[], b"");
        assert_eq!(
            check_rpc(&rec, "testid", "testsecret", "SendSms", 1_456_231_584)
                .unwrap_err()
                .code,
            "InvalidAction.NotFound"
        );
    }

    /// Headers of a Tencent vector as sent.
    fn tencent_headers_of(v: &Value, auth: &str) -> Vec<(String, String)> {
        vec![
            ("content-type".into(), s(v, "content_type").into()),
            ("host".into(), s(v, "host").into()),
            (
                "x-tc-action".into(),
                v["action"].as_str().unwrap_or("SendSms").into(),
            ),
            ("x-tc-timestamp".into(), s(v, "x_tc_timestamp").into()),
            (
                "x-tc-version".into(),
                v["version"].as_str().unwrap_or("2021-01-11").into(),
            ),
            ("x-tc-region".into(), "ap-guangzhou".into()),
            ("authorization".into(), auth.into()),
        ]
    }

    #[test]
    fn tc3_check_accepts_c1_c2_c3_c4_and_rejects_the_wrong_variants() {
        let all = vectors();
        for name in [
            "c1_tencent_tc3_sendsms_as_sent_by_sdk",
            "c2_tencent_tc3_sendsms_compact_utf8_body",
            "c3_tencent_tc3_date_is_utc_not_beijing",
            "c4_tencent_tc3_vms_sendttsvoice",
        ] {
            let v = &all[name];
            let ts: i64 = s(v, "x_tc_timestamp").parse().unwrap();
            let rec = rec_of(
                "",
                &tencent_headers_of(v, s(v, "authorization")),
                s(v, "body").as_bytes(),
            );
            check_tc3(
                &rec,
                s(v, "secret_id"),
                s(v, "secret_key"),
                s(v, "service"),
                ts,
            )
            .unwrap();
            check_tc3(
                &rec,
                s(v, "secret_id"),
                s(v, "secret_key"),
                s(v, "service"),
                ts + 300,
            )
            .unwrap();
            let f = check_tc3(
                &rec,
                s(v, "secret_id"),
                s(v, "secret_key"),
                s(v, "service"),
                ts + 301,
            )
            .unwrap_err();
            assert_eq!(
                (f.code.as_str(), f.status, f.verified),
                ("AuthFailure.SignatureExpire", 200, false)
            );
            assert_eq!(
                check_tc3(&rec, s(v, "secret_id"), "otherkey", s(v, "service"), ts)
                    .unwrap_err()
                    .code,
                "AuthFailure.SignatureFailure",
                "{name}"
            );
            assert_eq!(
                check_tc3(&rec, "AKIDother", s(v, "secret_key"), s(v, "service"), ts)
                    .unwrap_err()
                    .code,
                "AuthFailure.SecretIdNotFound"
            );
        }
        let c2 = &all["c2_tencent_tc3_sendsms_compact_utf8_body"];
        let (id, key) = (s(c2, "secret_id"), s(c2, "secret_key"));
        let body = s(c2, "body").as_bytes();
        for wrong in [
            "wrong_if_secret_key_used_without_TC3_prefix",
            "wrong_if_service_in_scope_is_host_name",
            "wrong_if_signed_content_type_has_charset_but_sent_without",
            "wrong_if_sdk_style_body_signed_but_compact_body_sent",
        ] {
            let auth = s(c2, "authorization").replace(s(c2, "signature"), s(c2, wrong));
            let rec = rec_of("", &tencent_headers_of(c2, &auth), body);
            assert_eq!(
                check_tc3(&rec, id, key, "sms", VECTOR_NOW)
                    .unwrap_err()
                    .code,
                "AuthFailure.SignatureFailure",
                "{wrong}"
            );
        }
        // c3: the Beijing date in the scope
        let c3 = &all["c3_tencent_tc3_date_is_utc_not_beijing"];
        let auth = s(c3, "authorization")
            .replace("2024-01-02", "2024-01-03")
            .replace(
                s(c3, "signature"),
                s(c3, "wrong_if_date_taken_in_utc_plus_8"),
            );
        let rec = rec_of("", &tencent_headers_of(c3, &auth), body);
        let f = check_tc3(&rec, id, key, "sms", 1_704_213_000).unwrap_err();
        assert_eq!(f.code, "AuthFailure.SignatureFailure");
        assert!(f.why.contains("UTC date"));
        // c4 signed for vms is not valid for sms, and the ", " separators are required
        let c4 = &all["c4_tencent_tc3_vms_sendttsvoice"];
        let rec = rec_of(
            "",
            &tencent_headers_of(c4, s(c4, "authorization")),
            s(c4, "body").as_bytes(),
        );
        assert_eq!(
            check_tc3(&rec, id, key, "sms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "AuthFailure.SignatureFailure"
        );
        let tight = s(c2, "authorization").replace(", ", ",");
        let rec = rec_of("", &tencent_headers_of(c2, &tight), body);
        assert_eq!(
            check_tc3(&rec, id, key, "sms", VECTOR_NOW)
                .unwrap_err()
                .code,
            "AuthFailure.InvalidAuthorization"
        );
        // the doc example (c0) signs content-type with charset: accepted as sent
        let c0 = &all["c0_tencent_tc3_official_doc_example"];
        let rec = rec_of(
            "",
            &tencent_headers_of(c0, s(c0, "authorization")),
            s(c0, "body").as_bytes(),
        );
        check_tc3(&rec, id, key, "cvm", 1_551_113_065).unwrap();
        // same request, content-type sent without the charset it was signed with
        let mut plain = tencent_headers_of(c0, s(c0, "authorization"));
        plain[0].1 = "application/json".into();
        let rec = rec_of("", &plain, s(c0, "body").as_bytes());
        assert!(check_tc3(&rec, id, key, "cvm", 1_551_113_065).is_err());
    }

    #[test]
    fn basic_check_accepts_d0_credentials_only() {
        let d0 = &vectors()["d0_twilio_basic_auth_and_form_body"];
        let (sid, token) = (s(d0, "account_sid"), s(d0, "auth_token"));
        let keys = vec![(
            s(d0, "api_key_sid").to_owned(),
            s(d0, "api_key_secret").to_owned(),
        )];
        let rec = |auth: &str| rec_of("", &[("authorization".into(), auth.into())], b"");
        check_basic(
            &rec(s(d0, "authorization_with_auth_token")),
            sid,
            token,
            &[],
        )
        .unwrap();
        check_basic(&rec(s(d0, "authorization_with_api_key")), sid, token, &keys).unwrap();
        let f =
            check_basic(&rec(s(d0, "authorization_with_api_key")), sid, token, &[]).unwrap_err();
        assert_eq!((f.status, f.code.as_str()), (401, "20003"));
        assert!(check_basic(&rec(&basic_auth(sid, "wrong")), sid, token, &keys).is_err());
        assert!(check_basic(&rec_of("", &[], b""), sid, token, &keys).is_err());
        assert!(check_basic(&rec(&format!("Bearer {token}")), sid, token, &keys).is_err());
    }

    // ---- live: requests to running mocks

    const AK_ID: &str = "LTAI5tFAKEFAKEFAKEFAKE";
    const AK_SECRET: &str = "FakeSecretFakeSecretFakeSecret";
    const TC_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const TC_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    fn nonce() -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        format!(
            "{:016x}{:016x}",
            now_secs(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn host_of(mock: &MockSms) -> String {
        mock.base().trim_start_matches("http://").to_owned()
    }

    async fn answer(res: reqwest::Response) -> (u16, Value) {
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A V3 request to the mock; `date` and `nonce` as given; `wire_query`
    /// overrides the query sent (default: the canonical one).
    async fn acs3_send(
        mock: &MockSms,
        secret: &str,
        action: &str,
        params: &[(&str, &str)],
        date: &str,
        nonce: &str,
        wire_query: Option<&str>,
    ) -> (u16, Value) {
        let host = host_of(mock);
        let signed = acs3_sign(
            AK_ID,
            secret,
            "POST",
            params,
            &[
                ("host", &host),
                ("x-acs-action", action),
                ("x-acs-version", ALIYUN_VERSION),
                ("x-acs-date", date),
                ("x-acs-signature-nonce", nonce),
            ],
            b"",
        );
        let query = wire_query.unwrap_or(&signed.canonical_query);
        let mut req = reqwest::Client::new().post(format!("{}/?{query}", mock.base()));
        for (k, v) in &signed.headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        answer(
            req.header("authorization", signed.authorization)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn acs3_ok(mock: &MockSms, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
        acs3_send(
            mock,
            AK_SECRET,
            action,
            params,
            &aliyun_time(now_secs()),
            &nonce(),
            None,
        )
        .await
    }

    const SMS: [(&str, &str); 4] = [
        ("PhoneNumbers", "13800138000"),
        ("SignName", "阿里云短信测试"),
        ("TemplateCode", "SMS_154950909"),
        (
            "TemplateParam",
            "{\"alert\":\"CPU>90% 5m*\",\"host\":\"db-01\"}",
        ),
    ];

    fn sms_with(param: &str) -> Vec<(&'static str, String)> {
        let mut p: Vec<(&str, String)> =
            SMS[..3].iter().map(|(k, v)| (*k, v.to_string())).collect();
        p.push(("TemplateParam", param.to_owned()));
        p
    }

    fn refs<'a>(p: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
        p.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[tokio::test]
    async fn aliyun_sms_live() {
        let mock = MockSms::aliyun_sms(AK_ID, AK_SECRET).await;
        let (status, body) = acs3_ok(&mock, "SendSms", &SMS).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["Code"], "OK");
        assert_eq!(body["Message"], "OK");
        assert!(body["BizId"].as_str().unwrap().ends_with("^0"));
        assert!(body["RequestId"].is_string());

        // the SDK's wire form: '+' for the space, signed with %20
        let canonical = acs3_canonical_query(&SMS);
        let plus = canonical.replace("%25%205m", "%25+5m");
        let (status, body) = acs3_send(
            &mock,
            AK_SECRET,
            "SendSms",
            &SMS,
            &aliyun_time(now_secs()),
            &nonce(),
            Some(&plus),
        )
        .await;
        assert_eq!((status, body["Code"].as_str()), (200, Some("OK")));

        // gateway errors
        let n = nonce();
        let now = aliyun_time(now_secs());
        let cases = [
            (
                acs3_send(&mock, "wrong", "SendSms", &SMS, &now, &nonce(), None).await,
                400,
                "SignatureDoesNotMatch",
            ),
            (
                acs3_send(
                    &mock,
                    AK_SECRET,
                    "SendSms",
                    &SMS,
                    &aliyun_time(now_secs() - 1000),
                    &nonce(),
                    None,
                )
                .await,
                400,
                "InvalidTimeStamp.Expired",
            ),
            (
                acs3_send(&mock, AK_SECRET, "SendSms", &SMS, &now, &n, None).await,
                200,
                "OK",
            ),
            (
                acs3_send(&mock, AK_SECRET, "SendSms", &SMS, &now, &n, None).await,
                400,
                "SignatureNonceUsed",
            ),
            (
                acs3_send(
                    &mock,
                    AK_SECRET,
                    "SingleCallByTts",
                    &SMS,
                    &now,
                    &nonce(),
                    None,
                )
                .await,
                404,
                "InvalidAction.NotFound",
            ),
        ];
        for ((status, body), want_status, want_code) in cases {
            assert_eq!(
                (status, body["Code"].as_str().unwrap()),
                (want_status, want_code),
                "{body}"
            );
            assert!(body["RequestId"].is_string());
        }
        let res = reqwest::Client::new()
            .post(format!("{}/?{canonical}", mock.base()))
            .header(
                "authorization",
                "ACS3-HMAC-SHA256 Credential=LTAIother,SignedHeaders=host,Signature=00",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(answer(res).await.0, 404);

        // business errors: 200 with Code
        let long = sms_with("{\"alert\":\"123456789012345678901\"}");
        let url = sms_with("{\"alert\":\"see https://ex.com/a/42\"}");
        let number = sms_with("{\"alert\":42}");
        let bad_json = sms_with("alert=42");
        for (p, code) in [
            (&long, "isv.PARAM_LENGTH_LIMIT"),
            (&url, "isv.PARAM_NOT_SUPPORT_URL"),
            (&number, "isv.INVALID_JSON_PARAM"),
            (&bad_json, "isv.INVALID_JSON_PARAM"),
        ] {
            let (status, body) = acs3_ok(&mock, "SendSms", &refs(p)).await;
            assert_eq!(
                (status, body["Code"].as_str().unwrap()),
                (200, code),
                "{body}"
            );
            assert!(body.get("BizId").is_none());
        }
        mock.set_param_limit(21);
        let (_, body) = acs3_ok(&mock, "SendSms", &refs(&long)).await;
        assert_eq!(body["Code"], "OK");
        let (status, body) = acs3_ok(&mock, "SendSms", &SMS[1..]).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (400, "MissingPhoneNumbers")
        );

        // script and limits
        mock.script([
            Reply::code("isv.AMOUNT_NOT_ENOUGH", "余额不足"),
            Reply::status(503, ""),
        ]);
        let (status, body) = acs3_send(&mock, "wrong", "SendSms", &SMS, &now, &nonce(), None).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (400, "SignatureDoesNotMatch")
        );
        let (status, body) = acs3_ok(&mock, "SendSms", &SMS).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (200, "isv.AMOUNT_NOT_ENOUGH")
        );
        let (status, _) = acs3_ok(&mock, "SendSms", &SMS).await;
        assert_eq!(status, 503);
        mock.limit_number("+13800138000", "");
        let (status, body) = acs3_ok(&mock, "SendSms", &SMS).await;
        assert_eq!(
            (status, body["Code"].as_str().unwrap()),
            (200, "isv.BUSINESS_LIMIT_CONTROL")
        );

        let got = mock.wait_for(100, Duration::from_millis(50)).await;
        let verified: Vec<bool> = got.iter().map(|r| r.verified).collect();
        assert_eq!(got.len(), 18, "{}", mock.summary());
        assert_eq!(
            verified.iter().filter(|v| !**v).count(),
            6,
            "{}",
            mock.summary()
        );
        let first = &got[0];
        assert_eq!(first.phone.as_deref(), Some("13800138000"));
        assert_eq!(first.template.as_deref(), Some("SMS_154950909"));
        assert_eq!(first.params["alert"], "CPU>90% 5m*");
        assert_eq!(first.code, None);
        assert!(first.header("x-acs-signature-nonce").is_some());
        assert!(
            got[2]
                .reason
                .as_deref()
                .unwrap()
                .contains("canonical request")
        );
        assert_eq!(got[2].code.as_deref(), Some("SignatureDoesNotMatch"));
        let codes: Vec<Option<&str>> = got.iter().map(|r| r.code.as_deref()).collect();
        assert_eq!(codes[17], Some("isv.BUSINESS_LIMIT_CONTROL"));
        assert_eq!(codes[16], None); // 503 with an empty body
        assert_eq!(mock.delivered().len(), 4, "{}", mock.summary());
    }

    #[tokio::test]
    async fn aliyun_rpc_live() {
        let mock = MockSms::aliyun_sms(AK_ID, AK_SECRET).await;
        let send = |secret: &'static str, format: &'static str, nonce: String| {
            let base = mock.base();
            async move {
                let ts = aliyun_time(now_secs());
                let mut p: Vec<(&str, &str)> = SMS.to_vec();
                p.extend([
                    ("Action", "SendSms"),
                    ("Version", ALIYUN_VERSION),
                    ("Timestamp", &ts),
                    ("SignatureNonce", &nonce),
                    ("SignatureMethod", "HMAC-SHA1"),
                    ("SignatureVersion", "1.0"),
                    ("AccessKeyId", AK_ID),
                ]);
                if !format.is_empty() {
                    p.push(("Format", format));
                }
                let q = rpc_signed_query("POST", secret, &p);
                answer(
                    reqwest::Client::new()
                        .post(format!("{base}/?{q}"))
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        let (status, body) = send(AK_SECRET, "json", nonce()).await;
        assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
        let (status, body) = send("wrong", "JSON", nonce()).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (400, Some("SignatureDoesNotMatch"))
        );
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .contains("server string to sign is:POST&%2F&")
        );
        let (status, body) = send(AK_SECRET, "", nonce()).await;
        assert_eq!(status, 200);
        let xml = body.as_str().unwrap();
        assert!(
            xml.contains("><SendSmsResponse>") && xml.contains("<Code>OK</Code>"),
            "{xml}"
        );
        let got = mock.received();
        assert_eq!(got[2].code, None);
        assert!(
            got.iter()
                .all(|r| r.phone.as_deref() == Some("13800138000"))
        );
    }

    #[tokio::test]
    async fn aliyun_voice_live() {
        let mock = MockSms::aliyun_voice(AK_ID, AK_SECRET).await;
        let call = [
            ("CalledNumber", "13800138000"),
            ("OutId", "alert-42"),
            ("PlayTimes", "2"),
            ("TtsCode", "TTS_10001****"),
            ("TtsParam", "{\"host\":\"db-01\",\"sev\":\"P1\"}"),
        ];
        let (status, body) = acs3_ok(&mock, "SingleCallByTts", &call).await;
        assert_eq!((status, body["Code"].as_str()), (200, Some("OK")), "{body}");
        assert!(body["CallId"].is_string());
        let (status, body) = acs3_ok(&mock, "SendSms", &call).await;
        assert_eq!(
            (status, body["Code"].as_str()),
            (404, Some("InvalidAction.NotFound"))
        );
        let long = format!(
            "{{\"a\":\"{}\",\"b\":\"{}\"}}",
            "x".repeat(200),
            "y".repeat(50)
        );
        let ok = format!(
            "{{\"a\":\"{}\",\"b\":\"{}\"}}",
            "x".repeat(200),
            "y".repeat(49)
        );
        for (name, value, code) in [
            ("PlayTimes", "4", "isv.INVALID_PARAMETERS"),
            ("OutId", "alert-0123456789", "isv.INVALID_PARAMETERS"),
            ("TtsParam", long.as_str(), "isv.PARAM_LENGTH_LIMIT"),
            (
                "TtsParam",
                "{\"a\":\"www.example.com\"}",
                "isv.PARAM_NOT_SUPPORT_URL",
            ),
            ("TtsParam", ok.as_str(), "OK"),
            ("CalledNumber", "+447700900123", "isv.MOBILE_NUMBER_ILLEGAL"),
        ] {
            let p: Vec<(&str, &str)> = call
                .iter()
                .map(|(k, v)| (*k, if *k == name { value } else { *v }))
                .collect();
            let (status, body) = acs3_ok(&mock, "SingleCallByTts", &p).await;
            assert_eq!(
                (status, body["Code"].as_str()),
                (200, Some(code)),
                "{name}={value}"
            );
        }
        let got = mock.received();
        assert_eq!(got[0].template.as_deref(), Some("TTS_10001****"));
        assert_eq!(got[0].params["sev"], "P1");
        assert_eq!(mock.delivered().len(), 2);
    }

    async fn tc3_send(
        mock: &MockSms,
        action: &str,
        version: &str,
        body: &Value,
        tweak: Tweak,
    ) -> (u16, Value) {
        let service = if version == "2020-09-02" {
            "vms"
        } else {
            "sms"
        };
        let body = serde_json::to_vec(body).unwrap();
        let ts = now_secs() + tweak.skew;
        let key = tweak.key.unwrap_or(TC_KEY);
        let signed_ct = tweak.signed_content_type.unwrap_or("application/json");
        let signed = tc3_sign(
            TC_ID,
            key,
            tweak.service.unwrap_or(service),
            signed_ct,
            &host_of(mock),
            ts,
            &body,
        );
        let auth = if tweak.beijing_date {
            let date = tc3_date(ts + 8 * 3600);
            let cr = tc3_canonical_request(
                &[("content-type", signed_ct), ("host", &host_of(mock))],
                &body,
            );
            let sts = tc3_string_to_sign(&ts.to_string(), &date, service, &cr);
            tc3_authorization(
                TC_ID,
                &date,
                service,
                "content-type;host",
                &tc3_signature(key, &date, service, &sts),
            )
        } else {
            signed.authorization
        };
        let res = reqwest::Client::new()
            .post(format!("{}/", mock.base()))
            .header("content-type", "application/json")
            .header("x-tc-action", action)
            .header("x-tc-version", version)
            .header("x-tc-timestamp", ts.to_string())
            .header("x-tc-region", "ap-guangzhou")
            .header("authorization", auth)
            .body(body)
            .send()
            .await
            .unwrap();
        answer(res).await
    }

    #[derive(Default, Clone, Copy)]
    struct Tweak {
        skew: i64,
        key: Option<&'static str>,
        service: Option<&'static str>,
        signed_content_type: Option<&'static str>,
        beijing_date: bool,
    }

    fn tc_sms(phones: &[&str], params: &[&str]) -> Value {
        json!({"PhoneNumberSet": phones, "SmsSdkAppId": "1400006666", "SignName": "腾讯云",
               "TemplateId": "1110", "TemplateParamSet": params, "SessionContext": "alert-42"})
    }

    fn error_code(body: &Value) -> &str {
        body["Response"]["Error"]["Code"].as_str().unwrap_or("")
    }

    #[tokio::test]
    async fn tencent_sms_live() {
        let mock = MockSms::tencent_sms(TC_ID, TC_KEY).await;
        let ok = tc_sms(&["+8613800138000"], &["db-01", "P1"]);
        let send = |body: Value, tweak: Tweak| {
            let mock = &mock;
            async move { tc3_send(mock, "SendSms", "2021-01-11", &body, tweak).await }
        };
        let (status, body) = send(ok.clone(), Tweak::default()).await;
        assert_eq!(status, 200);
        let entry = &body["Response"]["SendStatusSet"][0];
        assert_eq!(entry["Code"], "Ok", "{body}");
        assert_eq!(entry["Message"], "send success");
        assert_eq!(entry["PhoneNumber"], "+8613800138000");
        assert_eq!(entry["SessionContext"], "alert-42");
        assert_eq!(entry["IsoCode"], "CN");
        assert_eq!(entry["Fee"], 1);
        assert!(body["Response"]["RequestId"].is_string());

        for (tweak, code) in [
            (
                Tweak {
                    key: Some("wrong"),
                    ..Tweak::default()
                },
                "AuthFailure.SignatureFailure",
            ),
            (
                Tweak {
                    skew: -301,
                    ..Tweak::default()
                },
                "AuthFailure.SignatureExpire",
            ),
            (
                Tweak {
                    service: Some("sms.tencentcloudapi.com"),
                    ..Tweak::default()
                },
                "AuthFailure.SignatureFailure",
            ),
            (
                Tweak {
                    signed_content_type: Some("application/json; charset=utf-8"),
                    ..Tweak::default()
                },
                "AuthFailure.SignatureFailure",
            ),
        ] {
            let (status, body) = send(ok.clone(), tweak).await;
            assert_eq!((status, error_code(&body)), (200, code), "{body}");
        }
        // the Beijing date only differs from the UTC date from 16:00 UTC on
        let (_, body) = send(
            ok.clone(),
            Tweak {
                beijing_date: true,
                ..Tweak::default()
            },
        )
        .await;
        let same_day = tc3_date(now_secs()) == tc3_date(now_secs() + 8 * 3600);
        assert_eq!(error_code(&body).is_empty(), same_day, "{body}");

        let (_, body) = tc3_send(&mock, "SendSms", "2020-09-02", &ok, Tweak::default()).await;
        assert_eq!(error_code(&body), "AuthFailure.SignatureFailure"); // vms scope for sms
        let (_, body) = tc3_send(&mock, "SendSmsX", "2021-01-11", &ok, Tweak::default()).await;
        assert_eq!(error_code(&body), "InvalidAction");
        for (body, code) in [
            (
                tc_sms(&["+8613800138000"], &["db-01-x"]),
                "InvalidParameterValue.TemplateParameterLengthLimit",
            ),
            (
                tc_sms(&["+8613800138000"], &["www.a"]),
                "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
            ),
            (
                json!({"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666", "SignName": "腾讯云", "TemplateId": 1110}),
                "InvalidParameter",
            ),
            (
                json!({"PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666", "TemplateId": "1110"}),
                "MissingParameter",
            ),
        ] {
            let (_, answer) = send(body.clone(), Tweak::default()).await;
            assert_eq!(error_code(&answer), code, "{body}");
        }

        // per-number: a bad number, a limited number, a scripted PerNumber
        mock.limit_number("8613900139000", "");
        let (_, body) = send(
            tc_sms(&["+8613800138000", "+8613900139000", "13700137000"], &[]),
            Tweak::default(),
        )
        .await;
        let set = &body["Response"]["SendStatusSet"];
        assert_eq!(set[0]["Code"], "Ok");
        assert_eq!(set[1]["Code"], "LimitExceeded.PhoneNumberDailyLimit");
        assert_eq!(set[2]["Code"], "InvalidParameterValue.IncorrectPhoneNumber");
        assert!(body["Response"].get("Error").is_none());
        mock.script([
            Reply::per_number("LimitExceeded.PhoneNumberThirtySecondLimit", "30 s"),
            Reply::code("InternalError.Timeout", "timeout"),
        ]);
        let (_, body) = send(
            ok.clone(),
            Tweak {
                key: Some("wrong"),
                ..Tweak::default()
            },
        )
        .await;
        assert_eq!(error_code(&body), "AuthFailure.SignatureFailure");
        let (_, body) = send(ok.clone(), Tweak::default()).await;
        assert_eq!(
            body["Response"]["SendStatusSet"][0]["Code"],
            "LimitExceeded.PhoneNumberThirtySecondLimit"
        );
        let (_, body) = send(ok.clone(), Tweak::default()).await;
        assert_eq!(error_code(&body), "InternalError.Timeout");
        let (_, body) = send(ok.clone(), Tweak::default()).await;
        assert_eq!(body["Response"]["SendStatusSet"][0]["Code"], "Ok");

        let got = mock.received();
        assert_eq!(got.len(), 17, "{}", mock.summary());
        assert_eq!(got[0].phone.as_deref(), Some("+8613800138000"));
        assert_eq!(got[0].template.as_deref(), Some("1110"));
        assert_eq!(got[0].params, json!(["db-01", "P1"]));
        assert_eq!(got[0].param("SessionContext").as_deref(), Some("alert-42"));
        assert_eq!(
            got[12].code.as_deref(),
            Some("LimitExceeded.PhoneNumberDailyLimit")
        );
        assert!(got[12].verified);
        assert!(!got[1].verified);
        assert_eq!(
            got[14].code.as_deref(),
            Some("LimitExceeded.PhoneNumberThirtySecondLimit")
        );
        let delivered = mock.delivered();
        let expected = if same_day { 3 } else { 2 };
        assert_eq!(delivered.len(), expected, "{}", mock.summary());
    }

    #[tokio::test]
    async fn tencent_voice_live() {
        let mock = MockSms::tencent_voice(TC_ID, TC_KEY).await;
        let call = json!({"TemplateId": "1234", "CalledNumber": "+8613800138000", "VoiceSdkAppid": "1400000000",
                          "TemplateParamSet": ["db-01"], "PlayTimes": 2, "SessionContext": "alert-42"});
        let (status, body) =
            tc3_send(&mock, "SendTtsVoice", "2020-09-02", &call, Tweak::default()).await;
        assert_eq!(status, 200);
        assert!(
            body["Response"]["SendStatus"]["CallId"].is_string(),
            "{body}"
        );
        assert_eq!(body["Response"]["SendStatus"]["SessionContext"], "alert-42");
        let (_, body) = tc3_send(
            &mock,
            "SendTtsVoice",
            "2020-09-02",
            &call,
            Tweak {
                service: Some("sms"),
                ..Tweak::default()
            },
        )
        .await;
        assert_eq!(error_code(&body), "AuthFailure.SignatureFailure");
        let (_, body) = tc3_send(
            &mock,
            "SendTtsVoice",
            "2021-01-11",
            &call,
            Tweak {
                service: Some("vms"),
                ..Tweak::default()
            },
        )
        .await;
        assert_eq!(error_code(&body), "NoSuchVersion");
        let mut three = call.clone();
        three["PlayTimes"] = json!(4);
        let mut typo = call.clone();
        typo.as_object_mut().unwrap().remove("VoiceSdkAppid");
        typo["VoiceSdkAppId"] = json!("1400000000");
        let mut local = call.clone();
        local["CalledNumber"] = json!("13800138000");
        for (body, code) in [
            (three, "InvalidParameterValue"),
            (typo, "MissingParameter"),
            (local, "InvalidParameterValue.CalledNumberVerifyFail"),
        ] {
            let (_, answer) =
                tc3_send(&mock, "SendTtsVoice", "2020-09-02", &body, Tweak::default()).await;
            assert_eq!(error_code(&answer), code, "{body}");
        }
        mock.limit_number("+8613800138000", "");
        let (_, body) =
            tc3_send(&mock, "SendTtsVoice", "2020-09-02", &call, Tweak::default()).await;
        assert_eq!(error_code(&body), "LimitExceeded.DeliveryFrequencyLimit");
        let got = mock.received();
        assert_eq!(got[0].phone.as_deref(), Some("+8613800138000"));
        assert_eq!(got[0].template.as_deref(), Some("1234"));
        assert_eq!(mock.delivered().len(), 1);
    }

    #[tokio::test]
    async fn twilio_live() {
        let d0 = &vectors()["d0_twilio_basic_auth_and_form_body"];
        let (sid, token) = (s(d0, "account_sid"), s(d0, "auth_token"));
        let mock = MockSms::twilio(sid, token)
            .await
            .with_api_key(s(d0, "api_key_sid"), s(d0, "api_key_secret"));
        let post = |list: &str, auth: String, form: String| {
            let url = format!("{}/2010-04-01/Accounts/{sid}/{list}", mock.base());
            async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("authorization", auth)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await
                    .unwrap();
                answer(res).await
            }
        };
        let token_auth = s(d0, "authorization_with_auth_token").to_owned();
        let captured = |field: &str| s(d0, field).split_once("\r\n\r\n").unwrap().1.to_owned();
        let (status, body) = post(
            "Messages.json",
            token_auth.clone(),
            captured("captured_messages_request"),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert!(body["sid"].as_str().unwrap().starts_with("SM"));
        assert_eq!(body["status"], "queued");
        assert_eq!(body["to"], "+15558675310");
        assert_eq!(body["from"], "+15017122661");
        assert_eq!(body["body"], "P1 db-01 down: ack https://ex.com/a/42");
        assert!(body["error_code"].is_null());
        let (status, body) = post(
            "Messages.json",
            s(d0, "authorization_with_api_key").to_owned(),
            captured("captured_messages_request_with_api_key"),
        )
        .await;
        assert_eq!(
            (status, &body["messaging_service_sid"]),
            (201, &json!("MG00000000000000000000000000000000"))
        );
        let (status, body) = post(
            "Calls.json",
            token_auth.clone(),
            captured("captured_calls_request"),
        )
        .await;
        assert_eq!(status, 201);
        assert!(body["sid"].as_str().unwrap().starts_with("CA"));
        assert_eq!(body["status"], "queued");

        let (status, body) = post(
            "Messages.json",
            basic_auth(sid, "wrong"),
            captured("captured_messages_request"),
        )
        .await;
        assert_eq!(
            (status, body),
            (
                401,
                json!({"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})
            )
        );
        let long = format!(
            "To=%2B15558675310&From=%2B15017122661&Body={}",
            "x".repeat(1601)
        );
        for (form, code) in [
            (
                "To=5551234567&From=%2B15017122661&Body=hi".to_owned(),
                21211,
            ),
            ("To=%2B15558675310&Body=hi".to_owned(), 21603),
            ("From=%2B15017122661&Body=hi".to_owned(), 21604),
            ("To=%2B15558675310&From=%2B15017122661".to_owned(), 21602),
            (long, 21617),
        ] {
            let (status, body) = post("Messages.json", token_auth.clone(), form.clone()).await;
            assert_eq!((status, body["code"].as_u64()), (400, Some(code)), "{form}");
            assert_eq!(body["status"], 400);
        }
        let (status, body) = post(
            "Calls.json",
            token_auth.clone(),
            "To=%2B15558675310&From=%2B15017122661".into(),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(21205)));

        let res = reqwest::Client::new()
            .post(format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                mock.base()
            ))
            .header("authorization", token_auth.clone())
            .json(&json!({"To": "+15558675310", "From": "+15017122661", "Body": "hi"}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer(res).await.1["code"], 21604);
        mock.script([Reply::code("20429", "Too Many Requests")]);
        let (status, body) = post(
            "Messages.json",
            token_auth.clone(),
            captured("captured_messages_request"),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (429, Some(20429)));
        mock.limit_number("15558675310", "");
        let (status, body) = post(
            "Messages.json",
            token_auth.clone(),
            captured("captured_messages_request"),
        )
        .await;
        assert_eq!((status, body["code"].as_u64()), (400, Some(21610)));

        // the API key SID in the path instead of the Account SID
        let res = reqwest::Client::new()
            .post(format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                mock.base(),
                s(d0, "api_key_sid")
            ))
            .header("authorization", s(d0, "authorization_with_api_key"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer(res).await.0, 401);
        let res = reqwest::Client::new()
            .post(format!("{}/nope", mock.base()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer(res).await.1["code"], 20404);

        let got = mock.wait_for(15, Duration::from_secs(1)).await;
        assert_eq!(got.len(), 15, "{}", mock.summary());
        assert_eq!(got[0].phone.as_deref(), Some("+15558675310"));
        assert_eq!(
            got[0].params,
            json!("P1 db-01 down: ack https://ex.com/a/42")
        );
        assert_eq!(
            got[0].param("StatusCallback").as_deref(),
            Some("https://ackbot.example.com/twilio/status?alert=42")
        );
        assert!(
            got[2]
                .params
                .as_str()
                .unwrap()
                .starts_with("<Response><Say")
        );
        assert_eq!(got[3].code.as_deref(), Some("20003"));
        assert!(!got[3].verified);
        assert_eq!(got[11].code.as_deref(), Some("20429"));
        assert!(
            got[10]
                .reason
                .as_deref()
                .unwrap()
                .contains("form-urlencoded")
        );
        assert_eq!(mock.delivered().len(), 3);
    }

    #[tokio::test]
    async fn wait_for_returns_what_it_has_at_the_timeout() {
        let mock = MockSms::twilio("AC1", "t").await;
        let t = Instant::now();
        assert!(
            mock.wait_for(1, Duration::from_millis(100))
                .await
                .is_empty()
        );
        assert!(t.elapsed() >= Duration::from_millis(100));
        mock.script([Reply::Delay(Duration::from_millis(50))]);
        let res = reqwest::Client::new()
            .post(format!(
                "{}/2010-04-01/Accounts/AC1/Calls.json",
                mock.base()
            ))
            .header("authorization", basic_auth("AC1", "t"))
            .form(&[
                ("To", "+15558675310"),
                ("From", "+15017122661"),
                ("Url", "https://x/t"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
        assert_eq!(mock.wait_for(1, Duration::from_secs(1)).await.len(), 1);
        assert_eq!(mock.received()[0].params, json!("https://x/t"));
    }
}
