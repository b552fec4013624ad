//! Sessions and CSRF tokens of the web console, pure.
//!
//! A session is a cookie `v1.<name>.<role>.<expires>.<signature>`: the
//! signature is HMAC-SHA256 over the rest under the console's key, so the
//! server keeps no session table and every replica with the same `[ui]
//! secret` accepts it. It is HttpOnly, `SameSite=Strict`, limited to `/ui`,
//! `Secure` over TLS, and expires (`[ui] session_ttl`). Names and roles are
//! read again from `[[ui.users]]` on every request, so a user removed from
//! the config is out at the next reload.
//!
//! Every form carries a CSRF token derived from the session (HMAC of the
//! cookie value), checked in constant time: a page of another site cannot
//! know it, and SameSite=Strict already keeps the cookie off its requests.
//! The sign-in form, before any session, is tied the same way to a random
//! pre-session cookie.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::ui::Role;

pub const COOKIE: &str = "ackbot_session";
pub const LOGIN_COOKIE: &str = "ackbot_login";

fn mac(key: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p.as_bytes());
        m.update(b"\n");
    }
    m.finalize().into_bytes().to_vec()
}

/// A signed-in user, as the cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub name: String,
    pub role: Role,
    pub expires: i64,
}

/// The cookie value for `session`.
pub fn seal(key: &[u8], s: &Session) -> String {
    let name = B64.encode(s.name.as_bytes());
    let role = s.role.as_str();
    let exp = s.expires.to_string();
    let sig = B64.encode(mac(key, &["v1", &name, role, &exp]));
    format!("v1.{name}.{role}.{exp}.{sig}")
}

/// The session a cookie value holds, if its signature is ours and it has
/// not expired at `now` (Unix seconds).
pub fn open(key: &[u8], value: &str, now: i64) -> Option<Session> {
    let mut parts = value.split('.');
    let (v, name, role, exp, sig) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if v != "v1" || parts.next().is_some() {
        return None;
    }
    let expected = mac(key, &["v1", name, role, exp]);
    let given = B64.decode(sig).ok()?;
    if !crate::verify::ct_eq(&expected, &given) {
        return None;
    }
    let expires: i64 = exp.parse().ok()?;
    if expires <= now {
        return None;
    }
    Some(Session {
        name: String::from_utf8(B64.decode(name).ok()?).ok()?,
        role: Role::parse(role)?,
        expires,
    })
}

/// The CSRF token of forms under the session (or pre-session) cookie
/// `value`.
pub fn csrf(key: &[u8], value: &str) -> String {
    B64.encode(mac(key, &["csrf", value]))
}

pub fn csrf_ok(key: &[u8], value: &str, token: &str) -> bool {
    crate::verify::ct_eq(csrf(key, value).as_bytes(), token.as_bytes())
}

/// A cookie value from a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a key of thirty-two bytes or so!";

    #[test]
    fn sessions_open_only_unchanged_unexpired_and_under_their_key() {
        let s = Session {
            name: "li.lei".into(),
            role: Role::Operator,
            expires: 2_000,
        };
        let v = seal(KEY, &s);
        assert_eq!(open(KEY, &v, 1_999), Some(s.clone()));
        assert_eq!(open(KEY, &v, 2_000), None, "expired");
        assert_eq!(open(b"another key of thirty-two bytes!", &v, 1_000), None);
        // A viewer cannot make itself an operator, nor extend its expiry.
        let forged = v.replace(".operator.", ".viewer.");
        assert_eq!(open(KEY, &forged, 1_000), None);
        let forged = v.replace(".2000.", ".9999.");
        assert_eq!(open(KEY, &forged, 1_000), None);
        assert_eq!(open(KEY, "v1.x.operator.9999", 1_000), None);
        assert_eq!(open(KEY, &format!("{v}.extra"), 1_000), None);
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let t = csrf(KEY, "session-a");
        assert!(csrf_ok(KEY, "session-a", &t));
        assert!(!csrf_ok(KEY, "session-b", &t));
        assert!(!csrf_ok(KEY, "session-a", ""));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = "a=1; ackbot_session=xyz; ackbot_session_x=2";
        assert_eq!(cookie(h, COOKIE), Some("xyz"));
        assert_eq!(cookie(h, "ackbot"), None);
    }
}
