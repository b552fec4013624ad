//! Local mock SMS / voice providers (WORK IN PROGRESS: signing only so far).
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;
type HmacSha1 = Hmac<Sha1>;

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
pub fn acs3_canonical_headers<K: AsRef<str>, V: AsRef<str>>(headers: &[(K, V)]) -> (String, String) {
    let mut v: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().trim()))
        .collect();
    v.sort();
    let canonical = v.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed = v.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
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
    format!("ACS3-HMAC-SHA256 Credential={key_id},SignedHeaders={signed_headers},Signature={signature}")
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
    let sh = v.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    format!("POST\n/\n\n{ch}\n{sh}\n{}", sha256_hex(body))
}

/// The **UTC** date of a Unix timestamp, `YYYY-MM-DD` (§3.2 step 2).
pub fn tc3_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `TC3-HMAC-SHA256\n<ts>\n<date>/<service>/tc3_request\n<hex sha256(CanonicalRequest)>`.
pub fn tc3_string_to_sign(timestamp: &str, date: &str, service: &str, canonical_request: &str) -> String {
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
    let authorization = tc3_authorization(secret_id, &date, service, "content-type;host", &signature);
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

// ------------------------------------------------------------------ self-tests

mod self_tests {
    use super::*;
    use serde_json::Value;

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
            assert_eq!(signed.canonical_query, s(v, "canonical_query_string"), "{id}");
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
            assert_eq!(rpc_signature(s(v, "access_key_secret"), &sts), s(v, "signature"));
            assert_eq!(
                rpc_signed_query(s(v, "http_method"), s(v, "access_key_secret"), &pairs(&v["params"])),
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
}
