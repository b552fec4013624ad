//! Request signing for the SMS and voice providers ackbot pages people
//! through (`../shared/spec/sms.md` sections 1.3, 1.4, 3.2, 4.2, 4.4, 8 and
//! 9), and the check of the signature Twilio puts on its callbacks.
//!
//! Why this lives here: Alibaba Cloud and Tencent Cloud authenticate every
//! request ackbot sends by recomputing a MAC over a canonical form of it, so
//! a single byte that differs between what was signed and what went on the
//! wire gives an authentication error (and, in an alert storm, no page at
//! all). Twilio signs what it sends back to ackbot. Everything below is pure
//! and I/O-free: the date, Unix timestamp and nonce are parameters, so each
//! scheme is checked byte for byte against the SDK-produced vectors in
//! `tests/vectors/sms-vectors.json`. Callers sign inside their retry loop,
//! with a fresh date (or timestamp) and nonce for every attempt.
//!
//! | provider | scheme | MAC | signature | covers |
//! |---|---|---|---|---|
//! | Alibaba Cloud | V3, `ACS3-HMAC-SHA256` ([`acs3_sign`]) | HMAC-SHA256 | lower-case hex | query, signed headers, body hash |
//! | Alibaba Cloud | legacy RPC, `HMAC-SHA1` ([`acs_rpc_sign`]) | HMAC-SHA1, key `secret&` | base64 | method and every parameter |
//! | Tencent Cloud | `TC3-HMAC-SHA256` ([`tc3_sign`]) | HMAC-SHA256 key chain | lower-case hex | content type, host, body hash |
//! | Twilio, REST | HTTP Basic ([`basic_auth`]) | none | — | nothing |
//! | Twilio, callbacks | `X-Twilio-Signature` ([`twilio_valid`]) | HMAC-SHA1 | base64 | URL and form parameters |
//!
//! The byte rules, and the mistakes each one catches (spec section 9):
//!
//! - Percent-encoding is RFC 3986 on the UTF-8 bytes ([`percent_encode`]):
//!   only `A-Z a-z 0-9 - _ . ~` stay, everything else is `%XX` in upper-case
//!   hex. A space is `%20`, never `+`; `*` is `%2A`; `~` stays. Form
//!   encoders (`url::form_urlencoded`, `reqwest`'s `.query()`/`.form()`)
//!   write `+` and keep `*`, so never let an HTTP client build a signed query:
//!   put the returned query string on the wire as it is.
//! - Parameters and headers are sorted by name in byte order.
//! - Digests in canonical strings are lower-case hex.
//! - A body is hashed as the exact bytes sent: serialise JSON once, sign those
//!   bytes, send those bytes (Python's `json.dumps` and `serde_json` produce
//!   different bytes for the same value, vectors `c1`/`c2`).
//! - A signed header must be sent with exactly the signed value: an HTTP
//!   client that appends `; charset=utf-8` to the content type breaks it.
//! - Tencent's credential-scope date is the **UTC** date of the timestamp,
//!   not Beijing's (vector `c3`).
//! - The RPC key is the secret followed by `&`, its string to sign encodes
//!   the canonical query a second time, and its base64 signature is itself
//!   percent-encoded on the wire (a raw `+` would be read as a space).
//!
//! Nothing returned here contains a secret: canonical requests and strings to
//! sign may be logged when a provider rejects a signature (spec section 7.8).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Everything but RFC 3986's unreserved characters is encoded.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The algorithm name of Alibaba Cloud's V3 signature.
pub const ACS3_ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// The algorithm name of Tencent Cloud's signature v3.
pub const TC3_ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The headers TC3 signs: always these two.
pub const TC3_SIGNED_HEADERS: &str = "content-type;host";
/// The Twilio REST API base, API version included.
pub const TWILIO_API_BASE: &str = "https://api.twilio.com/2010-04-01";

/// RFC 3986 percent-encoding of the UTF-8 bytes of `s`: `A-Z a-z 0-9 - _ .
/// ~` are kept, every other byte becomes `%XX` with upper-case hex (so a
/// space is `%20` and `*` is `%2A`).
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().into()
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut m = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg);
    m.finalize().into_bytes().into()
}

