//! A channel's own title and body (`title_template`, `body_template`):
//! MiniJinja, sandboxed (no file or network access, its fuel bounded), in
//! place of the alert's title and content on that channel's cards. The
//! output goes through the card's renderer like any alert text, so it is
//! still escaped for the platform's markup and cut to its size limit.
//!
//! The variables mirror what Alertmanager templates give: `labels.alertname`
//! for `.Labels.alertname`, `annotations.summary` for `.Annotations.summary`,
//! `status` for `.Status`, `starts_at` for `.StartsAt`; and ackbot's own
//! (`title`, `content`, `severity`, `service`, `state`, `count`,
//! `first_seen`, `last_seen`, `id`, `fingerprint`). A name that is none of
//! these is refused at load and on reload, with the template and the line;
//! a label or annotation an alert lacks renders empty, as Go's `missingkey`
//! default would not (it prints `<no value>`).

use std::sync::Arc;

use minijinja::value::{Object, Value};
use minijinja::{Environment, UndefinedBehavior, context};

use super::cards::Look;
use crate::store::AlertRecord;

/// Steps one template may take per render: far more than any card needs,
/// far fewer than a loop that would stall delivery.
const FUEL: u64 = 20_000;
/// Characters of template source, at most.
pub const MAX_SOURCE: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(pub String);

/// A channel's compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    title: bool,
    body: bool,
}

/// Any key is there (empty): the load check's labels and annotations.
#[derive(Debug)]
struct AnyKey;

impl Object for AnyKey {
    fn get_value(self: &Arc<Self>, _key: &Value) -> Option<Value> {
        Some(Value::from(""))
    }
}

