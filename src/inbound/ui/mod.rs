//! The web console at `/ui`: what people on call look at from a phone or a
//! desk — what is firing, who acknowledged what, which deliveries failed —
//! and the buttons to act.
//!
//! Server-rendered HTML through minijinja templates (auto-escaped: every
//! alert field is text, never markup), no script and no external resource,
//! under a CSP that allows nothing else. Sign-in against `[[ui.users]]`
//! (argon2id), rate-limited per address; sessions and CSRF tokens in
//! [`session`]. A `viewer` sees everything, an `operator` also acts; every
//! action goes through [`Ops`] as the signed-in user via `ui`, so it is in
//! the audit trail like a chat command. English, or Chinese when the
//! browser prefers it (`Accept-Language: zh…`).

mod overview;
pub mod session;
mod strings;

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use minijinja::{Environment, context};
use serde::{Deserialize, Serialize};

use self::session::Session;
use self::strings::Strings;
use crate::act::ops::{Act, Done, Ops};
use crate::config::Config;
use crate::config::ui::{Role, UiUser};
use crate::store::{Actor, AlertRecord, Store};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";
/// Alerts read for one list page, before filtering; and shown per page.
const SCAN: u32 = 1000;
const PAGE: usize = 50;
/// Sign-in attempts per address: a burst of 5, then one every 12 s.
const LOGIN_PER_MINUTE: u32 = 5;

type Limiter = governor::DefaultKeyedRateLimiter<IpAddr>;

/// The console's users, key and limits; replaced on a reload (the key and
/// the limiter stay).
pub struct Ui {
    users: arc_swap::ArcSwap<Vec<UiUser>>,
    ttl: arc_swap::ArcSwap<std::time::Duration>,
    key: Vec<u8>,
    secure: bool,
    limiter: Limiter,
    /// The channels and their rate budgets' spacing, for channel health.
    channels: arc_swap::ArcSwap<Vec<(String, Option<std::time::Duration>)>>,
}

fn channel_budgets(config: &Config) -> Vec<(String, Option<std::time::Duration>)> {
    config
        .channels
        .iter()
        .map(|c| (c.name.clone(), crate::delivery::limits::interval(c.rates())))
        .collect()
}

impl Ui {
    pub fn from_config(config: &Config) -> Self {
        let key = match &config.ui.secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => {
                let mut k = vec![0u8; 32];
                getrandom::fill(&mut k).expect("OS random source");
                k
            }
        };
        Self {
            users: arc_swap::ArcSwap::from_pointee(config.ui.users.clone()),
            ttl: arc_swap::ArcSwap::from_pointee(config.ui.session_ttl),
            key,
            secure: !config.server.insecure_http,
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(LOGIN_PER_MINUTE).expect("non-zero"),
            )),
            channels: arc_swap::ArcSwap::from_pointee(channel_budgets(config)),
        }
    }

    pub fn reconfigure(&self, config: &Config) {
        self.users.store(Arc::new(config.ui.users.clone()));
        self.ttl.store(Arc::new(config.ui.session_ttl));
        self.channels.store(Arc::new(channel_budgets(config)));
    }

    /// The signed-in user of this request, still in `[[ui.users]]` with
    /// the role the session was signed with, or not signed in.
    fn session(&self, req: &HttpRequest) -> Option<(Session, String)> {
        let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
        let value = session::cookie(header, session::COOKIE)?;
        let s = session::open(&self.key, value, Utc::now().timestamp())?;
        let users = self.users.load();
        let user = users.iter().find(|u| u.name == s.name)?;
        (user.role == s.role).then(|| (s, value.to_string()))
    }

    /// The signed-in operator posting a form with its CSRF token; else the
    /// answer to give (to the sign-in page, or 403).
    fn operator(&self, req: &HttpRequest, csrf: &str) -> Result<Session, HttpResponse> {
        let Some((s, value)) = self.session(req) else {
            return Err(redirect("/ui/login"));
        };
        if !session::csrf_ok(&self.key, &value, csrf) || s.role != Role::Operator {
            return Err(forbidden(req));
        }
        Ok(s)
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        format!(
            "{name}={value}; Path=/ui; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
            if self.secure { "; Secure" } else { "" }
        )
    }
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("alerts.html", include_str!("templates/alerts.html")),
            ("alert.html", include_str!("templates/alert.html")),
            ("silences.html", include_str!("templates/silences.html")),
            ("deliveries.html", include_str!("templates/deliveries.html")),
            ("overview.html", include_str!("templates/overview.html")),
        ] {
            env.add_template(name, text).expect("the templates parse");
        }
        env
    })
}

