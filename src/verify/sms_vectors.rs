//! Known-answer tests for [`super::sms`]: every vector in
//! `tests/vectors/sms-vectors.json` (a byte-identical copy of
//! `../shared/spec/sms-vectors.json`, produced with the providers' own SDKs
//! and re-derived independently), every intermediate value each vector
//! gives, the requests the SDKs were captured sending, and each documented
//! wrong variant.
//!
//! Inputs are handed to the signers in reverse name order, so the signers'
//! own sorting is what puts them in order.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::sms::{self, AcsRequest, AcsSigned, Tc3Signed};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/sms-vectors.json")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} is not a string"))
}

/// Asserts that `got` is the vector's `key`, which must be there.
fn same(v: &Value, key: &str, got: &str) {
    assert_eq!(got, s(v, key), "{key}");
}

/// A JSON object of strings as pairs, in reverse name order.
fn pairs<'a>(v: &'a Value, key: &str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = v[key]
        .as_object()
        .unwrap_or_else(|| panic!("vector field {key} is not an object"))
        .iter()
        .map(|(k, val)| (k.as_str(), val.as_str().unwrap()))
        .collect();
    out.sort();
    out.reverse();
    out
}

/// Every `wrong_*` string of a vector.
fn wrongs(v: &Value) -> Vec<(&str, &str)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("wrong_"))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A request as captured on the wire (CRLF line ends): the request line,
/// the headers with lower-cased names, in order, and the body.
struct Captured<'a> {
    request_line: &'a str,
    headers: Vec<(String, &'a str)>,
    body: &'a str,
}

fn captured(raw: &str) -> Captured<'_> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("a blank line ends the head");
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("name: value");
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    Captured {
        request_line,
        headers,
        body,
    }
}

impl Captured<'_> {
    fn header(&self, name: &str) -> &str {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        let (_, value) = found.next().unwrap_or_else(|| panic!("no {name} header"));
        assert!(found.next().is_none(), "{name} sent twice");
        value
    }

    /// The headers, except those named, sorted.
    fn headers_except(&self, skip: &[&str]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| !skip.contains(&n.as_str()))
            .map(|(n, v)| (n.clone(), (*v).to_owned()))
            .collect();
        out.sort();
        out
    }

    fn assert_content_length(&self) {
        assert_eq!(
            self.header("content-length"),
            self.body.len().to_string(),
            "content-length"
        );
    }
}

// ---------------------------------------------------------------- Alibaba V3

const ACS_FIXED_HEADERS: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "content-type",
];

/// Signs a V3 vector from its `query`, `headers_before_signing` and `body`.
fn acs3_of(v: &Value) -> AcsSigned {
    let h = &v["headers_before_signing"];
    let header = |name: &str| s(h, name);
    let query = pairs(v, "query");
    let extra: Vec<(&str, &str)> = pairs(v, "headers_before_signing")
        .into_iter()
        .filter(|(name, _)| !ACS_FIXED_HEADERS.contains(name))
        .collect();
    let body = v.get("body").map_or("", |b| b.as_str().unwrap());
    let req = AcsRequest {
        host: header("host"),
        action: header("x-acs-action"),
        version: header("x-acs-version"),
        date: header("x-acs-date"),
        nonce: header("x-acs-signature-nonce"),
        query: &query,
        body: body.as_bytes(),
        content_type: h.get("content-type").and_then(Value::as_str),
        extra_headers: &extra,
    };
    sms::acs3_sign(s(v, "access_key_id"), s(v, "access_key_secret"), &req)
}

/// The outputs every V3 vector gives.
fn assert_acs3_result(v: &Value, got: &AcsSigned) {
    same(
        v,
        "hashed_canonical_request",
        &sha256_hex(got.canonical_request.as_bytes()),
    );
    same(v, "signature", &got.signature);
    same(v, "authorization", &got.authorization);
    assert_eq!(
        got.headers.last().unwrap(),
        &("authorization".to_owned(), s(v, "authorization").to_owned())
    );
}