/// `name=value` pairs sorted by name (byte order; the sort is stable, so a
/// repeated name keeps the caller's order of values), both sides
/// percent-encoded, joined with `&`.
fn sorted_encoded_query(mut params: Vec<(&str, &str)>) -> String {
    params.sort_by(|a, b| a.0.cmp(b.0));
    params
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------- Alibaba V3

/// One Alibaba Cloud RPC-style API call to sign with V3 (`ACS3-HMAC-SHA256`,
/// spec 1.3). The method is always `POST` and the path `/`, as the SDK sends
/// SendSms, SendBatchSms and SingleCallByTts.
#[derive(Debug, Clone, Copy)]
pub struct AcsRequest<'a> {
    /// The endpoint host, e.g. `dysmsapi.aliyuncs.com`; must be the host of
    /// the URL the request goes to.
    pub host: &'a str,
    /// `x-acs-action`, e.g. `SendSms`.
    pub action: &'a str,
    /// `x-acs-version`, e.g. `2017-05-25`.
    pub version: &'a str,
    /// `x-acs-date`: UTC now as `YYYY-MM-DDTHH:MM:SSZ`, no fraction.
    pub date: &'a str,
    /// `x-acs-signature-nonce`: new for every request and every retry.
    pub nonce: &'a str,
    /// The business parameters that go in the URL query, in any order.
    /// Parameters with an empty value are dropped (spec 1.3 step 1).
    pub query: &'a [(&'a str, &'a str)],
    /// The exact body bytes sent (empty for SendSms).
    pub body: &'a [u8],
    /// The `content-type` of a non-empty body; signed and sent as given.
    pub content_type: Option<&'a str>,
    /// Further headers to sign and send, e.g. `accept`, `user-agent` or
    /// `x-acs-security-token` (STS credentials). Names are lower-cased; they
    /// must differ from each other and from the headers set above.
    pub extra_headers: &'a [(&'a str, &'a str)],
}

/// The result of [`acs3_sign`]: the headers to send and the intermediate
/// strings (for tests and for logging a rejected signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsSigned {
    /// The query string, without `?`: the canonical query, which is also
    /// exactly what goes on the wire (`POST /?<canonical_query>`).
    pub canonical_query: String,
    /// `name:value\n` for every signed header, sorted by name.
    pub canonical_headers: String,
    /// The signed header names, sorted, joined with `;`.
    pub signed_headers: String,
    /// `POST\n/\n<query>\n<headers>\n<signed headers>\n<hex sha256(body)>`.
    pub canonical_request: String,
    /// `ACS3-HMAC-SHA256\n<hex sha256(canonical request)>`.
    pub string_to_sign: String,
    /// Lower-case hex HMAC-SHA256 of the string to sign, keyed with the
    /// AccessKey secret.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// Every header to send (lower-case names), `authorization` last. The
    /// HTTP client adds only `content-length`; it must not add or change a
    /// header listed here (in particular `content-type`).
    pub headers: Vec<(String, String)>,
}