fn environment(undefined: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    // Cards are not HTML: the renderer escapes for its platform.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

fn describe(channel: &str, which: &str, e: &minijinja::Error) -> TemplateError {
    let line = e.line().map(|l| format!(" line {l}")).unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    TemplateError(format!(
        "channel `{channel}` {which}{line}: {}{detail}",
        e.kind()
    ))
}

impl Templates {
    /// Compiles and checks a channel's templates; `None` when it has none.
    pub fn compile(
        channel: &str,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<Option<Self>, TemplateError> {
        if title.is_none() && body.is_none() {
            return Ok(None);
        }
        let mut check = environment(UndefinedBehavior::Strict);
        let mut env = environment(UndefinedBehavior::Lenient);
        for (which, source) in [("title_template", title), ("body_template", body)] {
            let Some(source) = source else { continue };
            if source.len() > MAX_SOURCE {
                return Err(TemplateError(format!(
                    "channel `{channel}` {which}: longer than {MAX_SOURCE} bytes"
                )));
            }
            check
                .add_template_owned(which, source.to_string())
                .map_err(|e| describe(channel, which, &e))?;
            env.add_template_owned(which, source.to_string())
                .map_err(|e| describe(channel, which, &e))?;
            // Every name it uses must be one of ours.
            let any = Value::from_object(AnyKey);
            let sample = context! {
                title => "", content => "", severity => "critical", service => "",
                state => "firing", status => "firing", count => 1, id => "", fingerprint => "",
                first_seen => "", last_seen => "", starts_at => "",
                labels => any.clone(), annotations => any,
            };
            check
                .get_template(which)
                .and_then(|t| t.render(sample))
                .map_err(|e| describe(channel, which, &e))?;
        }
        Ok(Some(Self {
            env,
            title: title.is_some(),
            body: body.is_some(),
        }))
    }

    /// The alert with its title and content rendered (left as they were
    /// where a template fails at send time: the card still goes out).
    pub fn apply(&self, mut a: AlertRecord, look: Look) -> AlertRecord {
        let time = |t| super::cards::text::time(t, look.tz);
        let ctx = context! {
            title => &a.title, content => &a.content, severity => a.severity.as_str(),
            service => a.service.as_deref().unwrap_or(""), state => a.state,
            status => if a.state == "resolved" { "resolved" } else { "firing" },
            count => a.count, id => &a.id, fingerprint => &a.fingerprint,
            first_seen => time(a.first_seen), last_seen => time(a.last_seen),
            starts_at => a.starts_at.map(time).unwrap_or_default(),
            labels => a.labels.as_map(), annotations => a.annotations.as_map(),
        };
        let render = |which: &str| {
            self.env
                .get_template(which)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| tracing::warn!(template = which, error = %e, "template failed; the built-in text is used"))
                .ok()
        };
        let title = if self.title {
            render("title_template")
        } else {
            None
        };
        let body = if self.body {
            render("body_template")
        } else {
            None
        };
        if let Some(t) = title.filter(|t| !t.trim().is_empty()) {
            a.title = crate::domain::labels::cut(t.trim(), crate::domain::alert::MAX_TITLE_LEN);
        }
        if let Some(b) = body {
            a.content = crate::domain::labels::cut(&b, crate::domain::alert::MAX_CONTENT_LEN);
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::cards::text::fixtures::alert;

    #[test]
    fn alertmanager_style_templates_render_and_unknown_names_are_refused_with_the_line() {
        let t = Templates::compile(
            "dd",
            Some("[{{ status | upper }}] {{ labels.env }} {{ title }}"),
            Some("{{ annotations.runbook_url }}\n{% for k, v in labels|items %}{{ k }}={{ v }} {% endfor %}\n{{ labels.missing }}"),
        )
        .unwrap()
        .unwrap();
        let a = t.apply(
            alert("A-1", "Disk full", crate::domain::Severity::Critical),
            Look::default(),
        );
        assert_eq!(a.title, "[FIRING] prod Disk full");
        assert!(
            a.content
                .starts_with("https://runbooks.example.com/db\nenv=prod team=db"),
            "{}",
            a.content
        );
        let e = Templates::compile("dd", None, Some("ok\n{{ serverity }}"))
            .unwrap_err()
            .0;
        assert!(
            e.contains("channel `dd` body_template line 2") && e.contains("undefined"),
            "{e}"
        );
        let e = Templates::compile("dd", Some("{% if %}"), None)
            .unwrap_err()
            .0;
        assert!(e.contains("title_template line 1"), "{e}");
        assert!(Templates::compile("dd", None, None).unwrap().is_none());
    }

    #[test]
    fn a_runaway_template_is_refused_at_load_for_running_out_of_fuel() {
        let e = Templates::compile(
            "dd",
            Some("{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}"),
            None,
        )
        .unwrap_err()
        .0;
        assert!(e.contains("fuel"), "{e}");
    }

    #[test]
    fn a_templates_output_is_still_escaped_on_every_channel_type() {
        use crate::config::ChannelKind as K;
        let t = Templates::compile(
            "x",
            Some("{{ title }} [click](https://evil.example) <b>bold</b>"),
            Some(
                "<at user_id=\"all\">all</at> <!channel> [click](https://evil.example) <b>bold</b>",
            ),
        )
        .unwrap()
        .unwrap();
        let mut msg = crate::outbound::cards::text::fixtures::critical();
        let a = msg.items[0].alert.clone();
        msg.items[0].alert = t.apply(a, Look::default());
        // What each platform renders as markup (titles shown as plain text,
        // like DingTalk's conversation-list title, are not markup).
        let rendered = |kind: K| -> String {
            let out = crate::outbound::cards::preview(kind, &msg);
            let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            match kind {
                K::DingtalkBot => v["actionCard"]["text"].to_string(),
                K::FeishuBot => v["card"]["body"].to_string(),
                K::WecomBot => {
                    let mut m = msg.clone();
                    m.audience =
                        crate::outbound::cards::text::fixtures::mentioned(m.clone()).audience;
                    crate::outbound::cards::wecom::message(&m)["markdown"]["content"].to_string()
                }
                K::Slack => v["blocks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|b| b["type"] == "section")
                    .map(|b| b.to_string())
                    .collect(),
                _ => out.split("--- HTML ---").nth(1).unwrap().to_string(),
            }
        };
        for kind in [
            K::DingtalkBot,
            K::FeishuBot,
            K::WecomBot,
            K::Slack,
            K::Email,
        ] {
            let out = rendered(kind);
            let dangerous: &[&str] = match kind {
                // Slack and HTML: a markdown link is only text.
                K::Slack | K::Email => &["<!channel>", "<at user_id", "<b>bold</b>"],
                _ => &[
                    "[click](https://evil.example)",
                    "<b>bold</b>",
                    "<at user_id",
                    "<!channel>",
                ],
            };
            for raw in dangerous {
                assert!(!out.contains(raw), "{kind:?} lets {raw} through: {out}");
            }
            assert!(
                out.contains("click") && out.contains("bold"),
                "{kind:?}: {out}"
            );
        }
    }
}