/// The intermediate strings of a fully spelled-out V3 vector.
fn assert_acs3_intermediates(v: &Value, got: &AcsSigned) {
    if let Some(method) = v.get("http_method") {
        assert_eq!(method, "POST");
    }
    if let Some(uri) = v.get("canonical_uri") {
        assert_eq!(uri, "/");
    }
    same(v, "canonical_query_string", &got.canonical_query);
    same(v, "canonical_headers", &got.canonical_headers);
    same(v, "signed_headers", &got.signed_headers);
    same(v, "canonical_request", &got.canonical_request);
    same(v, "string_to_sign", &got.string_to_sign);
    let hash = got
        .headers
        .iter()
        .find(|(n, _)| n == "x-acs-content-sha256")
        .map(|(_, value)| value.as_str());
    assert_eq!(hash, Some(s(v, "hashed_request_payload")));
    assert_eq!(
        got.canonical_request.rsplit('\n').next(),
        Some(s(v, "hashed_request_payload"))
    );
    assert_eq!(
        got.string_to_sign,
        format!("ACS3-HMAC-SHA256\n{}", s(v, "hashed_canonical_request"))
    );
}

/// A request the SDK was captured sending through a proxy: the same query
/// (the SDK writes `+` for a space; the signed form has `%20`), every
/// header we send with the same value, and nothing else but the client's
/// `accept-encoding` and `content-length`.
fn assert_acs3_captured(v: &Value, got: &AcsSigned) {
    let req = captured(s(v, "captured_http_request"));
    let host = s(&v["headers_before_signing"], "host");
    let target = req
        .request_line
        .strip_prefix(&format!("POST http://{host}/?"))
        .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
        .unwrap_or_else(|| panic!("request line {}", req.request_line));
    assert_eq!(target.replace('+', "%20"), got.canonical_query);
    let mut ours = got.headers.clone();
    ours.sort();
    assert_eq!(
        req.headers_except(&["accept-encoding", "content-length"]),
        ours
    );
    assert_eq!(req.body, v.get("body").map_or("", |b| b.as_str().unwrap()));
    req.assert_content_length();
}

