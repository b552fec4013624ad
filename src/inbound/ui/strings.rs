//! The console's words in English and Chinese. Templates take them as `t`;
//! nothing here comes from a request.

use serde::Serialize;

#[derive(Serialize)]
pub struct Strings {
    pub lang: &'static str,
    pub alerts: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub state: &'static str,
    pub severity: &'static str,
    pub service: &'static str,
    pub title: &'static str,
    pub count: &'static str,
    pub first_seen: &'static str,
    pub last_seen: &'static str,
    pub acked_by: &'static str,
    pub silenced_until: &'static str,
    pub search: &'static str,
    pub filter: &'static str,
    pub nothing: &'static str,
    pub more: &'static str,
    pub timeline: &'static str,
    pub deliveries: &'static str,
    pub ack: &'static str,
    pub unack: &'static str,
    pub resolve: &'static str,
    pub silence: &'static str,
    pub any_state: &'static str,
    pub any_severity: &'static str,
    pub firing: &'static str,
    pub acknowledged: &'static str,
    pub silenced: &'static str,
    pub resolved: &'static str,
    pub wrong_password: &'static str,
    pub slow_down: &'static str,
    pub expired_form: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub unavailable: &'static str,
    pub done_changed: &'static str,
    pub done_unchanged: &'static str,
    pub done_refused: &'static str,
    pub silences: &'static str,
    pub new_silence: &'static str,
    pub matchers: &'static str,
    pub duration: &'static str,
    pub comment: &'static str,
    pub preview: &'static str,
    pub would_match: &'static str,
    pub create_silence: &'static str,
    pub ends: &'static str,
    pub by: &'static str,
    pub end: &'static str,
    pub no_silences: &'static str,
}

pub static EN: Strings = Strings {
    lang: "en",
    alerts: "Alerts",
    sign_in: "Sign in",
    sign_out: "Sign out",
    name: "Name",
    password: "Password",
    state: "State",
    severity: "Severity",
    service: "Service",
    title: "Title",
    count: "Count",
    first_seen: "First seen",
    last_seen: "Last seen",
    acked_by: "acknowledged by",
    silenced_until: "Silenced until",
    search: "Search",
    filter: "Filter",
    nothing: "No alert matches.",
    more: "more",
    timeline: "Timeline",
    deliveries: "Deliveries",
    ack: "Acknowledge",
    unack: "Unacknowledge",
    resolve: "Resolve",
    silence: "Silence 1h",
    any_state: "Any state",
    any_severity: "Any severity",
    firing: "firing",
    acknowledged: "acknowledged",
    silenced: "silenced",
    resolved: "resolved",
    wrong_password: "Wrong name or password.",
    slow_down: "Too many attempts from here; wait a minute.",
    expired_form: "This form expired; please sign in again.",
    forbidden: "Not allowed.",
    not_found: "No such alert.",
    unavailable: "Storage is unavailable; try again in a moment.",
    done_changed: "Done.",
    done_unchanged: "Nothing to do: it already was.",
    done_refused: "Not allowed from its current state.",
    silences: "Silences",
    new_silence: "New silence",
    matchers: "Matchers, one per line",
    duration: "Duration",
    comment: "Comment",
    preview: "Preview",
    would_match: "Alerts it would silence now",
    create_silence: "Create the silence",
    ends: "Ends",
    by: "By",
    end: "End now",
    no_silences: "No silence.",
};

pub static ZH: Strings = Strings {
    lang: "zh-CN",
    alerts: "告警",
    sign_in: "登录",
    sign_out: "退出",
    name: "用户名",
    password: "密码",
    state: "状态",
    severity: "级别",
    service: "服务",
    title: "标题",
    count: "次数",
    first_seen: "首次发生",
    last_seen: "最近发生",
    acked_by: "确认人",
    silenced_until: "静默至",
    search: "搜索",
    filter: "筛选",
    nothing: "没有符合条件的告警。",
    more: "更多",
    timeline: "时间线",
    deliveries: "通知记录",
    ack: "确认",
    unack: "取消确认",
    resolve: "解决",
    silence: "静默 1 小时",
    any_state: "全部状态",
    any_severity: "全部级别",
    firing: "告警中",
    acknowledged: "已确认",
    silenced: "已静默",
    resolved: "已解决",
    wrong_password: "用户名或密码错误。",
    slow_down: "尝试次数过多，请稍后再试。",
    expired_form: "表单已过期，请重新登录。",
    forbidden: "无权操作。",
    not_found: "没有这条告警。",
    unavailable: "存储暂不可用，请稍后再试。",
    done_changed: "已完成。",
    done_unchanged: "无需操作：已是该状态。",
    done_refused: "当前状态不允许此操作。",
    silences: "静默",
    new_silence: "新建静默",
    matchers: "匹配条件，每行一个",
    duration: "时长",
    comment: "备注",
    preview: "预览",
    would_match: "当前会被静默的告警",
    create_silence: "创建静默",
    ends: "结束于",
    by: "创建人",
    end: "立即结束",
    no_silences: "没有静默。",
};

#[derive(Serialize)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

impl Strings {
    pub fn state(&self, s: &str) -> &'static str {
        match s {
            "firing" => self.firing,
            "acknowledged" => self.acknowledged,
            "silenced" => self.silenced,
            "resolved" => self.resolved,
            _ => "?",
        }
    }

    pub fn state_options(&self) -> Vec<Choice> {
        let mut v = vec![Choice {
            value: "",
            label: self.any_state,
        }];
        for s in ["firing", "acknowledged", "silenced", "resolved"] {
            v.push(Choice {
                value: s,
                label: self.state(s),
            });
        }
        v
    }

    pub fn severity_options(&self) -> Vec<Choice> {
        let mut v = vec![Choice {
            value: "",
            label: self.any_severity,
        }];
        for s in ["critical", "error", "warning", "info"] {
            v.push(Choice { value: s, label: s });
        }
        v
    }
}
