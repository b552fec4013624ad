//! Applying a new config file without a restart: `SIGHUP` (what
//! `systemctl reload` sends) and `POST /-/reload`.
//!
//! The file is loaded and validated exactly as at start-up, and the
//! channels it names are built, before anything changes. Any error leaves
//! the config in force untouched and is logged (and answered, for
//! `/-/reload`). On success the parts that can change in a running process
//! are swapped, each as one pointer, so a request or a delivery round in
//! progress finishes with what it started with and nothing is dropped:
//! channels and their budgets, routes and aggregation rules, the ack TTL,
//! API tokens, platform secrets and allow-lists, and link signing. What a
//! running server cannot change (listen address, storage, TLS files, worker
//! threads, body caps, replay cache size) is named in the log as needing a
//! restart, and keeps its old value until then.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::act::handler::Allowed;
use crate::config::{Config, ConfigError, Source};
use crate::delivery::{Delivery, Setup};
use crate::engine::Engine;
use crate::inbound::Inbound;
use crate::inbound::api::ApiTokens;
use crate::inbound::links::LinkPages;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("invalid configuration: {0}")]
    Channels(String),
}

/// What a reload applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub source: String,
    /// Keys whose new values need a restart (`server.listen`, …).
    pub needs_restart: Vec<&'static str>,
}

/// Everything a reload swaps, and the config in force.
pub struct Reloader {
    /// `--config`, or `None` for `./ackbot.toml` else the defaults, as at start.
    path: Option<PathBuf>,
    current: Mutex<Config>,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) delivery: Arc<Delivery>,
    pub(crate) inbound: actix_web::web::Data<Inbound>,
    pub(crate) tokens: actix_web::web::Data<ApiTokens>,
    pub(crate) links: actix_web::web::Data<LinkPages>,
    pub(crate) allowed: Arc<ArcSwap<Allowed>>,
}

impl Reloader {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        path: Option<PathBuf>,
        config: Config,
        store: Arc<dyn Store>,
        delivery: Arc<Delivery>,
        inbound: actix_web::web::Data<Inbound>,
        tokens: actix_web::web::Data<ApiTokens>,
        links: actix_web::web::Data<LinkPages>,
        allowed: Arc<ArcSwap<Allowed>>,
    ) -> Self {
        Self {
            path,
            current: Mutex::new(config),
            running: tokio::sync::Mutex::new(()),
            store,
            delivery,
            inbound,
            tokens,
            links,
            allowed,
        }
    }

    /// Loads the file again and applies it, or changes nothing and says why.
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let _one = self.running.lock().await;
        let result = self.load_and_apply();
        match &result {
            Ok(done) if done.needs_restart.is_empty() => {
                tracing::info!(source = %done.source, "configuration reloaded")
            }
            Ok(done) => tracing::warn!(
                source = %done.source,
                needs_restart = %done.needs_restart.join(", "),
                "configuration reloaded; these keys changed but keep their old values until a restart"
            ),
            Err(e) => {
                tracing::error!(error = %e, "configuration NOT reloaded; the old one stays in force")
            }
        }
        result
    }

    fn load_and_apply(&self) -> Result<Reloaded, ReloadError> {
        let (new, source) = Config::load(self.path.as_deref())?;
        let channels = crate::outbound::build(&new).map_err(ReloadError::Channels)?;
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let needs_restart = restart_only(&current, &new);
        self.store.set_engine(Engine::from_config(&new));
        self.delivery.reconfigure(Setup::new(channels, &new));
        self.inbound.reconfigure(&new);
        self.tokens.0.store(Arc::new(new.api.tokens.clone()));
        self.links.reconfigure(&new);
        self.allowed.store(Arc::new(Allowed::from_config(&new)));
        crate::startup::warn_about_weak_settings(&new);
        // What needs a restart keeps its running value, so the next reload
        // compares against what is really in force.
        let mut kept = new;
        kept.server = current.server.clone();
        kept.storage = current.storage.clone();
        *current = kept;
        Ok(Reloaded {
            source: match source {
                Source::File(p) => p.display().to_string(),
                Source::Defaults => "built-in defaults".to_string(),
            },
            needs_restart,
        })
    }
}

/// The keys that differ between `old` and `new` and that only a restart
/// applies.
fn restart_only(old: &Config, new: &Config) -> Vec<&'static str> {
    let (o, n) = (&old.server, &new.server);
    let mut keys = Vec::new();
    let mut check = |key, same: bool| {
        if !same {
            keys.push(key);
        }
    };
    check("server.listen", o.listen == n.listen);
    check("server.tls_cert", o.tls_cert == n.tls_cert);
    check("server.tls_key", o.tls_key == n.tls_key);
    check(
        "server.generated_cert_dir",
        o.generated_cert_dir == n.generated_cert_dir,
    );
    check("server.insecure_http", o.insecure_http == n.insecure_http);
    check("server.workers", o.workers == n.workers);
    check(
        "server.max_body_bytes",
        o.max_body_bytes == n.max_body_bytes,
    );
    check(
        "server.max_ingest_body_bytes",
        o.max_ingest_body_bytes == n.max_ingest_body_bytes,
    );
    check("server.body_timeout", o.body_timeout == n.body_timeout);
    check(
        "errors.max_body_bytes",
        old.errors.max_body_bytes == new.errors.max_body_bytes,
    );
    check(
        "logs.max_body_bytes",
        old.logs.max_body_bytes == new.logs.max_body_bytes,
    );
    check(
        "ui.secret",
        old.ui.secret.as_ref().map(|s| s.expose()) == new.ui.secret.as_ref().map(|s| s.expose()),
    );
    check(
        "server.header_timeout",
        o.header_timeout == n.header_timeout,
    );
    check(
        "server.max_connections",
        o.max_connections == n.max_connections,
    );
    check(
        "server.max_requests_per_peer",
        o.max_requests_per_peer == n.max_requests_per_peer,
    );
    check(
        "server.replay_cache_capacity",
        o.replay_cache_capacity == n.replay_cache_capacity,
    );
    check(
        "storage.url",
        old.storage.url.expose() == new.storage.url.expose(),
    );
    check(
        "storage.retention",
        old.storage.retention == new.storage.retention,
    );
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_only_keys_are_named() {
        let env = |_: &str| None;
        let a = Config::from_toml("", "a", &env).unwrap();
        let b = Config::from_toml(
            "[server]\nlisten = \"127.0.0.1:9443\"\n[storage]\nurl = \"sqlite://other.db\"\n[aggregation]\nthreshold = 9\n",
            "b",
            &env,
        )
        .unwrap();
        assert_eq!(restart_only(&a, &a), Vec::<&str>::new());
        assert_eq!(restart_only(&a, &b), ["server.listen", "storage.url"]);
    }
}