/// Signs `req` with Alibaba Cloud's V3 scheme (spec 1.3): the headers it
/// returns are `host`, the `x-acs-*` headers (action, version, date, nonce,
/// content SHA-256), `content-type` if given, the extra headers, and
/// `authorization`; all but the last are signed.
pub fn acs3_sign(access_key_id: &str, access_key_secret: &str, req: &AcsRequest<'_>) -> AcsSigned {
    let canonical_query = acs3_canonical_query(req.query);
    let payload_hash = sha256_hex(req.body);
    let mut headers = acs3_headers(req, &payload_hash);
    let mut sorted: Vec<&(String, String)> = headers.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = sorted
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = sorted
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "POST\n/\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    );
    let string_to_sign = format!(
        "{ACS3_ALGORITHM}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let signature = hex::encode(hmac_sha256(
        access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    let authorization = format!(
        "{ACS3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    );
    headers.push(("authorization".to_owned(), authorization.clone()));
    AcsSigned {
        canonical_query,
        canonical_headers,
        signed_headers,
        canonical_request,
        string_to_sign,
        signature,
        authorization,
        headers,
    }
}

/// V3's canonical query: empty values dropped, sorted, RFC 3986-encoded.
fn acs3_canonical_query(query: &[(&str, &str)]) -> String {
    sorted_encoded_query(
        query
            .iter()
            .copied()
            .filter(|(_, value)| !value.is_empty())
            .collect(),
    )
}

/// The signed headers in the order they are sent: lower-case names,
/// trimmed values.
fn acs3_headers(req: &AcsRequest<'_>, payload_hash: &str) -> Vec<(String, String)> {
    let fixed = [
        ("host", req.host),
        ("x-acs-action", req.action),
        ("x-acs-version", req.version),
        ("x-acs-date", req.date),
        ("x-acs-signature-nonce", req.nonce),
        ("x-acs-content-sha256", payload_hash),
    ];
    let content_type = req.content_type.map(|ct| ("content-type", ct));
    fixed
        .into_iter()
        .chain(content_type)
        .chain(req.extra_headers.iter().copied())
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

// ---------------------------------------------------------------- Alibaba RPC

/// The result of [`acs_rpc_sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcSigned {
    /// The parameters sorted by name, RFC 3986-encoded, joined with `&`
    /// (empty values kept as `name=`).
    pub canonical_query: String,
    /// `<METHOD>&%2F&<percent-encoded canonical query>`.
    pub string_to_sign: String,
    /// Base64 (with padding) of HMAC-SHA1 keyed with `<secret>&`.
    pub signature: String,
    /// The whole query string to send, without `?`: the canonical query then
    /// `&Signature=<percent-encoded signature>`.
    pub query: String,
}

/// Signs with Alibaba Cloud's legacy RPC scheme (`SignatureMethod=HMAC-SHA1`,
/// `SignatureVersion=1.0`; spec 1.4). `method` is the HTTP method used, in
/// upper case. `params` are all the parameters, business and common
/// (`Action`, `Version`, `Format`, `AccessKeyId`, `SignatureMethod`,
/// `SignatureVersion`, `SignatureNonce`, `Timestamp`), in any order and
/// without `Signature`.
pub fn acs_rpc_sign(method: &str, params: &[(&str, &str)], access_key_secret: &str) -> RpcSigned {
    let canonical_query = sorted_encoded_query(params.to_vec());
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query)
    );
    let key = format!("{access_key_secret}&");
    let signature = STANDARD.encode(hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()));
    let signature_param = format!("Signature={}", percent_encode(&signature));
    let query = if canonical_query.is_empty() {
        signature_param
    } else {
        format!("{canonical_query}&{signature_param}")
    };
    RpcSigned {
        canonical_query,
        string_to_sign,
        signature,
        query,
    }
}

/// The legacy RPC `Signature` value (base64, not yet percent-encoded) for
/// `params`; see [`acs_rpc_sign`], whose `query` is what to send.
pub fn acs_rpc_signature(method: &str, params: &[(&str, &str)], access_key_secret: &str) -> String {
    acs_rpc_sign(method, params, access_key_secret).signature
}

// ---------------------------------------------------------------- Tencent TC3

/// The result of [`tc3_sign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tc3Signed {
    /// `POST\n/\n\ncontent-type:<ct>\nhost:<host>\n\ncontent-type;host\n<hex
    /// sha256(body)>`.
    pub canonical_request: String,
    /// `<date>/<service>/tc3_request`.
    pub credential_scope: String,
    /// `TC3-HMAC-SHA256\n<timestamp>\n<scope>\n<hex sha256(canonical request)>`.
    pub string_to_sign: String,
    /// The UTC date of the timestamp, `YYYY-MM-DD`.
    pub date: String,
    /// Lower-case hex HMAC-SHA256 of the string to sign with the derived key.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
}

