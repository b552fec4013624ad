use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "FEISHU_TOKEN" => Some("verification-token-value".into()),
        "FEISHU_KEY" => Some("encrypt-key-value".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "test.toml", &env)
}

#[test]
fn empty_file_gives_working_defaults() {
    let c = load("").unwrap();
    assert_eq!(c.server.listen, "0.0.0.0:8443");
    assert!(!c.server.insecure_http);
    assert_eq!(c.server.max_body_bytes, 1_048_576);
    assert_eq!(c.storage.url.expose(), "sqlite://data/ackbot.db");
    assert!(c.feishu.is_none());
}

#[test]
fn the_design_example_loads() {
    let text = r#"
[server]
listen = "127.0.0.1:8443"
insecure_http = false
public_url = "https://ackbot.example.com"
max_body_bytes = 1048576
[storage]
url = "sqlite://data/ackbot.db"
[api]
tokens = ["0123456789abcdef0123"]
[feishu]
app_id = "cli_xxx"
app_secret = "${FEISHU_KEY}"
verification_token = "${FEISHU_TOKEN}"
encrypt_key = "${FEISHU_KEY}"
api_base = "https://open.feishu.cn"
[dingtalk]
app_key = "dingxxx"
app_secret = "${FEISHU_KEY}"
api_base = "https://api.dingtalk.com"
[wecom]
token = "tok"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
receive_id = ""
[links]
secret = "0123456789abcdef0123456789abcdef"
ttl = "24h"
"#;
    let c = load(text).unwrap();
    let f = c.feishu.as_ref().unwrap();
    assert_eq!(f.verification_token.expose(), "verification-token-value");
    assert_eq!(f.timestamp_tolerance, Duration::from_secs(3600));
    assert_eq!(
        c.wecom.as_ref().unwrap().timestamp_tolerance,
        Duration::from_secs(300)
    );
    assert_eq!(c.links.as_ref().unwrap().ttl, Duration::from_secs(86400));

    // Neither Debug nor the printed config shows a secret.
    for shown in [format!("{c:?}"), c.to_masked_toml()] {
        for secret in [
            "verification-token-value",
            "encrypt-key-value",
            "0123456789abcdef0123",
            "abcdefghijklmnop",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains(secret::MASK));
    }
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let err = load("[feishu]\nverification_token = \"t\"\nencrpyt_key = \"k\"").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("encrpyt_key"), "{msg}");
    assert!(msg.contains("feishu"), "{msg}");
    assert!(load("[server]\nlisten = \"127.0.0.1:1\"\nport = 1").is_err());
    assert!(load("[nonsense]\na = 1").is_err());
}

#[test]
fn missing_env_var_names_variable_and_key() {
    let msg = load("[feishu]\nverification_token = \"${NOT_SET_ANYWHERE}\"")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("NOT_SET_ANYWHERE") && msg.contains("feishu.verification_token"),
        "{msg}"
    );
}

#[test]
fn comments_are_not_expanded() {
    assert!(load("# token = \"${NOT_SET_ANYWHERE}\"\n").is_ok());
}

#[test]
fn bad_values_are_refused_with_the_key() {
    let cases = [
        ("[server]\nlisten = \"nope\"", "server.listen"),
        ("[server]\ntls_cert = \"a.crt\"", "server.tls_cert"),
        ("[server]\nmax_body_bytes = 10", "server.max_body_bytes"),
        ("[server]\npublic_url = \"ftp://x\"", "server.public_url"),
        ("[storage]\nurl = \"mysql://x\"", "storage.url"),
        ("[api]\ntokens = [\"short\"]", "api.tokens"),
        (
            "[feishu]\nverification_token = \"${EMPTY}\"",
            "feishu.verification_token",
        ),
        (
            "[feishu]\nverification_token = \"t\"\nencrypt_key = \"\"",
            "feishu.encrypt_key",
        ),
        (
            "[feishu]\nverification_token = \"t\"\ntimestamp_tolerance = \"1s\"",
            "feishu.timestamp_tolerance",
        ),
        (
            "[feishu]\nverification_token = \"t\"\ntimestamp_tolerance = \"soon\"",
            "timestamp_tolerance",
        ),
        ("[dingtalk]\napp_secret = \"\"", "dingtalk.app_secret"),
        (
            "[wecom]\ntoken = \"t\"\nencoding_aes_key = \"short\"",
            "wecom.encoding_aes_key",
        ),
        ("[links]\nsecret = \"short\"", "links.secret"),
        ("[feishu]\nencrypt_key = \"k\"", "verification_token"),
    ];
    for (text, key) in cases {
        let msg = load(text).map(|_| ()).unwrap_err().to_string();
        assert!(msg.contains(key), "{text:?} -> {msg}");
    }
}