/// A rendered page with the console's headers.
fn page(status: StatusCode, name: &str, ctx: minijinja::Value) -> HttpResponse {
    let body = match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(template = name, error = %e, "ui: cannot render");
            return HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("ackbot could not render this page");
        }
    };
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    res.body(body)
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/ui/alerts")),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

fn strings(req: &HttpRequest) -> &'static Strings {
    let zh = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("zh"));
    if zh { &strings::ZH } else { &strings::EN }
}

#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    role: &'a str,
}

/// `GET /ui`: the alerts, or the sign-in page.
pub async fn home() -> HttpResponse {
    redirect("/ui/alerts")
}

pub async fn login_page(req: HttpRequest, inbound: web::Data<super::Inbound>) -> HttpResponse {
    login_form(&req, &inbound.ui, StatusCode::OK, None, "")
}

/// The sign-in form, with a fresh pre-session cookie and its CSRF token.
fn login_form(
    req: &HttpRequest,
    ui: &Ui,
    status: StatusCode,
    notice: Option<&str>,
    name: &str,
) -> HttpResponse {
    let t = strings(req);
    let pre = crate::store::new_id();
    let csrf = session::csrf(&ui.key, &pre);
    let mut res = page(
        status,
        "login.html",
        context! { t => t, csrf => csrf, notice => notice, name => name, user => () },
    );
    if let Ok(v) = HeaderValue::from_str(&ui.cookie(session::LOGIN_COOKIE, &pre, 3600)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

pub async fn login(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let t = strings(&req);
    let pre = req
        .headers()
        .get(header::COOKIE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| session::cookie(h, session::LOGIN_COOKIE))
        .map(str::to_string);
    if !pre
        .as_deref()
        .is_some_and(|p| session::csrf_ok(&ui.key, p, &form.csrf))
    {
        return login_form(&req, ui, StatusCode::FORBIDDEN, Some(t.expired_form), "");
    }
    let ip = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if ui.limiter.check_key(&ip).is_err() {
        return login_form(
            &req,
            ui,
            StatusCode::TOO_MANY_REQUESTS,
            Some(t.slow_down),
            &form.name,
        );
    }
    let users = ui.users.load_full();
    let user = users.iter().find(|u| u.name == form.name).cloned();
    // Unknown names cost a hash check too: the answer's time says nothing.
    let hash = user
        .as_ref()
        .map_or_else(dummy_hash, |u| u.password_hash.expose().to_string());
    let password = form.password.clone();
    let ok = web::block(move || crate::config::ui::verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        tracing::warn!(name = %crate::domain::human::name(&form.name, 64), "ui: sign-in refused");
        return login_form(
            &req,
            ui,
            StatusCode::UNAUTHORIZED,
            Some(t.wrong_password),
            &form.name,
        );
    };
    let ttl = i64::try_from(ui.ttl.load().as_secs()).unwrap_or(12 * 3600);
    let s = Session {
        name: user.name.clone(),
        role: user.role,
        expires: Utc::now().timestamp() + ttl,
    };
    tracing::info!(name = %user.name, role = user.role.as_str(), "ui: signed in");
    let mut res = redirect("/ui/alerts");
    for c in [
        ui.cookie(session::COOKIE, &session::seal(&ui.key, &s), ttl),
        ui.cookie(session::LOGIN_COOKIE, "", 0),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// A hash that no password matches, checked for unknown names.
fn dummy_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| crate::config::ui::hash_password(&crate::store::new_id()))
        .clone()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn logout(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let ui = &inbound.ui;
    if let Some((_, value)) = ui.session(&req) {
        if !session::csrf_ok(&ui.key, &value, &form.csrf) {
            return forbidden(&req);
        }
    }
    let mut res = redirect("/ui/login");
    if let Ok(v) = HeaderValue::from_str(&ui.cookie(session::COOKIE, "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn forbidden(req: &HttpRequest) -> HttpResponse {
    let t = strings(req);
    HttpResponse::Forbidden()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(t.forbidden)
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[derive(Serialize)]
struct AlertRow {
    id: String,
    title: String,
    state: &'static str,
    state_label: &'static str,
    severity: &'static str,
    service: String,
    count: i64,
    last_seen: String,
    acked_by: Option<String>,
    inhibited: bool,
}

impl AlertRow {
    fn of(a: &AlertRecord, t: &Strings) -> Self {
        Self {
            id: a.id.clone(),
            title: a.title.clone(),
            state: a.state,
            state_label: t.state(a.state),
            severity: a.severity.as_str(),
            service: a.service.clone().unwrap_or_default(),
            count: a.count,
            last_seen: time(a.last_seen),
            acked_by: a.acked_by.clone(),
            inhibited: a.inhibited_by.is_some(),
        }
    }
}

/// Where an alert came from, as the console filters by it: its `source`
/// label (sentry, logs, ci, check), `heartbeat` for a heartbeat's, else
/// `api` (the alert API and its Alertmanager and Grafana webhooks).
fn source_of(a: &AlertRecord) -> &str {
    match a.labels.get("source") {
        Some(s) => s,
        None if a.labels.get("heartbeat").is_some() => "heartbeat",
        None => "api",
    }
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub struct Filters {
    state: String,
    severity: String,
    source: String,
    service: String,
    label: String,
    q: String,
    page: usize,
}

impl Filters {
    fn keeps(&self, a: &AlertRecord) -> bool {
        let q = self.q.to_lowercase();
        (self.severity.is_empty() || a.severity.as_str() == self.severity)
            && (self.source.is_empty() || source_of(a) == self.source)
            && (self.service.is_empty() || a.service.as_deref() == Some(self.service.as_str()))
            && (self.label.is_empty()
                || self.label.split_once('=').is_some_and(|(k, v)| {
                    a.labels.get(k.trim()) == Some(v.trim().trim_matches('"'))
                }))
            && (q.is_empty()
                || a.title.to_lowercase().contains(&q)
                || a.content.to_lowercase().contains(&q)
                || a.labels.iter().any(|(_, v)| v.to_lowercase().contains(&q)))
    }

    fn query(&self, page: usize) -> String {
        let e = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "/ui/alerts?state={}&severity={}&source={}&service={}&label={}&q={}&page={page}",
            e(&self.state),
            e(&self.severity),
            e(&self.source),
            e(&self.service),
            e(&self.label),
            e(&self.q)
        )
    }
}

pub async fn alerts(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    filters: web::Query<Filters>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let Some((s, value)) = ui.session(&req) else {
        return redirect("/ui/login");
    };
    let t = strings(&req);
    let state = match filters.state.as_str() {
        "" => None,
        st @ ("firing" | "acknowledged" | "silenced" | "resolved") => Some(st),
        _ => None,
    };
    let all = match store.list(state, SCAN, Utc::now()).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot list alerts");
            return unavailable(&req);
        }
    };
    let kept: Vec<&AlertRecord> = all.iter().filter(|a| filters.keeps(a)).collect();
    let mut sources: Vec<&str> = all.iter().map(source_of).collect();
    sources.push("api");
    if !filters.source.is_empty() {
        sources.push(&filters.source);
    }
    sources.sort_unstable();
    sources.dedup();
    let start = filters.page.saturating_mul(PAGE).min(kept.len());
    let end = (start + PAGE).min(kept.len());
    let rows: Vec<AlertRow> = kept[start..end]
        .iter()
        .map(|a| AlertRow::of(a, t))
        .collect();
    let next_page = (end < kept.len()).then(|| filters.query(filters.page + 1));
    page(
        StatusCode::OK,
        "alerts.html",
        context! {
            t => t,
            user => UserView { name: &s.name, role: s.role.as_str() },
            csrf => session::csrf(&ui.key, &value),
            alerts => rows,
            filters => &*filters,
            states => t.state_options(),
            severities => t.severity_options(),
            sources => sources,
            shown => end - start,
            total => kept.len(),
            next_page => next_page,
            notice => (),
        },
    )
}

fn unavailable(req: &HttpRequest) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("text/plain; charset=utf-8")
        .body(strings(req).unavailable)
}

#[derive(Serialize)]
struct EventRow {
    at: String,
    kind: String,
    actor: String,
    via: String,
}

#[derive(Serialize)]
struct DeliveryRow {
    channel: String,
    kind: &'static str,
    status: String,
    when: String,
    last_error: String,
}

#[derive(Serialize)]
struct Link {
    label: &'static str,
    url: String,
}

#[derive(Serialize)]
struct ActionButton {
    value: &'static str,
    label: &'static str,
}

pub async fn alert(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    id: web::Path<String>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let Some((s, value)) = ui.session(&req) else {
        return redirect("/ui/login");
    };
    let t = strings(&req);
    let loaded = async {
        let Some(a) = store.get(&id).await? else {
            return Ok(None);
        };
        let events = store.events(&a.id).await?;
        let deliveries = store.notifications(&a.id).await?;
        let next =
            crate::watch::escalations::next_step(store.as_ref(), &inbound.oncall.load(), &a.id)
                .await?;
        Ok::<_, crate::store::StoreError>(Some((a, events, deliveries, next)))
    }
    .await;
    let (a, events, deliveries, next) = match loaded {
        Ok(Some(x)) => x,
        Ok(None) => {
            return HttpResponse::NotFound()
                .content_type("text/plain; charset=utf-8")
                .body(t.not_found);
        }
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot read an alert");
            return unavailable(&req);
        }
    };
    let notice = query_notice(&req);
    let actions: Vec<ActionButton> = match a.state {
        "resolved" => vec![],
        "acknowledged" => vec![
            ActionButton {
                value: "unack",
                label: t.unack,
            },
            ActionButton {
                value: "resolve",
                label: t.resolve,
            },
            ActionButton {
                value: "silence",
                label: t.silence,
            },
        ],
        _ => vec![
            ActionButton {
                value: "ack",
                label: t.ack,
            },
            ActionButton {
                value: "resolve",
                label: t.resolve,
            },
            ActionButton {
                value: "silence",
                label: t.silence,
            },
        ],
    };
    page(
        StatusCode::OK,
        "alert.html",
        context! {
            t => t,
            user => UserView { name: &s.name, role: s.role.as_str() },
            csrf => session::csrf(&ui.key, &value),
            can_act => s.role == Role::Operator,
            actions => actions,
            alert => context! {
                id => &a.id, title => &a.title, content => &a.content,
                state => a.state, state_label => t.state(a.state),
                severity => a.severity.as_str(),
                source => source_of(&a),
                service => a.service.clone().unwrap_or_default(),
                count => a.count,
                first_seen => time(a.first_seen), last_seen => time(a.last_seen),
                acked_by => &a.acked_by, acked_at => a.acked_at.map(time),
                silenced_until => a.silenced_until.map(time),
                inhibited_by => &a.inhibited_by,
            },
            labels => a.labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
            links => crate::outbound::cards::text::annotation_links(&a)
                .into_iter()
                .map(|(label, url)| Link { label, url })
                .collect::<Vec<_>>(),
            next_step => next,
            events => events.iter().map(|e| EventRow {
                at: time(e.at), kind: e.kind.clone(), actor: e.actor.clone(), via: e.via.clone(),
            }).collect::<Vec<_>>(),
            deliveries => deliveries.iter().map(|d| DeliveryRow {
                channel: d.channel.clone().unwrap_or_else(|| "-".into()),
                kind: d.kind,
                status: d.status.clone(),
                when: time(d.sent_at.unwrap_or(d.due_at)),
                last_error: d.last_error.clone().unwrap_or_default(),
            }).collect::<Vec<_>>(),
            notice => notice,
        },
    )
}

/// `?done=…` after an action: what happened, in a few words (only our own
/// fixed words are shown, never the query's text).
fn query_notice(req: &HttpRequest) -> Option<&'static str> {
    let t = strings(req);
    req.query_string().split('&').find_map(|p| match p {
        "done=changed" => Some(t.done_changed),
        "done=unchanged" => Some(t.done_unchanged),
        "done=refused" => Some(t.done_refused),
        _ => None,
    })
}

pub async fn act(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let s = match inbound.ui.operator(&req, &form.csrf) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let (id, action) = path.into_inner();
    let act = match action.as_str() {
        "ack" => Act::Ack,
        "unack" => Act::Unack,
        "resolve" => Act::Resolve,
        "silence" => Act::Silence(chrono::Duration::hours(1)),
        _ => return forbidden(&req),
    };
    let ops = Ops {
        store: store.into_inner(),
    };
    let actor = Actor::new(&s.name, "ui");
    let done = match ops.act(&id, act, &actor, Utc::now()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot act");
            return unavailable(&req);
        }
    };
    let outcome = match &done {
        Done::Changed(_) => "changed",
        Done::Already(_) => "unchanged",
        _ => "refused",
    };
    let e = percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC);
    redirect(&format!("/ui/alerts/{e}?done={outcome}"))
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
pub struct SilenceForm {
    matchers: String,
    duration: String,
    comment: String,
    csrf: String,
}