/// Signs a Tencent Cloud API call with TC3-HMAC-SHA256 (spec 3.2).
///
/// `service` is the product (`sms`, `vms`), not the host. `host` and
/// `content_type` are signed and must be sent exactly as given (names and
/// values are lower-cased and trimmed in the canonical form, as the doc
/// says, so send them in lower case). `timestamp` (Unix seconds) must also
/// be sent as `X-TC-Timestamp` in decimal; `body` is the exact bytes sent.
/// A timestamp outside chrono's range (about ±262,000 years) gets an empty
/// date, which Tencent rejects, as it does any timestamp more than five
/// minutes off its clock.
pub fn tc3_sign(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    content_type: &str,
    timestamp: i64,
    body: &[u8],
) -> Tc3Signed {
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{TC3_SIGNED_HEADERS}\n{}",
        content_type.trim().to_ascii_lowercase(),
        host.trim().to_ascii_lowercase(),
        sha256_hex(body)
    );
    let date = utc_date(timestamp);
    let credential_scope = format!("{date}/{service}/tc3_request");
    let string_to_sign = format!(
        "{TC3_ALGORITHM}\n{timestamp}\n{credential_scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let [_, _, signing_key] = tc3_key_chain(secret_key, &date, service);
    let signature = hex::encode(hmac_sha256(&signing_key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{TC3_ALGORITHM} Credential={secret_id}/{credential_scope}, SignedHeaders={TC3_SIGNED_HEADERS}, Signature={signature}"
    );
    Tc3Signed {
        canonical_request,
        credential_scope,
        string_to_sign,
        date,
        signature,
        authorization,
    }
}

/// TC3's derived keys, in order: `SecretDate = HMAC("TC3" + SecretKey,
/// date)`, `SecretService = HMAC(SecretDate, service)`, `SecretSigning =
/// HMAC(SecretService, "tc3_request")`. Crate-visible so the known-answer
/// tests can check each step; these are secrets, never log them.
pub(crate) fn tc3_key_chain(secret_key: &str, date: &str, service: &str) -> [[u8; 32]; 3] {
    let secret_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let secret_service = hmac_sha256(&secret_date, service.as_bytes());
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    [secret_date, secret_service, secret_signing]
}

/// The UTC calendar date of a Unix timestamp, `YYYY-MM-DD` (empty when out
/// of chrono's range).
fn utc_date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- Twilio

/// The Messages resource of an account: the URL carries the Account SID
/// (`AC…`) even when authenticating with an API key (`SK…`).
pub fn twilio_messages_url(account_sid: &str) -> String {
    format!("{TWILIO_API_BASE}/Accounts/{account_sid}/Messages.json")
}

/// The Calls resource of an account (see [`twilio_messages_url`]).
pub fn twilio_calls_url(account_sid: &str) -> String {
    format!("{TWILIO_API_BASE}/Accounts/{account_sid}/Calls.json")
}

/// An HTTP Basic `Authorization` value: `Basic base64(user:password)`.
/// Twilio's REST API takes the Account SID and Auth Token, or an API key SID
/// and its secret (spec 4.2).
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// What Twilio signs for a form-encoded callback (spec 4.4): the full URL,
/// query string included, then for each POST parameter in byte order of
/// name, then value, `name` followed by `value`, with no separators.
/// Identical name/value pairs count once, as in both the Python and the
/// Node SDK (`sorted(set(values))`).
pub fn twilio_string_to_sign(url: &str, params: &[(&str, &str)]) -> String {
    let mut pairs = params.to_vec();
    pairs.sort_unstable();
    pairs.dedup();
    let mut s = String::from(url);
    for (name, value) in pairs {
        s.push_str(name);
        s.push_str(value);
    }
    s
}

/// The `X-Twilio-Signature` for a callback to `url` with form parameters
/// `params` (decoded, in any order): base64 of HMAC-SHA1 keyed with the Auth
/// Token over [`twilio_string_to_sign`].
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let s = twilio_string_to_sign(url, params);
    STANDARD.encode(hmac_sha1(auth_token.as_bytes(), s.as_bytes()))
}

/// Whether `header` (the `X-Twilio-Signature` value) is Twilio's signature
/// of a form-encoded callback to `url` with `params`. `url` is the public URL
/// Twilio was given (rebuilt from configuration behind a proxy, never from
/// the `Host` header). As the SDKs do, the URL is also tried with the
/// scheme's default port (`:443` for https, `:80` otherwise) removed or
/// added; another port is never dropped. Comparisons are constant-time and
/// every candidate is computed.
///
/// A URL whose query has `bodySHA256` belongs to a JSON-bodied webhook,
/// which signs the URL alone and the body through that hash; ackbot
/// configures none, so such a request is rejected here rather than accepted
/// without looking at its body.
pub fn twilio_valid(auth_token: &str, url: &str, params: &[(&str, &str)], header: &str) -> bool {
    if has_body_hash(url) {
        return false;
    }
    let mut valid = subtle::Choice::from(0);
    for candidate in port_variants(url) {
        let expected = twilio_signature(auth_token, &candidate, params);
        valid |= expected.as_bytes().ct_eq(header.as_bytes());
    }
    valid.into()
}

/// Whether the URL's query has a `bodySHA256` parameter.
fn has_body_hash(url: &str) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .any(|pair| pair.split_once('=').map_or(pair, |(name, _)| name) == "bodySHA256")
}

/// The two spellings of `url` the Twilio SDKs check: without the scheme's
/// default port (`:443` for https, `:80` otherwise) and with it. One of them
/// is `url` itself. A URL with another port, or with no `scheme://`, is
/// returned as it is, twice. (The Python and Node SDKs strip any port; only
/// the default one is dropped here, spec 4.4 step 4, so another port stays
/// part of what must have been signed.)
fn port_variants(url: &str) -> [String; 2] {
    let Some((scheme, start, end)) = authority(url) else {
        return [url.to_owned(), url.to_owned()];
    };
    let default_port = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    let host_start = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    match port_colon(&url[host_start..end]) {
        Some(colon) if &url[host_start + colon + 1..end] == default_port => [
            format!("{}{}", &url[..host_start + colon], &url[end..]),
            url.to_owned(),
        ],
        Some(_) => [url.to_owned(), url.to_owned()],
        None => [
            url.to_owned(),
            format!("{}:{default_port}{}", &url[..end], &url[end..]),
        ],
    }
}