#[test]
fn syntax_errors_name_the_file() {
    let msg = load("[server\n").unwrap_err().to_string();
    assert!(msg.contains("test.toml"), "{msg}");
}

const CHANNELS: &str = r#"
[feishu]
verification_token = "t"
app_id = "cli_x"
app_secret = "s"

[[channels]]
name = "ops-feishu"
type = "feishu_bot"
url = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
secret = "${FEISHU_KEY}"

[[channels]]
name = "ops-app"
type = "feishu_app"
chat_id = "oc_123"

[[channels]]
name = "mail"
type = "email"
smtp_url = "smtps://u:p@smtp.example.com:465"
from = "ackbot@example.com"
to = ["oncall@example.com"]
"#;

#[test]
fn the_design_channels_and_routes_load() {
    let text = format!(
        "{CHANNELS}\n[[routes]]\nmatchers = ['severity=\"critical\"', 'team=~\"db|infra\"']\nchannels = [\"ops-feishu\"]\ngroup_by = [\"alertname\", \"service\"]\ngroup_wait = \"0s\"\ngroup_interval = \"5m\"\nrepeat_interval = \"4h\"\n\n[[routes]]\nchannels = [\"mail\", \"ops-app\"]\ncontinue = true\n"
    );
    let c = load(&text).unwrap();
    assert_eq!(c.channels.len(), 3);
    assert_eq!(c.channels[0].kind, ChannelKind::FeishuBot);
    let r = &c.routes[0];
    assert_eq!(r.matchers.len(), 2);
    assert_eq!(r.group_wait, Duration::ZERO);
    assert_eq!(r.repeat_interval, Duration::from_secs(4 * 3600));
    let defaults = &c.routes[1];
    assert!(defaults.matchers.is_empty() && defaults.continue_matching);
    assert_eq!(defaults.group_by, ["..."]);
    assert_eq!(defaults.group_wait, Duration::from_secs(30));
    // The webhook URL carries the bot token: masked like any secret.
    let shown = c.to_masked_toml();
    assert!(
        !shown.contains("hook/abc")
            && !shown.contains("encrypt-key-value")
            && !shown.contains("u:p@"),
        "{shown}"
    );
}

#[test]
fn routing_mistakes_name_the_key() {
    let route = |extra: &str| format!("{CHANNELS}\n[[routes]]\n{extra}\n");
    let cases = [
        (route("channels = [\"nope\"]"), "routes.channels"),
        (route("channels = []"), "routes.channels"),
        (
            route("channels = [\"mail\"]\nmatchers = ['a=~\"(\"']"),
            "matchers",
        ),
        (
            route("channels = [\"mail\"]\ngroup_by = [\"bad-label\"]"),
            "routes.group_by",
        ),
        (
            route("channels = [\"mail\"]\ngroup_wait = \"soon\""),
            "group_wait",
        ),
        (route("channels = [\"mail\"]\nreceiver = \"x\""), "receiver"),
        (
            format!(
                "{CHANNELS}\n[[channels]]\nname = \"mail\"\ntype = \"slack\"\nurl = \"https://hooks.slack.com/x\""
            ),
            "channels.name",
        ),
        (
            "[[channels]]\nname = \"s\"\ntype = \"slack\"".to_string(),
            "channels.url",
        ),
        (
            "[[channels]]\nname = \"s\"\ntype = \"webhook\"\nurl = \"ftp://x\"".to_string(),
            "channels.url",
        ),
        (
            "[[channels]]\nname = \"s\"\ntype = \"carrier_pigeon\"\nurl = \"https://x\""
                .to_string(),
            "carrier_pigeon",
        ),
        (
            "[[channels]]\nname = \"a\"\ntype = \"feishu_app\"\nchat_id = \"oc_1\"".to_string(),
            "channels.type",
        ),
        (
            "[[channels]]\nname = \"m\"\ntype = \"email\"\nfrom = \"a@b\"".to_string(),
            "channels.smtp_url",
        ),
        (
            "[[channels]]\nname = \"has space\"\ntype = \"slack\"\nurl = \"https://x\"".to_string(),
            "channels.name",
        ),
        (
            "[[channels]]\nname = \"m\"\ntype = \"email\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nsmtp_url = \"smtp://u:p@mail.example.com:587\"".to_string(),
            "channels.smtp_url",
        ),
    ];
    for (text, key) in cases {
        let msg = load(&text).map(|_| ()).unwrap_err().to_string();
        assert!(msg.contains(key), "{key}: {msg}");
    }
    for fine in [
        "smtp://u:p@mail.example.com:587?tls=required",
        "smtp://127.0.0.1:2525",
        "smtp://localhost",
    ] {
        let text = format!(
            "[[channels]]\nname = \"m\"\ntype = \"email\"\nfrom = \"a@b\"\nto = [\"c@d\"]\nsmtp_url = \"{fine}\""
        );
        assert!(load(&text).is_ok(), "{fine}");
    }
}