impl SilenceForm {
    fn matchers(&self) -> Result<Vec<crate::domain::Matcher>, String> {
        let lines: Vec<String> = self
            .matchers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return Err("give at least one matcher".into());
        }
        crate::domain::matcher::parse_list(&lines).map_err(|e| e.to_string())
    }

    /// The silence this form asks for (refused as the API refuses it: a
    /// bad duration, matchers that would match everything).
    fn silence(&self, by: &str, now: DateTime<Utc>) -> Result<crate::domain::NewSilence, String> {
        let matchers = self.matchers()?;
        let duration = if self.duration.trim().is_empty() {
            "1h"
        } else {
            self.duration.trim()
        };
        let d = crate::domain::NewSilence::parse_duration("duration", duration)
            .map_err(|e| e.to_string())?;
        crate::domain::NewSilence::new(matchers, now, now + d, by, &self.comment, now)
            .map_err(|e| e.to_string())
    }
}

#[derive(Serialize)]
struct SilenceRow {
    id: String,
    status: &'static str,
    matchers: Vec<String>,
    comment: String,
    ends_at: String,
    created_by: String,
}

#[derive(Serialize)]
struct Preview {
    total: usize,
    alerts: Vec<AlertRow>,
}

/// `GET /ui/silences`: the silences, and (with `matchers`) a preview of
/// what a new one would silence now.
pub async fn silences(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    form: web::Query<SilenceForm>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let Some((s, value)) = ui.session(&req) else {
        return redirect("/ui/login");
    };
    let t = strings(&req);
    let now = Utc::now();
    let mut error = None;
    let mut preview = None;
    if !form.matchers.trim().is_empty() {
        match form.silence(&s.name, now) {
            Err(e) => error = Some(e),
            Ok(silence) => match store.list(None, SCAN, now).await {
                Ok(all) => {
                    let hits: Vec<&AlertRecord> = all
                        .iter()
                        .filter(|a| a.state != "resolved")
                        .filter(|a| {
                            let view = crate::domain::silence::match_labels(
                                &a.labels,
                                a.severity,
                                a.service.as_deref(),
                                &a.title,
                                &a.fingerprint,
                            );
                            crate::domain::matcher::all_match(&silence.matchers, &view)
                        })
                        .collect();
                    preview = Some(Preview {
                        total: hits.len(),
                        alerts: hits.iter().take(20).map(|a| AlertRow::of(a, t)).collect(),
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "ui: cannot list alerts");
                    return unavailable(&req);
                }
            },
        }
    }
    let list = match store.list_silences(true, now).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot list silences");
            return unavailable(&req);
        }
    };
    let rows: Vec<SilenceRow> = list
        .iter()
        .take(200)
        .map(|x| SilenceRow {
            id: x.id.clone(),
            status: x.status,
            matchers: x.matchers.iter().map(ToString::to_string).collect(),
            comment: x.comment.clone(),
            ends_at: time(x.ends_at),
            created_by: x.created_by.clone(),
        })
        .collect();
    page(
        StatusCode::OK,
        "silences.html",
        context! {
            t => t,
            user => UserView { name: &s.name, role: s.role.as_str() },
            csrf => session::csrf(&ui.key, &value),
            can_act => s.role == Role::Operator,
            form => &*form,
            error => error,
            preview => preview,
            silences => rows,
            notice => query_notice(&req),
        },
    )
}

