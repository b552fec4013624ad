//! The Sentry public key of a request (spec 1.2), and its check against a
//! project's configured keys.
//!
//! SDKs put the key in one of three places: the `X-Sentry-Auth` header
//! (Python, Rust, Go), the `sentry_key` query parameter (`@sentry/node`
//! sends nothing else) or the `dsn` of the envelope header (self-
//! authenticated envelopes, Go). When more than one is present they must
//! name the same key, as at Relay.
//!
//! The key is a bearer secret for its project: it is compared in constant
//! time, over SHA-256 digests so that not even its length shows, and it is
//! never part of an error message.

use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Sentry key: none in X-Sentry-Auth, the sentry_key parameter or the envelope dsn")]
    Missing,
    #[error("the request names more than one Sentry key")]
    Mismatch,
    /// What is wrong, never the key itself.
    #[error("the Sentry key cannot be read: {0}")]
    Malformed(String),
}

/// The public key from `X-Sentry-Auth` (`Sentry k=v, k=v`, any order,
/// spaces optional; the leading `Sentry` word may be missing), the
/// `sentry_key` query parameter (percent-decoded) and the envelope `dsn`
/// (`https://KEY@host/42` or `https://KEY:secret@host/42`). Where more than
/// one is present they must agree.
pub fn public_key(
    auth_header: Option<&str>,
    query: &str,
    envelope_dsn: Option<&str>,
) -> Result<String, AuthError> {
    let mut found: Vec<String> = Vec::new();
    if let Some(header) = auth_header {
        found.extend(header_key(header)?);
    }
    found.extend(query_keys(query)?);
    if let Some(dsn) = envelope_dsn {
        found.push(dsn_key(dsn)?);
    }
    let mut keys = found.into_iter();
    let first = keys.next().ok_or(AuthError::Missing)?;
    if keys.any(|k| k != first) {
        return Err(AuthError::Mismatch);
    }
    Ok(first)
}

/// The index of the configured key equal to `given`, compared in constant
/// time: every configured key is compared (no early exit), and over SHA-256
/// digests, so neither the position of a match nor any key's length shows.
pub fn matching_key(given: &str, configured: &[&str]) -> Option<usize> {
    if given.is_empty() {
        return None;
    }
    let given = Sha256::digest(given.as_bytes());
    let mut found = Choice::from(0u8);
    let mut index = 0u64;
    for (i, key) in configured.iter().enumerate() {
        let digest = Sha256::digest(key.as_bytes());
        let equal = given.as_slice().ct_eq(digest.as_slice());
        // The first match wins.
        index.conditional_assign(&(i as u64), equal & !found);
        found |= equal;
    }
    bool::from(found).then_some(index as usize)
}

/// `sentry_key` of an `X-Sentry-Auth` value; `None` when it has none.
fn header_key(header: &str) -> Result<Option<String>, AuthError> {
    let header = header.trim();
    let pairs = match (header.get(..6), header.get(6..)) {
        (Some(word), Some(rest))
            if word.eq_ignore_ascii_case("sentry") && rest.starts_with(char::is_whitespace) =>
        {
            rest
        }
        _ => header,
    };
    for pair in pairs.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("sentry_key") {
            let v = v.trim();
            if v.is_empty() {
                return Err(AuthError::Malformed(
                    "X-Sentry-Auth has an empty sentry_key".into(),
                ));
            }
            return Ok(Some(v.to_string()));
        }
    }
    Ok(None)
}

/// Every `sentry_key` of a raw query string, percent-decoded.
fn query_keys(query: &str) -> Result<Vec<String>, AuthError> {
    let mut keys = Vec::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if decode(k).as_deref() != Some("sentry_key") {
            continue;
        }
        let v = decode(v).ok_or_else(|| {
            AuthError::Malformed("the sentry_key parameter is not valid UTF-8".into())
        })?;
        if v.is_empty() {
            return Err(AuthError::Malformed(
                "the sentry_key parameter is empty".into(),
            ));
        }
        keys.push(v);
    }
    Ok(keys)
}

/// The public key of a DSN: the user part of its URL, before `:` or `@`.
fn dsn_key(dsn: &str) -> Result<String, AuthError> {
    let malformed = || AuthError::Malformed("the envelope dsn has no public key".into());
    let (_, rest) = dsn.trim().split_once("://").ok_or_else(malformed)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, _host) = authority.rsplit_once('@').ok_or_else(malformed)?;
    let key = userinfo.split(':').next().unwrap_or("");
    decode(key).filter(|k| !k.is_empty()).ok_or_else(malformed)
}

