//! `GET /a/{token}` and `POST /a/{token}`: the pages behind the signed action
//! links that card buttons open on platforms whose bots cannot call back
//! (Feishu custom bot, DingTalk custom robot, WeCom robot, Slack, email).
//!
//! - **GET** checks the token (signature, expiry) and shows a small
//!   confirmation page: the alert, one button, and a name field. It never
//!   changes anything: link previews and prefetchers fetch GETs.
//! - **POST** (form `name=…`) checks the token again, then acts through
//!   [`Ops`] as `{name}` via `link`, marking the link used in the same
//!   transaction (so each link acts at most once, across replicas and
//!   crashes), and remembers the name in the `ackbot_name` cookie.
//!
//! Pages are plain HTML with inline CSS and no script or external resource,
//! under a CSP that allows nothing else; every alert field is escaped. A
//! refusal is a page too (these are opened by people in an in-app browser),
//! and changes nothing: 400 for a malformed or tampered token, 410 Gone for
//! an expired or already used one, 404 when links are not configured.

use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{TimeZone, Utc};
use futures_util::StreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::act::ops::{Act, Done, Ops, short};
use crate::config::{Config, Secret};
use crate::store::{Actor, AlertRecord, LinkUse, Store, StoreError};
use crate::verify::VerifyError;
use crate::verify::links::{Grant, verify};

/// The cookie that remembers who clicked last, for the name field.
pub const NAME_COOKIE: &str = "ackbot_name";
/// Longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Largest form body read: a name and some slack for what browsers add.
pub const MAX_FORM_BYTES: usize = 2048;
/// Longer tokens are refused before any crypto (ours are ~100 bytes).
const MAX_TOKEN_BYTES: usize = 1024;
const COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// What the link pages need from the config, registered as app data;
/// replaced on a config reload.
pub struct LinkPages {
    /// `[links] secret`; `None` when links are not configured (pages 404).
    secret: arc_swap::ArcSwapOption<Secret>,
}

impl LinkPages {
    pub fn from_config(config: &Config) -> Self {
        let this = Self {
            secret: arc_swap::ArcSwapOption::empty(),
        };
        this.reconfigure(config);
        this
    }

    pub fn reconfigure(&self, config: &Config) {
        self.secret.store(
            config
                .links
                .as_ref()
                .map(|l| std::sync::Arc::new(l.secret.clone())),
        );
    }
}

/// The actions a link may carry, with the words of its button.
fn action(name: &str) -> Option<(Act, &'static str, &'static str)> {
    let (verb, question) = match name {
        "ack" => ("Acknowledge", "Acknowledge this alert?"),
        "silence_1h" => ("Silence for 1 hour", "Silence this alert for 1 hour?"),
        "resolve" => ("Resolve", "Resolve this alert?"),
        _ => return None,
    };
    Some((Act::from_value(name, None).ok()?, verb, question))
}

/// `sha256_hex(token)`: what the store records as used, so the stored id
/// cannot be turned back into a working link.
pub fn link_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A valid token's grant with its action, or the page that says why not.
fn check(pages: &LinkPages, token: &str) -> Result<(Grant, Act, &'static str, &'static str), Page> {
    let grant = grant(pages, token)?;
    let Some((act, verb, question)) = action(&grant.action) else {
        return Err(Page::invalid_link());
    };
    Ok((grant, act, verb, question))
}

/// A token whose signature and expiry hold, whatever it grants.
fn grant(pages: &LinkPages, token: &str) -> Result<Grant, Page> {
    let Some(secret) = pages.secret.load_full() else {
        return Err(Page::error(
            StatusCode::NOT_FOUND,
            "Links are not enabled",
            "This ackbot does not serve action links (it has no <code>[links]</code> section). \
             Act on the alert from the chat instead.",
        ));
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Page::invalid_link());
    }
    let grant = match verify(secret.expose().as_bytes(), token, Utc::now().timestamp()) {
        Ok(g) => g,
        Err(VerifyError::TimestampTooOld { .. }) => {
            return Err(Page::error(
                StatusCode::GONE,
                "This link has expired",
                "Action links work for a limited time after the alert was sent, and this one's \
                 time is up. Nothing was changed. Use a button on a newer message about the \
                 alert, or act on it from the chat.",
            )
            .refusal("stale_timestamp"));
        }
        Err(_) => return Err(Page::invalid_link()),
    };
    Ok(grant)
}

