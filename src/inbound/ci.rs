//! `POST /ci/github`, `/ci/gitlab`, `/ci/gitee`, `/ci/gitea`, `/ci/jenkins`:
//! CI/CD webhooks (`../shared/spec/cicd.md` section 0.2 rules).
//!
//! Each handler verifies the raw bytes against every configured source of
//! its sender (the one that matches names the alert's `ci_source`), then
//! reads the event and records it ([`crate::streaks`]) before answering.
//! Answers:
//! - 200 `{"outcome": …}` for every verified delivery, used or not: GitLab
//!   disables a hook that is answered 4xx, and no sender can fix a payload;
//! - 401 with the JSON error for one that is not verified (nothing
//!   changes); 415 for GitHub's form encoding (choose `application/json`);
//! - 404 when the sender has no source configured; 503 when storage fails
//!   (the result is kept `pending` if it was counted: see `streaks`).
//!
//! Deduplication: a finished run is counted once per (series, run number,
//! attempt, result), durably, whatever the delivery; a delivery id (GitHub
//! `X-GitHub-Delivery`, GitLab `Idempotency-Key`/`webhook-id`, Gitea's) is
//! remembered after the delivery is processed, so a redelivery answers
//! `duplicate`. A Gitee signature covers only its timestamp: each
//! (timestamp, token) pair is accepted once, before anything is read.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use arc_swap::ArcSwap;
use serde_json::json;

use super::{Inbound, RawBody, header, now_ms};
use crate::config::CiConfig;
use crate::config::ci::{CiRule, GiteeMode};
use crate::ingest::ci::{self, Event, System, Unreadable, gitee, github, gitlab, jenkins};
use crate::replay::Sighting;
use crate::store::{Store, StoreError};
use crate::streaks::{self, Recorded};
use crate::verify::VerifyError;
use crate::verify::ci as sig;

/// How long delivery ids are remembered: GitHub Enterprise Server lets an
/// admin redeliver for 7 days.
const DELIVERY_TTL_SECS: i64 = 8 * 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum CiError {
    #[error(
        "{} webhooks are not configured on this server (add a [[ci.{}]] source)",
        .0.display(),
        .0.as_str()
    )]
    NotConfigured(System),
    #[error("{}; no configured {} source accepts this delivery", .0, .1.display())]
    Refused(VerifyError, System),
    #[error("this Gitee timestamp and token were used already (replay)")]
    Replay,
    #[error(
        "form-encoded deliveries are not read; set the webhook's content type to application/json"
    )]
    Form,
    #[error("storage is unavailable; retry later")]
    Storage(#[from] StoreError),
    #[error("the server is busy; retry later")]
    Busy,
}

impl CiError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured(..) => "not_configured",
            Self::Refused(e, _) => e.code(),
            Self::Replay => "replay",
            Self::Form => "unsupported_media_type",
            Self::Storage(_) => "storage_unavailable",
            Self::Busy => "busy",
        }
    }

    /// The `outcome` of `ackbot_webhook_deliveries_total`.
    fn outcome(&self) -> &'static str {
        match self {
            Self::Refused(
                VerifyError::TimestampTooOld { .. } | VerifyError::TimestampInFuture { .. },
                _,
            ) => "stale_timestamp",
            Self::Refused(..) => "bad_signature",
            Self::Replay => "replay",
            Self::Form => "unsupported_media_type",
            Self::NotConfigured(..) => "not_configured",
            Self::Storage(_) | Self::Busy => "unavailable",
        }
    }
}