/// The scheme of an absolute URL and the byte range of its authority
/// (`userinfo@host:port`).
fn authority(url: &str) -> Option<(&str, usize, usize)> {
    let (scheme, _) = url.split_once("://")?;
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let start = scheme.len() + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    Some((scheme, start, end))
}

/// Where the `:` of a non-empty numeric port starts in `host[:port]`
/// (IPv6 literals in brackets included).
fn port_colon(host_port: &str) -> Option<usize> {
    let host_end = if host_port.starts_with('[') {
        host_port.find(']')? + 1
    } else {
        host_port.rfind(':')?
    };
    let port = host_port[host_end..].strip_prefix(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then_some(host_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encode_keeps_only_unreserved() {
        assert_eq!(
            percent_encode("Az09-_.~ *+/=&%\u{e9}"),
            "Az09-_.~%20%2A%2B%2F%3D%26%25%C3%A9"
        );
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn port_variants_add_and_remove_the_port() {
        assert_eq!(
            port_variants("https://h.example/p?q=1"),
            ["https://h.example/p?q=1", "https://h.example:443/p?q=1"]
        );
        assert_eq!(
            port_variants("http://h.example"),
            ["http://h.example", "http://h.example:80"]
        );
        assert_eq!(
            port_variants("https://h.example:443/p"),
            ["https://h.example/p", "https://h.example:443/p"]
        );
        assert_eq!(
            port_variants("http://u:pw@h.example:80#f"),
            ["http://u:pw@h.example#f", "http://u:pw@h.example:80#f"]
        );
        assert_eq!(
            port_variants("https://[::1]:443/p"),
            ["https://[::1]/p", "https://[::1]:443/p"]
        );
        // Another port stays: it is part of the URL Twilio was given.
        assert_eq!(
            port_variants("https://h.example:8443/p"),
            ["https://h.example:8443/p", "https://h.example:8443/p"]
        );
        assert_eq!(
            port_variants("http://h.example:443/p"),
            ["http://h.example:443/p", "http://h.example:443/p"]
        );
        assert_eq!(
            port_variants("https://[::1]/p"),
            ["https://[::1]/p", "https://[::1]:443/p"]
        );
        // The userinfo's colon is not a port.
        assert_eq!(
            port_variants("https://u:pw@h.example/p"),
            ["https://u:pw@h.example/p", "https://u:pw@h.example:443/p"]
        );
        assert_eq!(
            port_variants("/relative?x=http://a"),
            ["/relative?x=http://a", "/relative?x=http://a"]
        );
    }

    #[test]
    fn body_hash_parameter_is_found_by_name_only() {
        assert!(has_body_hash("https://h/p?bodySHA256=ab"));
        assert!(has_body_hash("https://h/p?a=1&bodySHA256"));
        assert!(!has_body_hash("https://h/p?a=bodySHA256"));
        assert!(!has_body_hash("https://h/p#bodySHA256=1"));
        assert!(!has_body_hash("https://h/p"));
    }

    #[test]
    fn utc_date_edges() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(-1), "1969-12-31");
        assert_eq!(utc_date(1_704_153_599), "2024-01-01");
        assert_eq!(utc_date(1_704_153_600), "2024-01-02");
        assert_eq!(utc_date(253_402_300_799), "9999-12-31");
        assert_eq!(utc_date(i64::MAX), "");
    }
}

/// The pairs of an `application/x-www-form-urlencoded` body (Twilio's
/// webhooks), decoded: `+` is a space, `%XX` a byte; invalid UTF-8 is
/// replaced. Order and repeats are kept, as the signature needs them.
pub fn form_pairs(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod form_tests {
    use super::*;

    #[test]
    fn form_bodies_decode_plus_and_percent_and_keep_repeats() {
        assert_eq!(
            form_pairs("To=%2B8613800000001&Body=a+b%26c&x&To=2"),
            vec![
                ("To".into(), "+8613800000001".into()),
                ("Body".into(), "a b&c".into()),
                ("x".into(), String::new()),
                ("To".into(), "2".into()),
            ]
        );
        assert!(form_pairs("").is_empty());
    }
}