#[test]
fn a0_aliyun_v3_official_doc_example() {
    let v = &vectors()["a0_aliyun_v3_official_doc_example"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    assert_acs3_intermediates(v, &got);
    // The doc example signs only host and x-acs-*: nothing extra is sent.
    assert_eq!(got.headers.len(), 7);
}

#[test]
fn a0b_aliyun_v3_doc_header_table_example() {
    let all = vectors();
    let v = &all["a0b_aliyun_v3_doc_header_table_example"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    // Only the date and nonce differ from a0, and they change the signature.
    assert_eq!(
        v["query"],
        all["a0_aliyun_v3_official_doc_example"]["query"]
    );
    assert_ne!(
        got.signature,
        s(&all["a0_aliyun_v3_official_doc_example"], "signature")
    );
}

#[test]
fn a1_aliyun_v3_sendsms_minimal() {
    let v = &vectors()["a1_aliyun_v3_sendsms_minimal"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    assert_acs3_intermediates(v, &got);
    let host = s(&v["headers_before_signing"], "host");
    assert_eq!(s(v, "endpoint"), format!("https://{host}/"));

    // The request to send: exactly the canonical query on the wire, and
    // exactly our headers, in our order, plus the client's content-length.
    let req = captured(s(v, "http_request_to_send"));
    assert_eq!(
        req.request_line,
        format!("POST /?{} HTTP/1.1", got.canonical_query)
    );
    let sent: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| n != "content-length")
        .map(|(n, value)| (n.clone(), (*value).to_owned()))
        .collect();
    assert_eq!(sent, got.headers);
    assert_eq!(req.body, "");
    req.assert_content_length();

    let wrongs = wrongs(v);
    assert_eq!(wrongs.len(), 5);
    for (name, wrong) in wrongs {
        assert_ne!(got.signature, wrong, "{name}");
    }
    // The base64 spelling is the same MAC, which is why it is a trap.
    let mac = hex::decode(&got.signature).unwrap();
    assert_eq!(
        STANDARD.encode(mac),
        s(v, "wrong_if_signature_base64_instead_of_hex")
    );
}

#[test]
fn a2_aliyun_v3_sendsms_as_sent_by_sdk() {
    let v = &vectors()["a2_aliyun_v3_sendsms_as_sent_by_sdk"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    assert_acs3_intermediates(v, &got);
    assert_acs3_captured(v, &got);
    // The SDK's wire query differs from the signed one (`+` for a space).
    let req = captured(s(v, "captured_http_request"));
    assert!(!req.request_line.contains(&got.canonical_query));
}

#[test]
fn a3_aliyun_v3_sendbatchsms_form_body() {
    let v = &vectors()["a3_aliyun_v3_sendbatchsms_form_body"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    assert_acs3_intermediates(v, &got);
    assert_acs3_captured(v, &got);
    assert_eq!(
        sha256_hex(s(v, "body").as_bytes()),
        s(v, "hashed_request_payload")
    );
}

#[test]
fn a4_aliyun_v3_singlecallbytts() {
    let v = &vectors()["a4_aliyun_v3_singlecallbytts"];
    let got = acs3_of(v);
    assert_acs3_result(v, &got);
    assert_acs3_intermediates(v, &got);
    assert_acs3_captured(v, &got);
    assert!(
        got.canonical_query
            .contains("TtsCode=TTS_10001%2A%2A%2A%2A")
    );
}

#[test]
fn aliyun_v3_drops_empty_query_values() {
    let v = &vectors()["a1_aliyun_v3_sendsms_minimal"];
    let h = &v["headers_before_signing"];
    let mut query = pairs(v, "query");
    query.push(("SmsUpExtendCode", ""));
    let req = AcsRequest {
        host: s(h, "host"),
        action: s(h, "x-acs-action"),
        version: s(h, "x-acs-version"),
        date: s(h, "x-acs-date"),
        nonce: s(h, "x-acs-signature-nonce"),
        query: &query,
        body: b"",
        content_type: None,
        extra_headers: &[],
    };
    let got = sms::acs3_sign(s(v, "access_key_id"), s(v, "access_key_secret"), &req);
    same(v, "canonical_query_string", &got.canonical_query);
    same(v, "signature", &got.signature);
}

// ---------------------------------------------------------------- Alibaba RPC

/// Signs an RPC vector and checks every value it gives.
fn assert_rpc(v: &Value) -> sms::RpcSigned {
    let params = pairs(v, "params");
    let (method, secret) = (s(v, "http_method"), s(v, "access_key_secret"));
    let got = sms::acs_rpc_sign(method, &params, secret);
    same(v, "canonicalized_query_string", &got.canonical_query);
    same(v, "string_to_sign", &got.string_to_sign);
    same(v, "signature", &got.signature);
    same(v, "wire_query", &got.query);
    same(
        v,
        "signature_percent_encoded",
        &sms::percent_encode(&got.signature),
    );
    assert!(
        got.query
            .ends_with(&format!("&Signature={}", s(v, "signature_percent_encoded")))
    );
    assert_eq!(
        sms::acs_rpc_signature(method, &params, secret),
        got.signature
    );
    // The MAC's bytes, and the key the vector names giving them.
    same(
        v,
        "hmac_sha1_hex",
        &hex::encode(STANDARD.decode(&got.signature).unwrap()),
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(s(v, "hmac_key_utf8").as_bytes()).unwrap();
    mac.update(got.string_to_sign.as_bytes());
    same(
        v,
        "hmac_sha1_hex",
        &hex::encode(mac.finalize().into_bytes()),
    );
    got
}

#[test]
fn b0_aliyun_rpc_hmac_sha1_official_doc_example() {
    let v = &vectors()["b0_aliyun_rpc_hmac_sha1_official_doc_example"];
    let got = assert_rpc(v);
    let wrong = s(v, "wrong_if_method_POST_used_for_a_GET_request");
    assert_ne!(got.signature, wrong);
    // The mistake, made through the API: the method is signed.
    let params = pairs(v, "params");
    assert_eq!(
        sms::acs_rpc_signature("POST", &params, s(v, "access_key_secret")),
        wrong
    );
}

#[test]
fn b1_aliyun_rpc_hmac_sha1_sendsms() {
    let v = &vectors()["b1_aliyun_rpc_hmac_sha1_sendsms"];
    let got = assert_rpc(v);
    let wrongs = wrongs(v);
    assert_eq!(wrongs.len(), 4);
    for (name, wrong) in wrongs {
        assert_ne!(got.signature, wrong, "{name}");
    }
    let params = pairs(v, "params");
    assert_eq!(
        sms::acs_rpc_signature("GET", &params, s(v, "access_key_secret")),
        s(v, "wrong_if_method_GET")
    );
}

#[test]
fn b2_aliyun_rpc_hmac_sha1_sendsms_old_core_sdk() {
    let v = &vectors()["b2_aliyun_rpc_hmac_sha1_sendsms_old_core_sdk"];
    let got = assert_rpc(v);
    // The empty SignatureType is signed and sent as `SignatureType=`.
    assert!(got.query.contains("&SignatureType=&"));
}

// ---------------------------------------------------------------- Tencent TC3

fn timestamp(v: &Value) -> i64 {
    s(v, "x_tc_timestamp").parse().unwrap()
}

/// Signs a TC3 vector from its inputs, with `service`, `content_type` and
/// `body` replaceable to reproduce a mistake.
fn tc3_with(v: &Value, service: &str, content_type: &str, body: &str) -> Tc3Signed {
    sms::tc3_sign(
        s(v, "secret_id"),
        s(v, "secret_key"),
        service,
        s(v, "host"),
        content_type,
        timestamp(v),
        body.as_bytes(),
    )
}

fn tc3_of(v: &Value) -> Tc3Signed {
    tc3_with(v, s(v, "service"), s(v, "content_type"), s(v, "body"))
}

/// The outputs and derived keys every TC3 vector gives.
fn assert_tc3_result(v: &Value, got: &Tc3Signed) {
    same(v, "date", &got.date);
    same(v, "credential_scope", &got.credential_scope);
    same(v, "string_to_sign", &got.string_to_sign);
    same(v, "signature", &got.signature);
    same(v, "authorization", &got.authorization);
    let [date, service, signing] =
        sms::tc3_key_chain(s(v, "secret_key"), &got.date, s(v, "service"));
    same(v, "secret_date_hex", &hex::encode(date));
    same(v, "secret_service_hex", &hex::encode(service));
    same(v, "secret_signing_hex", &hex::encode(signing));
    assert!(
        got.string_to_sign
            .starts_with(&format!("TC3-HMAC-SHA256\n{}\n", s(v, "x_tc_timestamp")))
    );
}

/// The canonical request of a fully spelled-out TC3 vector.
fn assert_tc3_canonical(v: &Value, got: &Tc3Signed) {
    same(v, "canonical_request", &got.canonical_request);
    same(
        v,
        "hashed_request_payload",
        &sha256_hex(s(v, "body").as_bytes()),
    );
    same(v, "signed_headers", sms::TC3_SIGNED_HEADERS);
    assert_eq!(
        got.canonical_request,
        format!(
            "POST\n/\n\n{}\n{}\n{}",
            s(v, "canonical_headers"),
            s(v, "signed_headers"),
            s(v, "hashed_request_payload")
        )
    );
    same(
        v,
        "hashed_canonical_request",
        &sha256_hex(got.canonical_request.as_bytes()),
    );
    assert!(
        got.string_to_sign
            .ends_with(&format!("\n{}", s(v, "hashed_canonical_request")))
    );
}

/// A request the SDK was captured sending: the signed headers as signed,
/// the timestamp as signed, our Authorization, the body as hashed.
fn assert_tc3_captured(v: &Value, got: &Tc3Signed) {
    let req = captured(s(v, "captured_http_request"));
    assert_eq!(
        req.request_line,
        format!("POST http://{}/ HTTP/1.1", s(v, "host"))
    );
    assert_eq!(req.header("authorization"), got.authorization);
    assert_eq!(req.header("content-type"), s(v, "content_type"));
    assert_eq!(req.header("host"), s(v, "host"));
    assert_eq!(req.header("x-tc-timestamp"), s(v, "x_tc_timestamp"));
    assert_eq!(req.header("x-tc-action"), s(v, "action"));
    assert_eq!(req.header("x-tc-version"), s(v, "version"));
    assert_eq!(req.header("x-tc-region"), s(v, "region"));
    assert_eq!(req.body, s(v, "body"));
    req.assert_content_length();
}

#[test]
fn c0_tencent_tc3_official_doc_example() {
    let v = &vectors()["c0_tencent_tc3_official_doc_example"];
    let got = tc3_of(v);
    assert_tc3_result(v, &got);
    assert_tc3_canonical(v, &got);
}

#[test]
fn c1_tencent_tc3_sendsms_as_sent_by_sdk() {
    let v = &vectors()["c1_tencent_tc3_sendsms_as_sent_by_sdk"];
    let got = tc3_of(v);
    assert_tc3_result(v, &got);
    assert_tc3_canonical(v, &got);
    assert_tc3_captured(v, &got);
}

#[test]
fn c2_tencent_tc3_sendsms_compact_utf8_body() {
    let all = vectors();
    let v = &all["c2_tencent_tc3_sendsms_compact_utf8_body"];
    same(v, "body_utf8_hex", &hex::encode(s(v, "body").as_bytes()));
    let got = tc3_of(v);
    assert_tc3_result(v, &got);
    assert_tc3_canonical(v, &got);

    let wrongs = wrongs(v);
    assert_eq!(wrongs.len(), 4);
    for (name, wrong) in wrongs {
        assert_ne!(got.signature, wrong, "{name}");
    }
    // Three of the mistakes, made through the API.
    let (service, ct, body) = (s(v, "service"), s(v, "content_type"), s(v, "body"));
    assert_eq!(
        tc3_with(v, s(v, "host"), ct, body).signature,
        s(v, "wrong_if_service_in_scope_is_host_name")
    );
    assert_eq!(
        tc3_with(v, service, "application/json; charset=utf-8", body).signature,
        s(
            v,
            "wrong_if_signed_content_type_has_charset_but_sent_without"
        )
    );
    let sdk_body = s(&all["c1_tencent_tc3_sendsms_as_sent_by_sdk"], "body");
    assert_eq!(
        tc3_with(v, service, ct, sdk_body).signature,
        s(v, "wrong_if_sdk_style_body_signed_but_compact_body_sent")
    );
}

#[test]
fn c3_tencent_tc3_date_is_utc_not_beijing() {
    let v = &vectors()["c3_tencent_tc3_date_is_utc_not_beijing"];
    let got = tc3_of(v);
    assert_tc3_result(v, &got);
    assert_eq!(got.date, "2024-01-02");
    let wrongs = wrongs(v);
    assert_eq!(wrongs.len(), 1);
    for (name, wrong) in wrongs {
        assert_ne!(got.signature, wrong, "{name}");
    }
}

#[test]
fn c4_tencent_tc3_vms_sendttsvoice() {
    let v = &vectors()["c4_tencent_tc3_vms_sendttsvoice"];
    let got = tc3_of(v);
    assert_tc3_result(v, &got);
    assert_tc3_canonical(v, &got);
    assert_tc3_captured(v, &got);
}

// ---------------------------------------------------------------- Twilio

#[test]
fn d0_twilio_basic_auth_and_form_body() {
    let v = &vectors()["d0_twilio_basic_auth_and_form_body"];
    let (account, token) = (s(v, "account_sid"), s(v, "auth_token"));
    let with_token = sms::basic_auth(account, token);
    let with_key = sms::basic_auth(s(v, "api_key_sid"), s(v, "api_key_secret"));
    same(v, "authorization_with_auth_token", &with_token);
    same(v, "authorization_with_api_key", &with_key);
    same(v, "messages_url", &sms::twilio_messages_url(account));

    let path = |url: String| {
        url.strip_prefix("https://api.twilio.com")
            .unwrap()
            .to_owned()
    };
    let cases = [
        (
            "captured_messages_request",
            &with_token,
            sms::twilio_messages_url(account),
        ),
        (
            "captured_messages_request_with_api_key",
            &with_key,
            sms::twilio_messages_url(account),
        ),
        (
            "captured_calls_request",
            &with_token,
            sms::twilio_calls_url(account),
        ),
    ];
    for (key, authorization, url) in cases {
        let req = captured(s(v, key));
        assert_eq!(
            req.request_line,
            format!("POST {} HTTP/1.1", path(url)),
            "{key}"
        );
        assert_eq!(req.header("authorization"), authorization.as_str(), "{key}");
        assert_eq!(
            req.header("content-type"),
            "application/x-www-form-urlencoded",
            "{key}"
        );
        req.assert_content_length();
    }

    let wrong = s(v, "wrong_if_api_key_sid_put_in_url_instead_of_account_sid");
    assert_ne!(sms::twilio_messages_url(account), wrong);
    assert_eq!(sms::twilio_messages_url(s(v, "api_key_sid")), wrong);
}

#[test]
fn d1_twilio_webhook_signature_sdk_test_vector() {
    let v = &vectors()["d1_twilio_webhook_signature_sdk_test_vector"];
    let (token, url) = (s(v, "auth_token"), s(v, "url"));
    let params = pairs(v, "post_params");
    same(
        v,
        "string_to_sign",
        &sms::twilio_string_to_sign(url, &params),
    );
    same(
        v,
        "x_twilio_signature",
        &sms::twilio_signature(token, url, &params),
    );
    let header = s(v, "x_twilio_signature");
    assert!(sms::twilio_valid(token, url, &params, header));
    assert!(!sms::twilio_valid("54321", url, &params, header));
    assert!(!sms::twilio_valid(token, url, &params[1..], header));
    assert!(!sms::twilio_valid(token, url, &params, ""));
}

#[test]
fn d2_twilio_status_callback_signature() {
    let v = &vectors()["d2_twilio_status_callback_signature"];
    let (token, url) = (s(v, "auth_token"), s(v, "url"));
    let params = pairs(v, "post_params");
    let header = s(v, "x_twilio_signature");
    same(
        v,
        "string_to_sign",
        &sms::twilio_string_to_sign(url, &params),
    );
    same(
        v,
        "x_twilio_signature",
        &sms::twilio_signature(token, url, &params),
    );
    assert!(sms::twilio_valid(token, url, &params, header));

    // The SDK's validate() also accepts the URL with :443 spelled out.
    assert_eq!(v["also_valid_for_url_with_explicit_port_443"], true);
    let with_port = url.replacen("ackbot.example.com/", "ackbot.example.com:443/", 1);
    assert_ne!(with_port, url);
    assert!(sms::twilio_valid(token, &with_port, &params, header));
    // Other changes to the URL are not.
    for other in [
        url.replacen("https:", "http:", 1),
        url.replacen("ackbot.example.com/", "ackbot.example.com:8443/", 1),
        url.replacen("alert=42", "alert=43", 1),
        format!("{url}&bodySHA256=00"),
    ] {
        assert!(
            !sms::twilio_valid(token, &other, &params, header),
            "{other}"
        );
    }

    let wrongs = wrongs(v);
    assert_eq!(wrongs.len(), 4);
    for (name, wrong) in wrongs {
        assert_ne!(sms::twilio_signature(token, url, &params), wrong, "{name}");
        assert!(!sms::twilio_valid(token, url, &params, wrong), "{name}");
    }
    let (without_query, _) = url.split_once('?').unwrap();
    assert_eq!(
        sms::twilio_signature(token, without_query, &params),
        s(v, "wrong_if_query_string_dropped_from_url")
    );
}

#[test]
fn twilio_repeated_names_sort_their_values() {
    let v = &vectors()["d2_twilio_status_callback_signature"];
    let url = s(v, "url");
    let params = [("b", "2"), ("a", "z"), ("b", "1"), ("a", "y"), ("b", "1")];
    // Identical pairs count once, as in the SDKs' `sorted(set(values))`.
    assert_eq!(
        sms::twilio_string_to_sign(url, &params),
        format!("{url}ayazb1b2")
    );
}