const ONCALL: &str = r#"
[[channels]]
name = "ops"
type = "slack"
url = "https://hooks.slack.example/x"
[[channels]]
name = "oncall-sms"
type = "aliyun_sms"
access_key_id = "ak"
access_key_secret = "sk"
sign_name = "ackbot"
template_code = "SMS_1"
[[people]]
name = "Li Lei"
phone = "+8613800000000"
[[people]]
name = "Han Meimei"
phone = "+8613800000001"
[[schedules]]
name = "primary"
members = ["Li Lei", "Han Meimei"]
timezone = "Asia/Shanghai"
[[escalations]]
name = "critical"
[[escalations.steps]]
channels = ["oncall-sms"]
notify = ["schedule:primary"]
[[escalations.steps]]
channels = ["oncall-sms", "ops"]
notify = ["schedule:primary:backup", "Li Lei"]
"#;

#[test]
fn people_schedules_and_escalations_load_and_are_checked() {
    let ok = format!(
        "{ONCALL}[[routes]]\nchannels = [\"ops\"]\nescalation = \"critical\"\nmention = [\"schedule:primary\"]\n"
    );
    let c = load(&ok).unwrap();
    assert_eq!(c.escalations[0].steps[0].wait, Duration::from_secs(300));
    assert_eq!(c.channels[1].daily_cap(), Some(50));
    let refused = |extra: &str, key: &str| {
        let e = load(&format!("{ONCALL}{extra}")).unwrap_err().to_string();
        assert!(e.contains(key), "{extra}: {e}");
    };
    // SMS only from escalation steps.
    refused(
        "[[routes]]\nchannels = [\"oncall-sms\"]\n",
        "routes.channels",
    );
    refused(
        "[[routes]]\nchannels = [\"ops\"]\nescalation = \"nope\"\n",
        "routes.escalation",
    );
    refused(
        "[[routes]]\nchannels = [\"ops\"]\nmention = [\"schedule:nope\"]\n",
        "routes.mention",
    );
    refused(
        "[[escalations]]\nname = \"x\"\n[[escalations.steps]]\nchannels = [\"oncall-sms\"]\n",
        "escalations.steps.notify",
    );
    refused(
        "[[escalations]]\nname = \"y\"\n[[escalations.steps]]\nchannels = [\"ops\"]\nnotify = [\"Nobody\"]\n",
        "escalations.steps.notify",
    );
    refused(
        "[[people]]\nname = \"Zed\"\nphone = \"13800000000\"\n",
        "people.phone",
    );
    refused(
        "[[schedules]]\nname = \"s\"\nmembers = [\"Li Lei\"]\ntimezone = \"Mars/Olympus\"\n",
        "schedules.timezone",
    );
    refused(
        "[[schedules]]\nname = \"t\"\nmembers = [\"Li Lei\"]\nrotation = \"0d\"\n",
        "schedules.rotation",
    );
    refused(
        "[[channels]]\nname = \"tc\"\ntype = \"tencent_sms\"\nsecret_id = \"i\"\nsecret_key = \"k\"\nsdk_app_id = \"1\"\nsign_name = \"s\"\ntemplate_code = \"1\"\ntemplate_params = { a = \"title\" }\n",
        "channels.template_params",
    );
    refused(
        "[[channels]]\nname = \"tw\"\ntype = \"twilio_voice\"\naccount_sid = \"AC1\"\nauth_token = \"t\"\n",
        "channels.from",
    );
}
