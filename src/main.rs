//! The `ackbot` command line: `serve`, `check-config`, `send`, and the
//! client commands against a running ackbot (`alerts`, `silence`,
//! `deliveries`, in `ackbot::cli`), plus shell completions.

use std::path::PathBuf;
use std::process::ExitCode;

use ackbot::config::Config;
use ackbot::startup::Application;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ackbot",
    version,
    about = "Alerts into Feishu, DingTalk and WeCom, and acknowledgements back"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Alerts on a running ackbot: list, show, ack, unack, resolve.
    Alerts {
        #[command(flatten)]
        remote: ackbot::cli::Remote,
        #[command(subcommand)]
        command: ackbot::cli::Alerts,
    },
    /// Silences on a running ackbot: add (Alertmanager matchers), list, expire.
    Silence {
        #[command(flatten)]
        remote: ackbot::cli::Remote,
        #[command(subcommand)]
        command: ackbot::cli::Silence,
    },
    /// An alert's deliveries on a running ackbot: list, retry.
    Deliveries {
        #[command(flatten)]
        remote: ackbot::cli::Remote,
        #[command(subcommand)]
        command: ackbot::cli::Deliveries,
    },
    /// Read a password from standard input (one line) and print its argon2id hash for
    /// `[[ui.users]] password_hash`: `ackbot hash-password < password.txt`.
    HashPassword,
    /// Print a shell completion script: `ackbot completions bash > /etc/bash_completion.d/ackbot`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Run the server.
    Serve {
        /// TOML config file (default: ackbot.toml in the state directory if present, else
        /// built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Where relative paths point (the SQLite `data/`, the generated `certs/`): the
        /// working directory unless given; created if missing.
        #[arg(long, env = "ACKBOT_STATE_DIR")]
        state_dir: Option<PathBuf>,
    },
    /// Load and validate the config, print what would run (secrets masked), exit.
    CheckConfig {
        /// TOML config file (default: ./ackbot.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print what a channel would send for an alert (its card, with the
    /// channel's language and time zone), without sending anything.
    Render {
        /// TOML config file (default: ./ackbot.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The `[[channels]] name` whose card to show.
        #[arg(long)]
        channel: String,
        /// A file with one alert in ackbot's JSON (`POST /api/v1/alerts`);
        /// `-` reads standard input.
        #[arg(long)]
        alert: PathBuf,
    },
    /// Send one test alert through a configured channel and print the
    /// platform's answer: the first thing to run after adding a bot.
    Send {
        /// TOML config file (default: ./ackbot.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The `[[channels]] name` to send through.
        #[arg(long)]
        channel: String,
        /// The test alert's title.
        #[arg(long, default_value = "ackbot test alert")]
        title: String,
        /// critical, error, warning or info.
        #[arg(long, default_value = "info")]
        severity: String,
        /// The test alert's text.
        #[arg(long, default_value = "If you can read this, the channel works.")]
        content: String,
        /// The test alert's service.
        #[arg(long)]
        service: Option<String>,
        /// SMS and voice channels: whom to page, a `[[people]]` name or an
        /// E.164 number (+8613800000000).
        #[arg(long)]
        to: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Alerts { remote, command } => ackbot::cli::alerts(&remote, &command),
        Command::Silence { remote, command } => ackbot::cli::silence(&remote, &command),
        Command::Deliveries { remote, command } => ackbot::cli::deliveries(&remote, &command),
        Command::HashPassword => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err()
                || line.trim_end_matches(['\n', '\r']).is_empty()
            {
                eprintln!("ackbot: give the password on standard input, one line");
                return ExitCode::from(2);
            }
            println!(
                "{}",
                ackbot::config::ui::hash_password(line.trim_end_matches(['\n', '\r']))
            );
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "ackbot", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Serve { config, state_dir } => serve(config, state_dir),
        Command::CheckConfig { config } => check_config(config),
        Command::Render {
            config,
            channel,
            alert,
        } => render(config, &channel, &alert),
        Command::Send {
            config,
            channel,
            title,
            severity,
            content,
            service,
            to,
        } => send(config, &channel, &title, &severity, &content, service, to),
    }
}

fn render(path: Option<PathBuf>, channel: &str, alert: &std::path::Path) -> ExitCode {
    let (config, names) = match Config::load_for_channel(path.as_deref(), channel) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("ackbot: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(kind) = config
        .channels
        .iter()
        .find(|c| c.name == channel)
        .map(|c| c.kind)
    else {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        eprintln!(
            "ackbot: no channel `{channel}`; configured: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let text = if alert.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(alert)
    };
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ackbot: cannot read {}: {e}", alert.display());
            return ExitCode::from(2);
        }
    };
    let new = serde_json::from_str::<ackbot::domain::alert::AlertInput>(&text)
        .map_err(|e| e.to_string())
        .and_then(|i| ackbot::domain::NewAlert::try_from(i).map_err(|e| e.to_string()));
    let new = match new {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "ackbot: {} is not an alert in ackbot's JSON: {e}",
                alert.display()
            );
            return ExitCode::from(2);
        }
    };
    let now = chrono::Utc::now();
    let look = config.card_look(Some(channel));
    let mut record = ackbot::store::AlertRecord::preview(&new, now);
    if let Some(t) = config
        .channels
        .iter()
        .find(|c| c.name == channel)
        .and_then(|c| c.templates().ok().flatten())
    {
        record = t.apply(record, look);
    }
    let resolved = record.state == "resolved";
    let links =
        ackbot::delivery::LinkSigner::from_config(&config).map(|l| l.links(&record.id, now));
    let message = ackbot::outbound::cards::Message {
        kind: if resolved {
            ackbot::engine::NoticeKind::Resolved
        } else if kind.pages() {
            ackbot::engine::NoticeKind::Page
        } else {
            ackbot::engine::NoticeKind::Firing
        },
        items: vec![ackbot::outbound::cards::Item {
            console: config
                .ui
                .card_base(config.server.public_url.as_deref())
                .map(|b| format!("{b}/alerts/{}", record.id)),
            alert: record,
            links,
        }],
        omitted: 0,
        digest: None,
        occurrences: 1,
        now,
        audience: Default::default(),
        look,
    };
    println!("{}", ackbot::outbound::cards::preview(kind, &message));
    ExitCode::SUCCESS
}

