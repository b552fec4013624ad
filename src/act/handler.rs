//! The interaction handler that acts: card clicks and chat commands become
//! state changes through [`Ops`], answered with a toast and the updated card
//! (Feishu) or a short text reply (every platform).

use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use chrono::Utc;

use super::commands::{self, Command, Target};
use super::ops::{Act, Done, Ops, short};
use crate::config::Config;
use crate::engine::NoticeKind;
use crate::interaction::{
    CardAction, CardReply, ChatMessage, ChatReply, InteractionHandler, Platform, ToastKind,
};
use crate::outbound::cards::{self, Item, Message};
use crate::store::{Actor, AlertRecord};

/// Who may act, per platform (empty: anyone in a chat the bot is in), and
/// whether silences need to be on the list (`[alerts] chat_silences`).
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub feishu: Vec<String>,
    pub dingtalk: Vec<String>,
    pub wecom: Vec<String>,
    pub silences_by_anyone: bool,
}

impl Allowed {
    pub fn from_config(config: &Config) -> Self {
        Self {
            feishu: config
                .feishu
                .as_ref()
                .map(|f| f.allowed_users.clone())
                .unwrap_or_default(),
            dingtalk: config
                .dingtalk
                .as_ref()
                .map(|d| d.allowed_users.clone())
                .unwrap_or_default(),
            wecom: config
                .wecom
                .as_ref()
                .map(|w| w.allowed_users.clone())
                .unwrap_or_default(),
            silences_by_anyone: config.alerts.chat_silences == crate::config::ChatSilences::Anyone,
        }
    }

    fn list(&self, who: &crate::interaction::Actor) -> &[String] {
        match who.platform {
            Platform::Feishu => &self.feishu,
            Platform::DingTalk => &self.dingtalk,
            Platform::WeCom => &self.wecom,
        }
    }

    fn permits(&self, who: &crate::interaction::Actor) -> bool {
        let list = self.list(who);
        list.is_empty() || list.iter().any(|u| u == &who.id)
    }

    /// A silence hides alerts from everyone for up to 90 days: by default
    /// only the people on the list may create one from chat.
    fn permits_silence(&self, who: &crate::interaction::Actor) -> bool {
        if self.silences_by_anyone {
            return self.permits(who);
        }
        self.list(who).iter().any(|u| u == &who.id)
    }
}

fn silence_refusal(who: &crate::interaction::Actor) -> String {
    format!(
        "You may not create silences from chat: ask an admin to add your id ({}) to [{}] allowed_users (or to set [alerts] chat_silences = \"anyone\").",
        who.id,
        via(who.platform)
    )
}

pub struct ChatOps {
    pub ops: Ops,
    /// Replaced on a config reload.
    pub allowed: Arc<ArcSwap<Allowed>>,
    /// People and schedules, for `oncall`.
    pub oncall: crate::watch::escalations::SharedOncall,
}

fn via(p: Platform) -> &'static str {
    match p {
        Platform::Feishu => "feishu",
        Platform::DingTalk => "dingtalk",
        Platform::WeCom => "wecom",
    }
}

/// The audit name: the display name when the platform gives one, else its id.
fn actor(who: &crate::interaction::Actor) -> Actor {
    let named = who
        .name
        .as_deref()
        .map(|n| Actor::new(n, via(who.platform)));
    named
        .filter(|a| !a.name().is_empty())
        .unwrap_or_else(|| Actor::new(&who.id, via(who.platform)))
}

fn refusal(who: &crate::interaction::Actor) -> String {
    format!(
        "You may not act on alerts here: ask an admin to add your id ({}) to [{}] allowed_users.",
        who.id,
        via(who.platform)
    )
}

/// The Feishu app card for an alert as it is now (callback buttons that fit
/// its state).
pub fn feishu_card(record: &AlertRecord, look: cards::Look) -> serde_json::Value {
    let kind = if record.state == "resolved" {
        NoticeKind::Resolved
    } else {
        NoticeKind::Firing
    };
    cards::feishu::card(
        &Message {
            kind,
            items: vec![Item {
                alert: record.clone(),
                links: None,
                console: None,
            }],
            omitted: 0,
            digest: None,
            occurrences: record.count,
            now: Utc::now(),
            audience: Default::default(),
            look,
        },
        true,
    )
}

/// A one-line summary for `list`.
fn line(r: &AlertRecord) -> String {
    let service = r
        .service
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    format!(
        "{} [{}] {}{} · {}× · since {}",
        short(&r.id),
        r.severity.as_str().to_uppercase(),
        r.title,
        service,
        r.count,
        r.first_seen.format("%m-%d %H:%M UTC")
    )
}

