//! The client commands: `ackbot alerts`, `ackbot silence`, `ackbot
//! deliveries`, like `amtool` against a running ackbot, through the same
//! HTTP API anyone else uses (so they need nothing the API does not give
//! and check nothing the server does not check again).
//!
//! Where and as whom: `--url` or `ACKBOT_URL` (default
//! `https://127.0.0.1:8443`), the API token from `ACKBOT_API_TOKEN` only (a
//! flag would show it in `ps` and shell history), `--cacert` for a
//! self-signed or private CA certificate. Output is a table, or the API's
//! JSON with `--output json`. Exit status: 0 done, 1 the server refused
//! (its error printed), 2 a usage or connection problem.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// Where the server is and how to print what it says.
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The ackbot to talk to.
    #[arg(
        long,
        env = "ACKBOT_URL",
        default_value = "https://127.0.0.1:8443",
        global = true
    )]
    pub url: String,
    /// A PEM certificate to trust (the server's own, or its CA), e.g. certs/server.crt.
    #[arg(long, env = "ACKBOT_CACERT", global = true)]
    pub cacert: Option<PathBuf>,
    /// `table` for people, `json` (the API's answer) for scripts.
    #[arg(long, short, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Alerts {
    /// Alerts, newest first.
    List {
        /// firing, acknowledged, silenced or resolved.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One alert, with its deliveries.
    Show {
        /// The alert id.
        id: String,
    },
    /// Acknowledge an alert.
    Ack(Act),
    /// Take an acknowledgement back.
    Unack(Act),
    /// Resolve an alert.
    Resolve(Act),
}

#[derive(Args, Debug, Clone)]
pub struct Act {
    /// The alert id.
    pub id: String,
    /// Who acts, for the audit trail (default: api).
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Silence {
    /// Silence every alert the matchers match, e.g. `ackbot silence add 'team="db"' --duration 2h`.
    Add {
        /// Alertmanager matchers: name="v", name!="v", name=~"re", name!~"re".
        #[arg(required = true)]
        matchers: Vec<String>,
        /// How long, e.g. 30m, 2h, 1d (at most 90d).
        #[arg(long, default_value = "1h")]
        duration: String,
        /// Why, for whoever reads the silence later.
        #[arg(long, default_value = "")]
        comment: String,
        /// Who silences (default: api).
        #[arg(long)]
        by: Option<String>,
    },
    /// Active and pending silences (with --all, expired ones too).
    List {
        /// Include expired silences.
        #[arg(long)]
        all: bool,
    },
    /// End a silence now.
    Expire {
        /// The silence id.
        id: String,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum Deliveries {
    /// An alert's deliveries: channel, status, attempts, the platform's last error.
    List {
        /// The alert id.
        alert: String,
    },
    /// Put a failed or dead delivery back in the outbox (or every one of --channel).
    Retry {
        /// The alert id (with the delivery id).
        alert: Option<String>,
        /// The delivery id, as `deliveries list` shows it.
        delivery: Option<String>,
        /// Instead: every failed or dead delivery of this channel.
        #[arg(long, conflicts_with_all = ["alert", "delivery"])]
        channel: Option<String>,
        /// Who retries (default: api).
        #[arg(long)]
        by: Option<String>,
    },
}

/// A request to make: method, path, body.
struct Call {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
}

fn get(path: String) -> Call {
    Call {
        method: reqwest::Method::GET,
        path,
        body: None,
    }
}

fn post(path: String, body: Value) -> Call {
    Call {
        method: reqwest::Method::POST,
        path,
        body: Some(body),
    }
}

fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn by(by: &Option<String>) -> Value {
    by.as_ref()
        .map_or_else(|| json!({}), |b| json!({ "by": b }))
}

pub fn alerts(remote: &Remote, cmd: &Alerts) -> ExitCode {
    let call = match cmd {
        Alerts::List { state, limit } => {
            let mut path = format!("/api/v1/alerts?limit={limit}");
            if let Some(s) = state {
                path.push_str(&format!("&state={}", seg(s)));
            }
            get(path)
        }
        Alerts::Show { id } => get(format!("/api/v1/alerts/{}", seg(id))),
        Alerts::Ack(a) => post(format!("/api/v1/alerts/{}/ack", seg(&a.id)), by(&a.by)),
        Alerts::Unack(a) => post(format!("/api/v1/alerts/{}/unack", seg(&a.id)), by(&a.by)),
        Alerts::Resolve(a) => post(format!("/api/v1/alerts/{}/resolve", seg(&a.id)), by(&a.by)),
    };
    run(remote, call, |v| match cmd {
        Alerts::List { .. } => {
            alert_table(v["alerts"].as_array().map(Vec::as_slice).unwrap_or(&[]))
        }
        Alerts::Show { .. } => {
            let mut out = alert_table(std::slice::from_ref(v));
            out.push('\n');
            out.push_str(&delivery_table(
                v["deliveries"].as_array().map(Vec::as_slice).unwrap_or(&[]),
            ));
            out
        }
        _ => {
            let changed = if v["changed"] == true {
                ""
            } else {
                " (unchanged)"
            };
            format!(
                "{}{changed}\n",
                alert_table(std::slice::from_ref(&v["alert"])).trim_end()
            )
        }
    })
}

pub fn silence(remote: &Remote, cmd: &Silence) -> ExitCode {
    let call = match cmd {
        Silence::Add {
            matchers,
            duration,
            comment,
            by,
        } => post(
            "/api/v1/silences".into(),
            json!({"matchers": matchers, "duration": duration, "comment": comment, "by": by}),
        ),
        Silence::List { all } => get(format!("/api/v1/silences?all={all}")),
        Silence::Expire { id } => Call {
            method: reqwest::Method::DELETE,
            path: format!("/api/v1/silences/{}", seg(id)),
            body: None,
        },
    };
    run(remote, call, |v| match cmd {
        Silence::List { .. } => {
            silence_table(v["silences"].as_array().map(Vec::as_slice).unwrap_or(&[]))
        }
        _ => silence_table(std::slice::from_ref(&v["silence"])),
    })
}

pub fn deliveries(remote: &Remote, cmd: &Deliveries) -> ExitCode {
    let call = match cmd {
        Deliveries::List { alert } => get(format!("/api/v1/alerts/{}", seg(alert))),
        Deliveries::Retry {
            channel: Some(c),
            by: who,
            ..
        } => post(format!("/api/v1/channels/{}/retry", seg(c)), by(who)),
        Deliveries::Retry {
            alert: Some(a),
            delivery: Some(d),
            by: who,
            ..
        } => post(
            format!("/api/v1/alerts/{}/deliveries/{}/retry", seg(a), seg(d)),
            by(who),
        ),
        Deliveries::Retry { .. } => {
            eprintln!("ackbot: give ALERT DELIVERY, or --channel NAME");
            return ExitCode::from(2);
        }
    };
    run(remote, call, |v| match cmd {
        Deliveries::List { .. } => {
            delivery_table(v["deliveries"].as_array().map(Vec::as_slice).unwrap_or(&[]))
        }
        Deliveries::Retry {
            channel: Some(c), ..
        } => {
            format!(
                "{} deliveries of `{c}` put back in the outbox\n",
                v["retried"]
            )
        }
        Deliveries::Retry { .. } => format!("delivery {} put back in the outbox\n", v["delivery"]),
    })
}

/// Makes the call and prints the answer: `show` renders a table.
fn run(remote: &Remote, call: Call, show: impl Fn(&Value) -> String) -> ExitCode {
    let Ok(token) = std::env::var("ACKBOT_API_TOKEN") else {
        eprintln!("ackbot: set ACKBOT_API_TOKEN to one of the server's [api] tokens");
        return ExitCode::from(2);
    };
    let client = match client(remote) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ackbot: {e}");
            return ExitCode::from(2);
        }
    };
    let url = format!("{}{}", remote.url.trim_end_matches('/'), call.path);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let answer = runtime.block_on(async {
        let mut request = client.request(call.method, &url).bearer_auth(token.trim());
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        Ok::<_, reqwest::Error>((status, text))
    });
    let (status, text) = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ackbot: cannot reach {}: {}", remote.url, e.without_url());
            return ExitCode::from(2);
        }
    };
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let message = json["message"].as_str().unwrap_or("no message");
        let code = json["error"].as_str().unwrap_or("error");
        eprintln!(
            "ackbot: the server refused ({} {code}): {message}",
            status.as_u16()
        );
        return ExitCode::from(1);
    }
    match remote.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("JSON serializes")
        ),
        Output::Table => print!("{}", show(&json)),
    }
    ExitCode::SUCCESS
}

