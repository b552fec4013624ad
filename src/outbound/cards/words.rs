//! The fixed words of cards, digests and follow-ups, in English and
//! Chinese (`[cards] locale`, or a channel's `locale`). What people sent
//! (titles, labels, severities as labels) is shown as sent.

/// The language of a channel's cards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Locale {
    /// `en`, or `zh-CN` (also `zh`, `zh-Hans`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" => Some(Self::En),
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" => Some(Self::Zh),
            _ => None,
        }
    }

    pub fn words(self) -> &'static Words {
        match self {
            Self::En => &EN,
            Self::Zh => &ZH,
        }
    }

    /// `5 more alerts` / `另有 5 条告警`.
    pub fn more(self, n: usize) -> String {
        match self {
            Self::En => format!("{n} more alert{}", if n == 1 { "" } else { "s" }),
            Self::Zh => format!("另有 {n} 条告警"),
        }
    }

    /// `8 alerts` / `8 条告警`.
    pub fn alerts(self, n: usize) -> String {
        match self {
            Self::En => format!("{n} alert{}", if n == 1 { "" } else { "s" }),
            Self::Zh => format!("{n} 条告警"),
        }
    }

    /// The subject's ` +7 more` / ` 等 8 条`.
    pub fn plus_more(self, others: usize) -> String {
        match self {
            Self::En => format!(" +{others} more"),
            Self::Zh => format!(" 等 {} 条", others + 1),
        }
    }

    /// `57 occurrences in the last window`.
    pub fn occurrences(self, n: i64) -> String {
        match self {
            Self::En => format!(
                "{n} occurrence{} in the last window",
                if n == 1 { "" } else { "s" }
            ),
            Self::Zh => format!("最近窗口内发生 {n} 次"),
        }
    }

    /// `Resolved after 42m`.
    pub fn resolved_after(self, d: &str) -> String {
        match self {
            Self::En => format!("Resolved after {d}"),
            Self::Zh => format!("已解决，持续 {d}"),
        }
    }

    /// `last seen 2026-…`.
    pub fn last_seen_at(self, t: &str) -> String {
        match self {
            Self::En => format!("last seen {t}"),
            Self::Zh => format!("最近 {t}"),
        }
    }

    /// An alert state as people read it.
    pub fn state(self, s: &str) -> &'static str {
        let w = self.words();
        match s {
            "firing" => w.firing,
            "acknowledged" => w.acknowledged,
            "silenced" => w.silenced,
            "resolved" => w.resolved,
            _ => "?",
        }
    }
}

/// One language's words.
#[derive(Debug, PartialEq, Eq)]
pub struct Words {
    pub severity: &'static str,
    pub service: &'static str,
    pub state: &'static str,
    pub values: &'static str,
    pub first_seen: &'static str,
    pub last_seen: &'static str,
    pub occurrences: &'static str,
    pub resolved_at: &'static str,
    pub silenced_until: &'static str,
    pub trace_id: &'static str,
    pub request_id: &'static str,
    pub firing: &'static str,
    pub acknowledged: &'static str,
    pub silenced: &'static str,
    pub resolved: &'static str,
    /// `acknowledged by Li Lei`.
    pub by: &'static str,
    /// ` · after 42m` on the resolved-at fact.
    pub after: &'static str,
    pub labels: &'static str,
    pub see_all: &'static str,
    pub details: &'static str,
    pub panel_image: &'static str,
    pub pipeline_run: &'static str,
    pub runbook: &'static str,
    pub dashboard: &'static str,
    pub source: &'static str,
    pub panel: &'static str,
    pub silence_at_source: &'static str,
    pub ack: &'static str,
    pub silence_1h: &'static str,
    pub resolve: &'static str,
    pub reminder: &'static str,
    pub escalated: &'static str,
    pub fired_again: &'static str,
    pub now_state: &'static str,
}

pub static EN: Words = Words {
    severity: "Severity",
    service: "Service",
    state: "State",
    values: "Values",
    first_seen: "First seen",
    last_seen: "Last seen",
    occurrences: "Occurrences",
    resolved_at: "Resolved at",
    silenced_until: "Silenced until",
    trace_id: "Trace ID",
    request_id: "Request ID",
    firing: "firing",
    acknowledged: "acknowledged",
    silenced: "silenced",
    resolved: "resolved",
    by: "by",
    after: "after",
    labels: "Labels",
    see_all: "see all",
    details: "Details",
    panel_image: "Panel image",
    pipeline_run: "Pipeline run",
    runbook: "Runbook",
    dashboard: "Dashboard",
    source: "Source",
    panel: "Panel",
    silence_at_source: "Silence at source",
    ack: "Acknowledge",
    silence_1h: "Silence 1h",
    resolve: "Resolve",
    reminder: "Still firing (reminder)",
    escalated: "Escalated: nobody has acknowledged yet",
    fired_again: "Firing again: the acknowledgement was taken back",
    now_state: "Now",
};

pub static ZH: Words = Words {
    severity: "级别",
    service: "服务",
    state: "状态",
    values: "数值",
    first_seen: "首次发生",
    last_seen: "最近发生",
    occurrences: "发生次数",
    resolved_at: "解决于",
    silenced_until: "静默至",
    trace_id: "Trace ID",
    request_id: "Request ID",
    firing: "告警中",
    acknowledged: "已确认",
    silenced: "已静默",
    resolved: "已解决",
    by: "by",
    after: "持续",
    labels: "标签",
    see_all: "查看全部",
    details: "详情",
    panel_image: "面板截图",
    pipeline_run: "流水线",
    runbook: "处理手册",
    dashboard: "看板",
    source: "来源",
    panel: "面板",
    silence_at_source: "在源头静默",
    ack: "确认",
    silence_1h: "静默 1 小时",
    resolve: "解决",
    reminder: "仍在告警（提醒）",
    escalated: "已升级：尚无人确认",
    fired_again: "再次告警：确认已撤销",
    now_state: "当前",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_parse_and_count() {
        assert_eq!(Locale::parse("zh-CN"), Some(Locale::Zh));
        assert_eq!(Locale::parse("EN"), Some(Locale::En));
        assert_eq!(Locale::parse("fr"), None);
        assert_eq!(Locale::En.more(1), "1 more alert");
        assert_eq!(Locale::Zh.more(5), "另有 5 条告警");
        assert_eq!(Locale::Zh.plus_more(7), " 等 8 条");
        assert_eq!(Locale::Zh.state("acknowledged"), "已确认");
    }
}
