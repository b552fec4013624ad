//! `POST /-/reload`: loads the config file again (as SIGHUP does), with an
//! API token. 200 with what was applied, or 500 `invalid_config` with the
//! old config still in force. The answer names the key at fault but not
//! the error's text, which may quote the file (and a secret in it); the log
//! has the whole error.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::api::Authenticated;
use crate::config::ConfigError;
use crate::reload::{ReloadError, Reloader};

pub async fn reload(_: Authenticated, reloader: web::Data<Reloader>) -> HttpResponse {
    match reloader.reload().await {
        Ok(done) => HttpResponse::Ok().json(json!({
            "reloaded": true,
            "source": done.source,
            "needs_restart": done.needs_restart,
        })),
        Err(e) => {
            let key = match &e {
                ReloadError::Config(ConfigError::Invalid { key, .. }) => Some(key.to_string()),
                ReloadError::Config(ConfigError::Shape { key, .. }) => Some(key.clone()),
                _ => None,
            };
            let message = match &key {
                Some(k) => format!(
                    "the new configuration is invalid at `{k}` and was not applied; the old one stays in force (ackbot's log has the details)"
                ),
                None => "the new configuration is invalid and was not applied; the old one stays in force (ackbot's log has the details)".to_string(),
            };
            HttpResponse::InternalServerError().json(json!({
                "error": "invalid_config",
                "message": message,
                "field": key,
            }))
        }
    }
}