fn client(remote: &Remote) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(std::time::Duration::from_secs(30))
        .user_agent(concat!("ackbot-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &remote.cacert {
        let pem = std::fs::read(path).map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Columns padded to their widest cell (by characters).
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => crate::domain::human::name(s, 60),
        other => other.to_string(),
    }
}

fn alert_table(alerts: &[Value]) -> String {
    let rows = alerts
        .iter()
        .map(|a| {
            vec![
                s(&a["id"]),
                s(&a["state"]),
                s(&a["severity"]),
                s(&a["service"]),
                s(&a["count"]),
                s(&a["last_seen"]),
                s(&a["acked_by"]),
                s(&a["title"]),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "STATE",
            "SEVERITY",
            "SERVICE",
            "COUNT",
            "LAST SEEN",
            "ACKED BY",
            "TITLE",
        ],
        rows,
    )
}

fn delivery_table(deliveries: &[Value]) -> String {
    let rows = deliveries
        .iter()
        .map(|d| {
            vec![
                s(&d["id"]),
                s(&d["channel"]),
                s(&d["kind"]),
                s(&d["status"]),
                s(&d["attempts"]),
                s(&d["sent_at"]),
                s(&d["last_error"]),
            ]
        })
        .collect();
    table(
        &[
            "DELIVERY",
            "CHANNEL",
            "KIND",
            "STATUS",
            "ATTEMPTS",
            "SENT AT",
            "LAST ERROR",
        ],
        rows,
    )
}

fn silence_table(silences: &[Value]) -> String {
    let rows = silences
        .iter()
        .map(|x| {
            let matchers: Vec<String> = x["matchers"]
                .as_array()
                .map(|m| m.iter().map(s).collect())
                .unwrap_or_default();
            vec![
                s(&x["id"]),
                s(&x["status"]),
                s(&x["ends_at"]),
                s(&x["created_by"]),
                matchers.join(", "),
                s(&x["comment"]),
            ]
        })
        .collect();
    table(
        &["ID", "STATUS", "ENDS AT", "BY", "MATCHERS", "COMMENT"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_by_characters_and_show_absent_values_as_a_dash() {
        let out = alert_table(&[
            json!({"id": "3f2a", "state": "firing", "severity": "critical",
            "service": null, "count": 2, "last_seen": "t", "acked_by": null, "title": "磁盘满"}),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("ID    STATE"), "{out}");
        assert!(lines[1].starts_with("3f2a  firing  critical  -"), "{out}");
        assert!(lines[1].ends_with("磁盘满"), "{out}");
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
    }
}