/// `POST /ui/silences`: creates the previewed silence as the signed-in user.
pub async fn create_silence(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    form: web::Form<SilenceForm>,
) -> HttpResponse {
    let s = match inbound.ui.operator(&req, &form.csrf) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let now = Utc::now();
    let silence = match form.silence(&s.name, now) {
        Ok(x) => x,
        Err(_) => return redirect("/ui/silences?done=refused"),
    };
    match store.create_silence(&silence, None, None, now).await {
        Ok(_) => redirect("/ui/silences?done=changed"),
        Err(crate::store::StoreError::Limit(_)) => redirect("/ui/silences?done=refused"),
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot create a silence");
            unavailable(&req)
        }
    }
}

/// `POST /ui/silences/{id}/expire`: ends it now.
pub async fn expire_silence(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let s = match inbound.ui.operator(&req, &form.csrf) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    match store.expire_silence(&id, Utc::now()).await {
        Ok(Some(_)) => {
            // Silences have no audit trail of their own: the log says who.
            tracing::info!(by = %s.name, silence = %crate::domain::human::name(&id, 64), "ui: silence ended");
            redirect("/ui/silences?done=changed")
        }
        Ok(None) => redirect("/ui/silences?done=refused"),
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot end a silence");
            unavailable(&req)
        }
    }
}