fn send(
    path: Option<PathBuf>,
    channel: &str,
    title: &str,
    severity: &str,
    content: &str,
    service: Option<String>,
    to: Option<String>,
) -> ExitCode {
    // Only what sending through that channel needs is read and expanded.
    let (config, names) = match Config::load_for_channel(path.as_deref(), channel) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("ackbot: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let severity = match ackbot::domain::Severity::parse("severity", severity) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ackbot: {e}");
            return ExitCode::from(2);
        }
    };
    let channels = match ackbot::outbound::build(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ackbot: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(target) = channels.get(channel) else {
        let mut names: Vec<_> = names.iter().map(String::as_str).collect();
        names.sort_unstable();
        eprintln!(
            "ackbot: no channel named `{channel}`; configured: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
        return ExitCode::from(2);
    };
    let now = chrono::Utc::now();
    let alert = ackbot::store::AlertRecord::test_alert(title, content, severity, service, now);
    let links = ackbot::delivery::LinkSigner::from_config(&config).map(|l| l.links(&alert.id, now));
    let mut audience = ackbot::outbound::cards::Audience::default();
    if target.kind().pages() {
        let Some(to) = to else {
            eprintln!("ackbot: `{channel}` pages a person: say whom with --to <name or +number>");
            return ExitCode::from(2);
        };
        audience.to = Some(match config.people.iter().find(|p| p.name == to) {
            Some(p) => p.clone(),
            None if ackbot::outbound::page::is_e164(&to) => ackbot::config::oncall::PersonConfig {
                name: to.clone(),
                phone: Some(to.clone()),
                email: None,
                feishu_open_id: None,
                dingtalk_user_id: None,
                wecom_user_id: None,
            },
            None => {
                eprintln!("ackbot: --to `{to}` is neither a [[people]] name nor an E.164 number");
                return ExitCode::from(2);
            }
        });
    }
    let message = ackbot::outbound::cards::Message {
        kind: if target.kind().pages() {
            ackbot::engine::NoticeKind::Page
        } else {
            ackbot::engine::NoticeKind::Firing
        },
        items: vec![ackbot::outbound::cards::Item {
            alert,
            links,
            console: None,
        }],
        omitted: 0,
        digest: None,
        occurrences: 1,
        now,
        audience,
        look: config.card_look(Some(target.name())),
    };
    let key = format!("ackbot-test-{}", now.timestamp_millis());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(target.send(&message, &key)) {
        Ok(sent) => {
            println!(
                "sent through `{channel}` ({:?}). The platform answered:",
                target.kind()
            );
            println!("{}", sent.answer);
            ExitCode::SUCCESS
        }
        Err(e) => {
            let kind = match e {
                ackbot::outbound::SendError::Transient { .. } => {
                    "temporary failure (would be retried)"
                }
                ackbot::outbound::SendError::Permanent { .. } => "refused",
            };
            eprintln!("ackbot: `{channel}`: {kind}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(path: Option<PathBuf>, state_dir: Option<PathBuf>) -> ExitCode {
    ackbot::telemetry::init("info");
    // The config path as given, before the working directory moves (a
    // reload reads it again).
    let path = path.map(|p| std::path::absolute(&p).unwrap_or(p));
    if let Some(dir) = state_dir {
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::env::set_current_dir(&dir))
        {
            tracing::error!("state directory {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let (config, source) = match Config::load(path.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(%source, "configuration loaded");
    let faults = match ackbot::faults::Faults::from_env() {
        Ok(f) => std::sync::Arc::new(f),
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(2);
        }
    };
    let run = actix_web::rt::System::new().block_on(async move {
        let options = ackbot::startup::Options {
            faults,
            config_path: path,
            ..Default::default()
        };
        let app = Application::build_with(config, options).await?;
        app.serve_until_signalled().await
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("ackbot stopped: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: Option<PathBuf>) -> ExitCode {
    match Config::load(path.as_deref()) {
        Ok((config, source)) => {
            println!("# configuration from {source}; valid. Secrets are shown as ********.");
            print!("{}", config.to_masked_toml());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ackbot: invalid configuration: {e}");
            ExitCode::from(2)
        }
    }
}
