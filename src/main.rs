//! The `ackbot` command line: `serve`, `check-config`.

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
    /// Run the server.
    Serve {
        /// TOML config file (default: ./ackbot.toml if present, else built-in defaults).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Load and validate the config, print what would run (secrets masked), exit.
    CheckConfig {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::CheckConfig { config } => check_config(config),
    }
}

fn serve(path: Option<PathBuf>) -> ExitCode {
    ackbot::telemetry::init("info");
    let (config, source) = match Config::load(path.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => {
            tracing::error!("invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(%source, "configuration loaded");
    let run = actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).await?;
        app.run_until_stopped().await?;
        anyhow::Ok(())
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