#[derive(Serialize)]
struct FailedRow {
    id: i64,
    alert_id: String,
    title: String,
    kind: String,
    status: String,
    attempts: i64,
    last_error: String,
    created_at: String,
}

#[derive(Serialize)]
struct ChannelFailures {
    name: String,
    rows: Vec<FailedRow>,
}

/// `GET /ui/deliveries`: failed and dead deliveries per channel, with the
/// platform's last answer, to retry once what made it refuse is fixed.
pub async fn deliveries(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let Some((s, value)) = ui.session(&req) else {
        return redirect("/ui/login");
    };
    let t = strings(&req);
    let failed = match store.failed_deliveries(500).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot list failed deliveries");
            return unavailable(&req);
        }
    };
    let mut channels: Vec<ChannelFailures> = Vec::new();
    for d in failed {
        let name = d.channel.clone().unwrap_or_else(|| "-".into());
        let row = FailedRow {
            id: d.id,
            alert_id: d.alert_id,
            title: d.title,
            kind: d.kind,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error.unwrap_or_default(),
            created_at: crate::store::from_ms(d.created_at)
                .map(time)
                .unwrap_or_default(),
        };
        match channels.iter_mut().find(|c| c.name == name) {
            Some(c) => c.rows.push(row),
            None => channels.push(ChannelFailures {
                name,
                rows: vec![row],
            }),
        }
    }
    page(
        StatusCode::OK,
        "deliveries.html",
        context! {
            t => t,
            user => UserView { name: &s.name, role: s.role.as_str() },
            csrf => session::csrf(&ui.key, &value),
            can_act => s.role == Role::Operator,
            channels => channels,
            notice => query_notice(&req),
        },
    )
}