impl ResponseError for CiError {
    fn status_code(&self) -> StatusCode {
        match self {
            // Every refusal is 401, stale or malformed alike (spec 0.2).
            Self::Refused(..) | Self::Replay => StatusCode::UNAUTHORIZED,
            Self::Form => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::NotConfigured(..) => StatusCode::NOT_FOUND,
            Self::Storage(_) | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Storage(e) = self {
            tracing::error!(error = %e, "CI delivery not recorded: storage failure");
        }
        super::error::refused(
            HttpResponse::build(self.status_code())
                .json(json!({"error": self.code(), "message": self.to_string()})),
            self.code(),
        )
    }
}

/// The `[ci]` section as the handlers use it; replaced on a reload.
pub struct CiInbound {
    config: CiConfig,
    /// `[[ci.gitlab]] signing_token`s, decoded once (validated at load).
    gitlab_keys: Vec<Option<sig::SigningKey>>,
}

impl CiInbound {
    pub fn new(config: &CiConfig) -> Self {
        Self {
            gitlab_keys: config
                .gitlab
                .iter()
                .map(|g| {
                    g.signing_token
                        .as_ref()
                        .and_then(|t| sig::SigningKey::from_token(t.expose()).ok())
                })
                .collect(),
            config: config.clone(),
        }
    }
}

/// The rules, shared by the handlers and the sweep; replaced on a reload.
pub type SharedRules = Arc<ArcSwap<Vec<CiRule>>>;

/// Who sent a verified delivery, and its id if the sender gives one.
struct Verified {
    source: String,
    delivery: Option<String>,
}

/// Tries every source; the error kept is the most telling one (a
/// signature that matched but is stale over one that did not match).
fn first_match<S>(
    sources: &[S],
    system: System,
    mut check: impl FnMut(usize, &S) -> Result<(), VerifyError>,
    name: impl Fn(&S) -> &str,
) -> Result<String, CiError> {
    let mut error = None;
    for (i, s) in sources.iter().enumerate() {
        match check(i, s) {
            Ok(()) => return Ok(name(s).to_string()),
            Err(e) => {
                let stale = matches!(
                    e,
                    VerifyError::TimestampTooOld { .. } | VerifyError::TimestampInFuture { .. }
                );
                if error.is_none() || stale {
                    error = Some(e);
                }
            }
        }
    }
    Err(CiError::Refused(
        error.unwrap_or(VerifyError::Unauthenticated),
        system,
    ))
}

fn config(inbound: &Inbound) -> Arc<CiInbound> {
    inbound.ci.load_full()
}

/// Records a verified event; returns the outcome and a detail.
async fn process(
    store: &dyn Store,
    rules: &[CiRule],
    system: System,
    source: &str,
    event: Result<Event, Unreadable>,
) -> Result<(&'static str, Option<String>), StoreError> {
    let event = match event {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(system = system.as_str(), source, error = %e, "verified CI delivery not understood; answered 200 so the sender keeps the hook");
            return Ok(("unreadable", Some(e.to_string())));
        }
    };
    Ok(match event {
        Event::Ping => ("ping", None),
        Event::Ignored(why) => ("ignored", Some(why)),
        Event::Started { series, .. } => {
            let id = crate::engine::streak::SeriesId {
                system,
                source: source.to_string(),
                series,
            };
            crate::metrics::get().pipeline_started(&streaks::metric_labels(&id));
            ("accepted", None)
        }
        Event::Finished(run) => {
            match streaks::record_run(store, rules, system, source, &run).await? {
                Recorded::Counted { .. } => ("accepted", None),
                Recorded::Duplicate => ("duplicate", None),
                Recorded::Stale => (
                    "out_of_order",
                    Some("older than the newest run of this pipeline: not counted".into()),
                ),
            }
        }
        Event::JobFailed {
            series,
            run_id,
            attempt,
            job,
        } => {
            let job = streaks::JobReport {
                series: &series,
                run_id: &run_id,
                attempt,
                job: &job,
            };
            if streaks::record_job(store, rules, system, source, job).await? {
                ("accepted", None)
            } else {
                ("duplicate", None)
            }
        }
    })
}

