//! `[ui]` and `[[ui.users]]`: who may sign in to the web console at `/ui`
//! and what they may do there (`viewer` looks, `operator` also acts).
//! Passwords are stored only as argon2id hashes (`ackbot hash-password`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, invalid};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiUser {
    pub name: String,
    /// `$argon2id$v=19$…`, as `ackbot hash-password` prints it.
    pub password_hash: Secret,
    pub role: Role,
}

fn default_session_ttl() -> Duration {
    Duration::from_secs(12 * 3600)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    #[serde(default)]
    pub users: Vec<UiUser>,
    /// Signs session cookies (at least 32 characters). Unset: a random key
    /// per process, so sessions end on a restart and each replica has its
    /// own; set it when running several.
    pub secret: Option<Secret>,
    /// How long a sign-in lasts.
    #[serde(default = "default_session_ttl", with = "super::duration")]
    pub session_ttl: Duration,
    /// Cards link each alert to its console page and a digest's "N more
    /// alerts" to the console's list (when there are users and `[server]
    /// public_url` is set); `false`: the signed list page of `[links]`.
    #[serde(default = "yes")]
    pub card_links: bool,
}

fn yes() -> bool {
    true
}

impl UiConfig {
    /// `{public_url}/ui`, when cards should link to the console.
    pub fn card_base(&self, public_url: Option<&str>) -> Option<String> {
        let base = public_url?.trim_end_matches('/');
        (self.card_links && !self.users.is_empty()).then(|| format!("{base}/ui"))
    }
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            secret: None,
            session_ttl: default_session_ttl(),
            card_links: true,
        }
    }
}

pub(super) fn validate(ui: &UiConfig) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for u in &ui.users {
        let ok = !u.name.is_empty()
            && u.name.chars().count() <= 64
            && u.name
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c));
        if !ok || !names.insert(u.name.as_str()) {
            return Err(invalid(
                "ui.users.name",
                format!(
                    "`{}` must be 1 to 64 letters, digits, `.`, `_`, `-` or `@`, and unique",
                    crate::domain::labels::truncate_text(&u.name, 70)
                ),
            ));
        }
        let hash = u.password_hash.expose();
        if !hash.starts_with("$argon2id$") || argon2::PasswordHash::new(hash).is_err() {
            return Err(invalid(
                "ui.users.password_hash",
                format!(
                    "of `{}` is not an argon2id hash; make one with `ackbot hash-password`",
                    u.name
                ),
            ));
        }
    }
    if ui.secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
        return Err(invalid("ui.secret", "must be at least 32 characters"));
    }
    if !(Duration::from_secs(300)..=Duration::from_secs(30 * 24 * 3600)).contains(&ui.session_ttl) {
        return Err(invalid("ui.session_ttl", "must be between 5m and 30d"));
    }
    Ok(())
}

/// An argon2id hash of `password` with a fresh random salt, in the PHC
/// string form `[[ui.users]] password_hash` takes.
pub fn hash_password(password: &str) -> String {
    use argon2::PasswordHasher;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("OS random source");
    let salt = argon2::password_hash::SaltString::encode_b64(&salt).expect("16 bytes encode");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// Whether `password` matches `hash` (argon2's own comparison is constant
/// time).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password_and_are_salted() {
        let a = hash_password("correct horse");
        let b = hash_password("correct horse");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("correct horsf", &a));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn cards_link_to_the_console_only_with_users_a_public_url_and_the_switch_on() {
        let mut ui = UiConfig::default();
        assert_eq!(ui.card_base(Some("https://a.example")), None, "no users");
        ui.users.push(UiUser {
            name: "li".into(),
            password_hash: Secret::new(String::new()),
            role: Role::Viewer,
        });
        assert_eq!(
            ui.card_base(Some("https://a.example/")).as_deref(),
            Some("https://a.example/ui")
        );
        assert_eq!(ui.card_base(None), None, "no public_url");
        ui.card_links = false;
        assert_eq!(ui.card_base(Some("https://a.example")), None);
    }
}