/// `POST /ui/alerts/{id}/deliveries/{delivery}/retry`.
pub async fn retry_delivery(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    path: web::Path<(String, i64)>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let s = match inbound.ui.operator(&req, &form.csrf) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let (id, delivery) = path.into_inner();
    let actor = Actor::new(&s.name, "ui");
    match store
        .retry_delivery(&id, delivery, &actor, Utc::now())
        .await
    {
        Ok(crate::store::RetryOutcome::Requeued) => redirect("/ui/deliveries?done=changed"),
        Ok(_) => redirect("/ui/deliveries?done=refused"),
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot retry a delivery");
            unavailable(&req)
        }
    }
}

/// `POST /ui/channels/{name}/retry`: every failed or dead delivery of it.
pub async fn retry_channel(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    name: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let s = match inbound.ui.operator(&req, &form.csrf) {
        Ok(s) => s,
        Err(refused) => return refused,
    };
    let actor = Actor::new(&s.name, "ui");
    match store.retry_channel(&name, &actor, Utc::now()).await {
        Ok(0) => redirect("/ui/deliveries?done=unchanged"),
        Ok(_) => redirect("/ui/deliveries?done=changed"),
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot retry a channel");
            unavailable(&req)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OverviewQuery {
    range: String,
}

/// `GET /ui/overview`: alerts per hour by severity over 24 h or 7 d, the
/// noisiest alerts, time to acknowledge and resolve per service, and each
/// channel's health, drawn as inline SVG (no script).
pub async fn overview(
    req: HttpRequest,
    inbound: web::Data<super::Inbound>,
    store: web::Data<dyn Store>,
    query: web::Query<OverviewQuery>,
) -> HttpResponse {
    let ui = &inbound.ui;
    let Some((s, value)) = ui.session(&req) else {
        return redirect("/ui/login");
    };
    let t = strings(&req);
    let week = query.range == "7d";
    let hours = if week { 168 } else { 24 };
    let now = Utc::now();
    let rows = match store
        .overview(now - chrono::Duration::hours(hours), now)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "ui: cannot read the overview");
            return unavailable(&req);
        }
    };
    let histogram = overview::histogram(&rows.changes, now.timestamp_millis(), hours);
    let health = overview::health(&ui.channels.load(), &rows.channels, |ms| {
        crate::store::from_ms(ms).map(time).unwrap_or_default()
    });
    let most = rows.noisiest.first().map_or(1, |n| n.count.max(1)) as f64;
    let noisiest: Vec<_> = rows
        .noisiest
        .iter()
        .map(|n| {
            context! {
                id => &n.id, title => &n.title, severity => &n.severity,
                service => n.service.clone().unwrap_or_default(),
                state => &n.state, state_label => t.state(&n.state),
                count => n.count,
                width => (n.count as f64 / most * 100.0).round(),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "overview.html",
        context! {
            t => t,
            user => UserView { name: &s.name, role: s.role.as_str() },
            csrf => session::csrf(&ui.key, &value),
            week => week,
            width => overview::WIDTH,
            height => overview::HEIGHT,
            histogram => histogram,
            cut => rows.cut,
            noisiest => noisiest,
            timings => overview::timings(&rows.changes),
            health => health,
            notice => (),
        },
    )
}