/// The common tail of every handler: process, remember the delivery id,
/// count, answer.
async fn finish(
    inbound: &Inbound,
    store: &dyn Store,
    system: System,
    verified: Verified,
    event: Result<Event, Unreadable>,
) -> Result<HttpResponse, CiError> {
    let rules = inbound.ci_rules.load_full();
    let (mut outcome, detail) = process(store, &rules, system, &verified.source, event).await?;
    if let Some(id) = verified.delivery.as_deref().filter(|d| !d.is_empty()) {
        let now = now_ms() / 1000;
        let key = format!("{}\n{}", verified.source, ci::one_line(id, 200));
        match inbound
            .replay
            .check(
                delivery_namespace(system),
                &key,
                now + DELIVERY_TTL_SECS,
                now,
            )
            .await
        {
            Ok(Sighting::Repeat) if outcome != "out_of_order" => outcome = "duplicate",
            Ok(_) => {}
            // Runs are deduplicated by their series all the same.
            Err(e) => tracing::warn!(error = %e, "CI delivery id not remembered"),
        }
    }
    crate::metrics::get().webhook(system.as_str(), outcome);
    tracing::info!(
        system = system.as_str(),
        source = verified.source,
        outcome,
        "CI delivery"
    );
    let mut body = json!({"outcome": outcome, "source": verified.source});
    if let Some(d) = detail {
        body["detail"] = json!(d);
    }
    Ok(HttpResponse::Ok().json(body))
}

/// GitHub and Gitea can send `payload=<url-encoded JSON>` instead of JSON.
fn is_form(req: &HttpRequest) -> bool {
    header(req, "Content-Type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
}

/// 404 (counted) when `system` has no source.
fn configured<T>(system: System, sources: &[T]) -> Result<(), CiError> {
    if sources.is_empty() {
        return Err(refused(system, CiError::NotConfigured(system)));
    }
    Ok(())
}

/// Where a sender's delivery ids are remembered (the replay memory).
fn delivery_namespace(system: System) -> &'static str {
    match system {
        System::Github => "github-delivery",
        System::Gitlab => "gitlab-delivery",
        System::Gitee => "gitee-delivery",
        System::Gitea => "gitea-delivery",
        System::Jenkins => "jenkins-delivery",
    }
}

fn refused(system: System, e: CiError) -> CiError {
    crate::metrics::get().webhook(system.as_str(), e.outcome());
    e
}