/// Percent-decoded UTF-8 (`+` stays `+`: keys are hex, and no SDK encodes
/// a space).
fn decode(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    /// (X-Sentry-Auth, raw query) of a captured request.
    fn auth_of(name: &str) -> (Option<String>, String) {
        let path = format!(
            "{}/tests/vectors/errors-and-logs-payloads/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let target = lines.next().unwrap().split(' ').nth(1).unwrap();
        let query = target.split_once('?').map_or("", |(_, q)| q).to_string();
        let header = lines.find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-sentry-auth")
                .then(|| value.trim().to_string())
        });
        (header, query)
    }

    #[test]
    fn captured_clients() {
        for name in [
            "sentry-python-envelope-exception.txt",
            "sentry-rust-envelope-panic.txt",
            "sentry-node-envelope-exception.txt",
        ] {
            let (header, query) = auth_of(name);
            assert_eq!(
                public_key(header.as_deref(), &query, None).as_deref(),
                Ok(KEY),
                "{name}"
            );
        }
        // Node sends the key in the query only (spec 4 check 6).
        let (header, query) = auth_of("sentry-node-envelope-exception.txt");
        assert_eq!(header, None);
        assert!(query.contains("sentry_client=sentry.javascript.node%2F11.12.0"));
    }

    #[test]
    fn header_forms() {
        for header in [
            format!(
                "Sentry sentry_key={KEY}, sentry_version=7, sentry_client=sentry.python/2.75.0"
            ),
            format!("Sentry sentry_version=7, sentry_client=sentry.go/0.30.0, sentry_key={KEY}"),
            format!("Sentry sentry_version=7,sentry_key={KEY},sentry_secret=s3cr3t"),
            format!("sentry  sentry_key = {KEY} ,sentry_version=7"),
            format!("sentry_key={KEY}, sentry_version=7"),
        ] {
            assert_eq!(
                public_key(Some(&header), "", None).as_deref(),
                Ok(KEY),
                "{header}"
            );
        }
        // A header without a key names none.
        assert_eq!(
            public_key(Some("Sentry sentry_version=7"), "", None),
            Err(AuthError::Missing)
        );
        assert!(matches!(
            public_key(Some("Sentry sentry_key=, sentry_version=7"), "", None),
            Err(AuthError::Malformed(_))
        ));
        // Multi-byte input around the `Sentry` word does not panic.
        assert_eq!(
            public_key(Some("Sentré k=v"), "", None),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn query_forms() {
        let q = format!("sentry_version=7&sentry_key={KEY}&sentry_client=x%2F1");
        assert_eq!(public_key(None, &q, None).as_deref(), Ok(KEY));
        assert_eq!(
            public_key(None, "sentry_key=abc%64", None).as_deref(),
            Ok("abcd")
        );
        assert_eq!(
            public_key(None, "sentry%5Fkey=abcd", None).as_deref(),
            Ok("abcd")
        );
        assert_eq!(public_key(None, "", None), Err(AuthError::Missing));
        assert_eq!(
            public_key(None, "sentry_version=7&x", None),
            Err(AuthError::Missing)
        );
        assert!(matches!(
            public_key(None, "sentry_key=%FF", None),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            public_key(None, "sentry_key", None),
            Err(AuthError::Malformed(_))
        ));
        assert_eq!(
            public_key(None, "sentry_key=aaaa&sentry_key=bbbb", None),
            Err(AuthError::Mismatch)
        );
    }

    #[test]
    fn dsn_forms() {
        for dsn in [
            format!("https://{KEY}@ackbot.example.com/42"),
            format!("https://{KEY}:secret@ackbot.example.com/42"),
            format!("http://{KEY}@127.0.0.1:9110/sentry/42"),
            format!(" https://{KEY}@h/1?x=y@z "),
        ] {
            assert_eq!(
                public_key(None, "", Some(&dsn)).as_deref(),
                Ok(KEY),
                "{dsn}"
            );
        }
        for bad in [
            "https://ackbot.example.com/42",
            "not a url",
            "https://@h/1",
            "https://:s@h/1",
        ] {
            assert!(
                matches!(
                    public_key(None, "", Some(bad)),
                    Err(AuthError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_place_must_agree() {
        let header = format!("Sentry sentry_key={KEY}, sentry_version=7");
        let query = format!("sentry_key={KEY}");
        let dsn = format!("https://{KEY}@h/42");
        assert_eq!(
            public_key(Some(&header), &query, Some(&dsn)).as_deref(),
            Ok(KEY)
        );
        let other = "ffffffffffffffffffffffffffffffff";
        let e = public_key(Some(&header), &format!("sentry_key={other}"), None).unwrap_err();
        assert_eq!(e, AuthError::Mismatch);
        let e = public_key(Some(&header), "", Some(&format!("https://{other}@h/42"))).unwrap_err();
        assert_eq!(e, AuthError::Mismatch);
        // No message names a key.
        for e in [e, AuthError::Missing] {
            let text = e.to_string();
            assert!(!text.contains(KEY) && !text.contains(other), "{text}");
        }
    }

    #[test]
    fn matching_keys() {
        let configured = ["aaaa", KEY, KEY, "0123456789abcdef0123456789abcdeF"];
        assert_eq!(matching_key(KEY, &configured), Some(1));
        assert_eq!(matching_key("aaaa", &configured), Some(0));
        assert_eq!(
            matching_key("0123456789abcdef0123456789abcdeF", &configured),
            Some(3)
        );
        assert_eq!(matching_key("aaa", &configured), None);
        assert_eq!(matching_key("aaaaa", &configured), None);
        assert_eq!(matching_key("", &["", "x"]), None);
        assert_eq!(matching_key(KEY, &[]), None);
    }
}