/// Alerts the list page shows at most.
const LIST_MAX: u32 = 500;

/// The page behind a digest's "see all" link: every firing and
/// acknowledged alert, newest first. It only reads.
async fn list_page(store: &dyn Store) -> Page {
    let now = Utc::now();
    let mut alerts = Vec::new();
    for state in ["firing", "acknowledged"] {
        match store.list(Some(state), LIST_MAX, now).await {
            Ok(found) => alerts.extend(found),
            Err(e) => return Page::unavailable(e),
        }
    }
    alerts.sort_by_key(|a| std::cmp::Reverse(a.last_seen));
    alerts.truncate(LIST_MAX as usize);
    let rows: String = alerts
        .iter()
        .map(|a| {
            format!(
                "<li class=\"sev-{sev}\"><span class=\"badge\">{sev}</span> <strong>{title}</strong>\
                 <br><span class=\"fine\">{service} · {state} · ×{count} · last seen {last} · <code>{id}</code></span></li>\n",
                sev = esc(a.severity.as_str()),
                title = esc(&a.title),
                service = a.service.as_deref().map_or("—".to_string(), esc),
                state = esc(a.state),
                count = a.count,
                last = a.last_seen.format("%Y-%m-%d %H:%M UTC"),
                id = esc(short(&a.id)),
            )
        })
        .collect();
    let count = alerts.len();
    Page::new(
        StatusCode::OK,
        "Open alerts",
        format!(
            "<h1>Open alerts</h1>\n<p class=\"fine\">{count} firing or acknowledged, newest first \
             (at most {LIST_MAX}). Act on one from the chat: <code>ack &lt;id&gt;</code>.</p>\n\
             <ul class=\"list\">\n{rows}</ul>\n"
        ),
    )
}

async fn load(store: &dyn Store, id: &str) -> Result<AlertRecord, Page> {
    match store.get(id).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(Page::error(
            StatusCode::NOT_FOUND,
            "No such alert",
            &format!(
                "The alert <code>{}</code> this link is for is not known here. Nothing was changed.",
                esc(short(id))
            ),
        )),
        Err(e) => Err(Page::unavailable(e)),
    }
}

/// `GET /a/{token}`: the confirmation page. Reads only.
#[tracing::instrument(name = "link_page", skip_all)]
pub async fn confirm(
    req: HttpRequest,
    token: web::Path<String>,
    pages: web::Data<LinkPages>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let result = async {
        if grant(&pages, &token)?.action == crate::verify::links::LIST_ACTION {
            return Ok(list_page(&**store).await);
        }
        let (grant, _, verb, question) = check(&pages, &token)?;
        let alert = load(&**store, &grant.alert_id).await?;
        let name = name_from_cookie(&req).unwrap_or_default();
        Ok::<_, Page>(Page::form(
            StatusCode::OK,
            &alert,
            &grant,
            verb,
            question,
            &name,
            None,
        ))
    }
    .await;
    result.unwrap_or_else(|page| page).into_response()
}

#[derive(Deserialize)]
struct NameForm {
    name: Option<String>,
}

/// `POST /a/{token}`: does it, once.
#[tracing::instrument(name = "link_action", skip_all)]
pub async fn act(
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Payload,
    pages: web::Data<LinkPages>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let result = async {
        let (grant, act, verb, question) = check(&pages, &token)?;
        let form = read_form(body).await?;
        let alert = load(&**store, &grant.alert_id).await?;
        let name = match valid_name(form.name.as_deref().unwrap_or("")) {
            Ok(name) => name,
            Err(why) => {
                let typed = form.name.unwrap_or_default();
                return Err(Page::form(
                    StatusCode::BAD_REQUEST,
                    &alert,
                    &grant,
                    verb,
                    question,
                    &typed,
                    Some(why),
                ));
            }
        };
        let now = Utc::now();
        let link = LinkUse {
            id: link_id(&token),
            expires_at: Utc.timestamp_opt(grant.expires, 0).single().unwrap_or(now),
        };
        let ops = Ops {
            store: store.clone().into_inner(),
        };
        let actor = Actor::new(&name, "link");
        // The link is marked used in the action's own transaction: both
        // happen, or neither does.
        let done = match ops
            .act_once(&grant.alert_id, act, &actor, Some(&link), now)
            .await
        {
            Ok(done) => done,
            Err(StoreError::LinkUsed) => {
                return Err(Page::error(
                    StatusCode::GONE,
                    "This link was already used",
                    "Each action link works once, and this one has already been used. Nothing \
                     was changed now. To see or change the alert, use a newer message's button \
                     or the chat.",
                )
                .refusal("replay"));
            }
            Err(e) => return Err(Page::unavailable(e)),
        };
        tracing::info!(
            alert_id = %grant.alert_id,
            action = %grant.action,
            actor = %actor.name(),
            outcome = outcome(&done),
            "action through a signed link"
        );
        let page = Page::result(&done, act, &alert);
        Ok::<_, Page>(page.with_cookie(name_cookie(actor.name(), is_https(&req))))
    }
    .await;
    result.unwrap_or_else(|page| page).into_response()
}