#[async_trait]
impl InteractionHandler for ChatOps {
    async fn card_action(&self, action: CardAction) -> CardReply {
        let who = &action.actor;
        if !self.allowed.load().permits(who) {
            return CardReply {
                toast: Some((ToastKind::Error, refusal(who))),
                card: None,
                state: None,
            };
        }
        let value = &action.value;
        let (Some(name), Some(alert_id)) = (
            value.get("action").and_then(|a| a.as_str()),
            value.get("alert_id").and_then(|a| a.as_str()),
        ) else {
            return CardReply {
                toast: Some((ToastKind::Error, "This button carries no alert.".into())),
                card: None,
                state: None,
            };
        };
        let act = match Act::from_value(name, value.get("duration_s")) {
            Ok(Act::Silence(_)) if !self.allowed.load().permits_silence(who) => {
                Err(silence_refusal(who))
            }
            other => other,
        };
        let act = match act {
            Ok(act) => act,
            Err(why) => {
                return CardReply {
                    toast: Some((ToastKind::Error, why)),
                    card: None,
                    state: None,
                };
            }
        };
        match self.ops.act(alert_id, act, &actor(who), Utc::now()).await {
            Ok(done) => {
                let kind = match &done {
                    Done::Changed(_) => ToastKind::Success,
                    Done::Already(_) => ToastKind::Info,
                    Done::Ambiguous(..) | Done::NotFound(_) => ToastKind::Warning,
                    Done::Refused(_) => ToastKind::Error,
                };
                tracing::info!(platform = via(who.platform), alert_id, action = name, outcome = ?kind, "card action");
                CardReply {
                    toast: Some((kind, done.say(act))),
                    card: done
                        .record()
                        .map(|r| feishu_card(r, self.oncall.load().look)),
                    state: done
                        .record()
                        .map(|r| (r.state.to_string(), r.acked_by.clone())),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, alert_id, "card action: storage error");
                CardReply {
                    toast: Some((
                        ToastKind::Error,
                        "ackbot could not save that; please try again.".into(),
                    )),
                    card: None,
                    state: None,
                }
            }
        }
    }

    async fn chat_message(&self, message: ChatMessage) -> Option<ChatReply> {
        self.chat(message).await
    }
}

impl ChatOps {
    /// `oncall [schedule]`: every schedule without a name.
    async fn oncall_reply(&self, name: Option<&str>, now: chrono::DateTime<Utc>) -> String {
        let oncall = self.oncall.load();
        let mut names: Vec<&str> = match name {
            Some(n) => vec![n],
            None => oncall.directory.schedule_names().collect(),
        };
        names.sort_unstable();
        if names.is_empty() {
            return "No on-call schedules are configured ([[schedules]]).".into();
        }
        let mut lines = Vec::new();
        for n in names {
            match super::oncall::view(self.ops.store.as_ref(), &oncall, n, now).await {
                Ok(Some(v)) => lines.push(super::oncall::say(&v)),
                Ok(None) => lines.push(format!(
                    "No schedule named \"{}\".",
                    crate::domain::labels::truncate_text(n, 40)
                )),
                Err(e) => {
                    tracing::error!(error = %e, "oncall: storage error");
                    return "ackbot could not read the schedules; please try again.".into();
                }
            }
        }
        lines.join("\n")
    }

    async fn chat(&self, message: ChatMessage) -> Option<ChatReply> {
        let who = &message.actor;
        let command = match commands::parse(&message.text) {
            Ok(c) => c,
            Err(e) => return Some(ChatReply { text: e.0 }),
        };
        let acting = !matches!(
            command,
            Command::Help | Command::List | Command::Oncall(_) | Command::Unknown { .. }
        );
        if acting && !self.allowed.load().permits(who) {
            return Some(ChatReply { text: refusal(who) });
        }
        if matches!(command, Command::Silence { .. }) && !self.allowed.load().permits_silence(who) {
            return Some(ChatReply {
                text: silence_refusal(who),
            });
        }
        let now = Utc::now();
        let actor = actor(who);
        let simple = |id: &str, act| (id.to_string(), act);
        let (id, act) = match command {
            Command::Help => {
                return Some(ChatReply {
                    text: commands::HELP.to_string(),
                });
            }
            Command::Unknown { input } => {
                return Some(ChatReply {
                    text: format!("I don't know \"{input}\".\n\n{}", commands::HELP),
                });
            }
            Command::List => {
                return Some(ChatReply {
                    text: match self.ops.store.list(Some("firing"), 10, now).await {
                        Ok(alerts) if alerts.is_empty() => "Nothing is firing.".into(),
                        Ok(alerts) => {
                            let lines: Vec<String> = alerts.iter().map(line).collect();
                            format!("Firing, newest first:\n{}", lines.join("\n"))
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "list: storage error");
                            "ackbot could not read the alerts; please try again.".into()
                        }
                    },
                });
            }
            Command::Oncall(name) => {
                return Some(ChatReply {
                    text: self.oncall_reply(name.as_deref(), now).await,
                });
            }
            Command::Ack(id) => simple(&id, Act::Ack),
            Command::Unack(id) => simple(&id, Act::Unack),
            Command::Resolve(id) => simple(&id, Act::Resolve),
            Command::Silence {
                target: Target::Id(id),
                duration,
            } => simple(&id, Act::Silence(duration)),
            Command::Silence {
                target: Target::Matchers(matchers),
                duration,
            } => {
                let shown: Vec<String> = matchers.iter().map(ToString::to_string).collect();
                let text = match self
                    .ops
                    .silence_matchers(matchers, duration, &actor, now)
                    .await
                {
                    Ok(Ok(s)) => format!(
                        "Silenced alerts matching {{{}}} until {} (silence {}).",
                        shown.join(", "),
                        s.ends_at.format("%m-%d %H:%M UTC"),
                        short(&s.id)
                    ),
                    Ok(Err(why)) => format!("Not done: {why}"),
                    Err(e) => {
                        tracing::error!(error = %e, "silence: storage error");
                        "ackbot could not save that; please try again.".into()
                    }
                };
                return Some(ChatReply { text });
            }
        };
        let text = match self.ops.act(&id, act, &actor, now).await {
            Ok(done) => done.say(act),
            Err(e) => {
                tracing::error!(error = %e, "chat command: storage error");
                "ackbot could not save that; please try again.".into()
            }
        };
        Some(ChatReply { text })
    }
}