/// `POST /ci/github`.
pub async fn github(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, CiError> {
    let system = System::Github;
    let ci = config(&inbound);
    configured(system, &ci.config.github)?;
    let (sha256, sha1) = (
        header(&req, sig::GITHUB_SIGNATURE),
        header(&req, sig::GITHUB_SIGNATURE_SHA1),
    );
    let source = first_match(
        &ci.config.github,
        system,
        |_, s| match (sha256, s.accept_sha1) {
            (None, true) => sig::verify_github_sha1(s.secret.expose(), sha1, &body.0),
            _ => sig::verify_github(s.secret.expose(), sha256, &body.0),
        },
        |s| &s.name,
    )
    .map_err(|e| refused(system, e))?;
    if is_form(&req) {
        return Err(refused(system, CiError::Form));
    }
    let event = github::parse(header(&req, "X-GitHub-Event").unwrap_or(""), &body.0);
    let verified = Verified {
        source,
        delivery: header(&req, "X-GitHub-Delivery").map(str::to_string),
    };
    finish(&inbound, &**store, system, verified, event).await
}

/// `POST /ci/gitlab`.
pub async fn gitlab(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, CiError> {
    let system = System::Gitlab;
    let ci = config(&inbound);
    configured(system, &ci.config.gitlab)?;
    let headers = sig::StandardHeaders {
        id: header(&req, sig::WEBHOOK_ID),
        timestamp: header(&req, sig::WEBHOOK_TIMESTAMP),
        signature: header(&req, sig::WEBHOOK_SIGNATURE),
    };
    let token = header(&req, sig::GITLAB_TOKEN);
    let now = now_ms() / 1000;
    let source = first_match(
        &ci.config.gitlab,
        system,
        |i, s| {
            if let Some(key) = ci.gitlab_keys.get(i).and_then(Option::as_ref) {
                sig::verify_gitlab_signature(key, headers, &body.0, now)?;
                // Both configured: the token must match as well.
                if let Some(t) = &s.token {
                    sig::verify_gitlab_token(t.expose(), token)?;
                }
                Ok(())
            } else if let Some(t) = &s.token {
                sig::verify_gitlab_token(t.expose(), token)
            } else {
                Err(VerifyError::Unauthenticated)
            }
        },
        |s| &s.name,
    )
    .map_err(|e| refused(system, e))?;
    let event = gitlab::parse(header(&req, "X-Gitlab-Event").unwrap_or(""), &body.0);
    let verified = Verified {
        source,
        delivery: header(&req, "Idempotency-Key")
            .or(headers.id)
            .map(str::to_string),
    };
    finish(&inbound, &**store, system, verified, event).await
}

/// `POST /ci/gitee`.
pub async fn gitee(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, CiError> {
    let system = System::Gitee;
    let ci = config(&inbound);
    configured(system, &ci.config.gitee)?;
    let (token, timestamp) = (
        header(&req, sig::GITEE_TOKEN),
        header(&req, sig::GITEE_TIMESTAMP),
    );
    let now = now_ms();
    let mut signed_at = None;
    let source = first_match(
        &ci.config.gitee,
        system,
        |_, s| match s.mode {
            GiteeMode::Signature => {
                signed_at = Some(sig::verify_gitee_signature(
                    s.secret.expose(),
                    token,
                    timestamp,
                    now,
                )?);
                Ok(())
            }
            GiteeMode::Password => sig::verify_gitee_password(s.secret.expose(), token),
        },
        |s| &s.name,
    )
    .map_err(|e| refused(system, e))?;
    if let (Some(ts), Some(token)) = (signed_at, token) {
        // The signature is a one-hour bearer token: each pair once.
        let expires = (ts + sig::GITEE_TOLERANCE_MS) / 1000 + 60;
        let pair = format!("{ts}\n{token}");
        match inbound
            .sighting("gitee-pair", &pair, expires, now / 1000)
            .await
        {
            Ok(Sighting::First) => {}
            Ok(Sighting::Repeat) => return Err(refused(system, CiError::Replay)),
            Err(_) => return Err(refused(system, CiError::Busy)),
        }
    }
    let event = gitee::parse(header(&req, "X-Gitee-Event"), &body.0);
    let verified = Verified {
        source,
        delivery: None,
    };
    finish(&inbound, &**store, system, verified, event).await
}

/// `POST /ci/gitea` (also Forgejo).
pub async fn gitea(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, CiError> {
    let system = System::Gitea;
    let ci = config(&inbound);
    configured(system, &ci.config.gitea)?;
    let (forgejo, gitea) = (
        header(&req, sig::FORGEJO_SIGNATURE),
        header(&req, sig::GITEA_SIGNATURE),
    );
    let source = first_match(
        &ci.config.gitea,
        system,
        |_, s| sig::verify_gitea(s.secret.expose(), forgejo, gitea, &body.0),
        |s| &s.name,
    )
    .map_err(|e| refused(system, e))?;
    if is_form(&req) {
        return Err(refused(system, CiError::Form));
    }
    let event_name = header(&req, "X-Forgejo-Event")
        .or(header(&req, "X-Gitea-Event"))
        .unwrap_or("");
    let event = github::parse(event_name, &body.0);
    let verified = Verified {
        source,
        delivery: header(&req, "X-Forgejo-Delivery")
            .or(header(&req, "X-Gitea-Delivery"))
            .map(str::to_string),
    };
    finish(&inbound, &**store, system, verified, event).await
}

/// `POST /ci/jenkins`: the Notification plugin, with `user:password@` in its URL.
pub async fn jenkins(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> Result<HttpResponse, CiError> {
    let system = System::Jenkins;
    let ci = config(&inbound);
    configured(system, &ci.config.jenkins)?;
    let authorization = header(&req, sig::AUTHORIZATION);
    let source = first_match(
        &ci.config.jenkins,
        system,
        |_, s| match &s.push_password {
            Some(p) => sig::verify_basic(&s.push_user, p.expose(), authorization),
            None => Err(VerifyError::Unauthenticated),
        },
        |s| &s.name,
    )
    .map_err(|e| refused(system, e))?;
    let event = jenkins::parse(&body.0);
    let verified = Verified {
        source,
        delivery: None,
    };
    finish(&inbound, &**store, system, verified, event).await
}