fn outcome(done: &Done) -> &'static str {
    match done {
        Done::Changed(_) => "changed",
        Done::Already(_) => "already",
        Done::Refused(_) => "refused",
        Done::NotFound(_) => "not_found",
        Done::Ambiguous(..) => "ambiguous",
    }
}

/// Reads at most [`MAX_FORM_BYTES`] of an `application/x-www-form-urlencoded` body.
async fn read_form(mut body: web::Payload) -> Result<NameForm, Page> {
    let too_large = || {
        Page::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "That was too much",
            "The form sent more than this page accepts. Nothing was changed; go back and try again.",
        )
    };
    let mut buf = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            Page::error(
                StatusCode::BAD_REQUEST,
                "The form did not arrive",
                "The form could not be read. Nothing was changed; go back and try again.",
            )
        })?;
        if buf.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    // The urlencoded form syntax is the query string's: parse it the same way.
    let text = String::from_utf8_lossy(&buf);
    Ok(web::Query::<NameForm>::from_query(&text)
        .map(web::Query::into_inner)
        .unwrap_or(NameForm { name: None }))
}

/// The name as it goes into the audit trail, or what is wrong with it.
fn valid_name(raw: &str) -> Result<String, &'static str> {
    // Control, bidi and invisible characters are dropped, so a name cannot
    // make "acknowledged by" read as something else.
    let name = crate::domain::human::name(raw, MAX_NAME_CHARS + 1);
    if name.is_empty() {
        return Err("Please type your name: it is recorded with the action.");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("That name is too long: 64 characters at most.");
    }
    Ok(name)
}

/// The remembered name from the `ackbot_name` cookie, if it is still a valid one.
fn name_from_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == NAME_COOKIE)
        .and_then(|(_, v)| percent_decode_str(v.trim_matches('"')).decode_utf8().ok())
        .and_then(|v| valid_name(&v).ok())
}

/// Everything but unreserved characters is percent-encoded, so any name fits
/// in a cookie value.
const COOKIE_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

fn name_cookie(name: &str, secure: bool) -> String {
    format!(
        "{NAME_COOKIE}={}; Path=/a; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{}",
        utf8_percent_encode(name, COOKIE_VALUE),
        if secure { "; Secure" } else { "" }
    )
}

/// Over TLS here, or (behind a proxy that terminates it) as the proxy says.
fn is_https(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

// ------------------------------------------------------------------ pages

/// An HTML page with its status, and perhaps a cookie to set.
struct Page {
    status: StatusCode,
    title: String,
    body: String,
    cookie: Option<String>,
    refusal: Option<&'static str>,
}

impl Page {
    fn new(status: StatusCode, title: &str, body: String) -> Self {
        Self {
            status,
            title: title.to_string(),
            body,
            cookie: None,
            refusal: None,
        }
    }

    /// Counted as a refused link (`ackbot_callbacks_refused_total`).
    fn refusal(mut self, reason: &'static str) -> Self {
        self.refusal = Some(reason);
        self
    }

    /// A refusal: `message_html` is trusted markup (escape what goes in it).
    fn error(status: StatusCode, title: &str, message_html: &str) -> Self {
        Self::new(
            status,
            title,
            format!(
                "<h1>{}</h1>\n<p class=\"msg bad\">{message_html}</p>\n",
                esc(title)
            ),
        )
    }

    fn invalid_link() -> Self {
        Self::error(
            StatusCode::BAD_REQUEST,
            "This link is not valid",
            "The link is incomplete or was changed: its signature does not match. Nothing was \
             changed. Open the button from the message again, or act on the alert from the chat.",
        )
        .refusal("bad_signature")
    }

    fn unavailable(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "link page: storage failure");
        Self::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "ackbot cannot reach its storage right now. Nothing was changed; try again in a moment.",
        )
    }

    fn form(
        status: StatusCode,
        alert: &AlertRecord,
        grant: &Grant,
        verb: &str,
        question: &str,
        name: &str,
        problem: Option<&str>,
    ) -> Self {
        let expires = Utc
            .timestamp_opt(grant.expires, 0)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let problem = problem
            .map(|p| format!("<p class=\"msg bad\" role=\"alert\">{}</p>\n", esc(p)))
            .unwrap_or_default();
        Self::new(
            status,
            question,
            format!(
                "<h1>{question}</h1>\n{alert}{problem}\
                 <form method=\"post\">\n\
                 <label for=\"name\">Your name</label>\n\
                 <input id=\"name\" name=\"name\" type=\"text\" value=\"{name}\" maxlength=\"{MAX_NAME_CHARS}\" \
                 required autocomplete=\"name\" autocapitalize=\"words\" spellcheck=\"false\">\n\
                 <button type=\"submit\" class=\"act-{action}\">{verb}</button>\n\
                 </form>\n\
                 <p class=\"fine\">This link works once, until {expires}. Your name is recorded \
                 with the action and remembered on this device for the next link.</p>\n",
                question = esc(question),
                alert = alert_html(alert),
                name = esc(name),
                action = esc(&grant.action),
                verb = esc(verb),
            ),
        )
    }

    fn result(done: &Done, act: Act, before: &AlertRecord) -> Self {
        let (status, title, class) = match done {
            Done::Changed(_) => (StatusCode::OK, "Done", "good"),
            Done::Already(_) => (StatusCode::OK, "Nothing to do", "info"),
            Done::Refused(_) => (StatusCode::CONFLICT, "Not done", "bad"),
            Done::NotFound(_) | Done::Ambiguous(..) => {
                (StatusCode::NOT_FOUND, "No such alert", "bad")
            }
        };
        let alert = done.record().unwrap_or(before);
        Self::new(
            status,
            title,
            format!(
                "<h1>{}</h1>\n<p class=\"msg {class}\" role=\"status\" id=\"result\">{}</p>\n{}\
                 <p class=\"fine\">You can close this page.</p>\n",
                esc(title),
                esc(&done.say(act)),
                alert_html(alert),
            ),
        )
    }

    fn with_cookie(mut self, cookie: String) -> Self {
        self.cookie = Some(cookie);
        self
    }

    fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.content_type("text/html; charset=utf-8")
            .insert_header((CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
            .insert_header((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
            .insert_header((REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
            .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(cookie) = self.cookie {
            // Only unreserved characters and fixed text: always a valid header.
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.insert_header((header::SET_COOKIE, v));
            }
        }
        let res = res.body(html(&self.title, &self.body));
        match self.refusal {
            Some(reason) => super::error::refused(res, reason),
            None => res,
        }
    }
}

/// The alert as the pages show it: title, severity, service, state.
fn alert_html(a: &AlertRecord) -> String {
    let state = match (&a.acked_by, a.state) {
        (Some(by), "acknowledged") => format!("acknowledged by {}", esc(by)),
        (_, "silenced") => match a.silenced_until {
            Some(t) => format!("silenced until {}", t.format("%Y-%m-%d %H:%M UTC")),
            None => "silenced".to_string(),
        },
        (_, s) => esc(s),
    };
    format!(
        "<section class=\"alert sev-{sev}\">\n\
         <p class=\"title\" id=\"alert-title\">{title}</p>\n\
         <dl>\n\
         <dt>Severity</dt><dd><span class=\"badge\">{sev}</span></dd>\n\
         <dt>Service</dt><dd>{service}</dd>\n\
         <dt>State</dt><dd id=\"alert-state\">{state}</dd>\n\
         <dt>Alert</dt><dd><code>{id}</code></dd>\n\
         </dl>\n\
         </section>\n",
        sev = esc(a.severity.as_str()),
        title = esc(&a.title),
        service = a.service.as_deref().map_or("—".to_string(), esc),
        id = esc(short(&a.id)),
    )
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;padding:16px;background:#f4f5f7;color:#1f2329;\
font:16px/1.5 -apple-system,BlinkMacSystemFont,\"Segoe UI\",\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\",Roboto,sans-serif}\
main{max-width:480px;margin:0 auto;background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.08)}\
h1{font-size:20px;margin:0 0 16px}\
.alert{border-left:4px solid #8f959e;padding:4px 0 4px 12px;margin:0 0 16px}\
.sev-critical{border-color:#d83931}.sev-error{border-color:#e8710a}\
.sev-warning{border-color:#d9a400}.sev-info{border-color:#3370ff}\
.title{font-weight:600;font-size:17px;margin:0 0 8px;overflow-wrap:anywhere}\
dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}\
dt{color:#646a73}dd{margin:0;overflow-wrap:anywhere}\
.badge{display:inline-block;padding:0 8px;border-radius:10px;background:#eff0f1;font-size:14px}\
.sev-critical .badge{background:#fde2e2;color:#a61d24}.sev-error .badge{background:#feead2;color:#a14f00}\
.sev-warning .badge{background:#faf1d1;color:#7a5c00}.sev-info .badge{background:#e1eaff;color:#1d4ed8}\
label{display:block;font-weight:600;margin:0 0 6px}\
input{width:100%;font:inherit;padding:10px 12px;border:1px solid #d0d3d6;border-radius:8px;margin:0 0 14px}\
button{width:100%;font:inherit;font-weight:600;padding:12px;border:0;border-radius:8px;background:#3370ff;color:#fff}\
button.act-resolve{background:#2ea121}button.act-silence_1h{background:#646a73}\
.msg{padding:10px 12px;border-radius:8px;margin:0 0 16px;overflow-wrap:anywhere}\
.good{background:#e4f7e0;color:#1f6b16}.info{background:#e1eaff;color:#1d3d8f}.bad{background:#fde2e2;color:#8f1d1d}\
.fine{color:#646a73;font-size:13px;margin:16px 0 0}\
.list{list-style:none;padding:0;margin:0}.list li{border-left:4px solid #8f959e;padding:6px 0 6px 10px;margin:0 0 8px;overflow-wrap:anywhere}\
.list .fine{margin:0}\
code{font-family:ui-monospace,Menlo,Consolas,monospace}";

fn html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <title>{} · ackbot</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("李雷"), "李雷");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Li Lei "), Ok("Li Lei".to_string()));
        assert!(valid_name("   ").is_err());
        assert!(valid_name(&"x".repeat(65)).is_err());
        assert_eq!(valid_name(&"雷".repeat(64)), Ok("雷".repeat(64)));
        assert_eq!(valid_name("a\nb"), Ok("a b".to_string()));
        assert_eq!(
            valid_name("Li Lei\u{202E}\u{200B}"),
            Ok("Li Lei".to_string())
        );
        assert!(valid_name("\u{202E}\u{200B}").is_err());
    }

    #[test]
    fn the_name_cookie_round_trips_any_name() {
        for name in ["Li Lei", "李雷", "a;b=c,\"d\"", "O'Brien"] {
            let set = name_cookie(name, true);
            assert!(HeaderValue::from_str(&set).is_ok(), "{set}");
            assert!(set.ends_with("; HttpOnly; SameSite=Lax; Secure"), "{set}");
            let value = set.split(';').next().unwrap();
            let req = actix_web::test::TestRequest::default()
                .insert_header((header::COOKIE, format!("other=1; {value}")))
                .to_http_request();
            assert_eq!(name_from_cookie(&req).as_deref(), Some(name));
        }
        assert!(!name_cookie("x", false).contains("Secure"));
    }

    #[test]
    fn only_the_three_button_actions_are_links() {
        assert!(action("ack").is_some());
        assert!(action("silence_1h").is_some());
        assert!(action("resolve").is_some());
        assert!(action("unack").is_none());
        assert!(action("silence").is_none());
    }

    #[test]
    fn the_link_id_is_the_tokens_sha256() {
        assert_eq!(
            link_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
