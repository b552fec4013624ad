//! Builds the actix application. `main` and the black-box tests use the same
//! [`Application`]: it binds its own listener (port 0 picks a free port, which
//! tests read back with [`Application::port`]), sets up TLS, and runs until stopped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use arc_swap::ArcSwap;
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::delivery::Delivery;
use crate::faults::Faults;
use crate::inbound::api::{self, ApiTokens};
use crate::inbound::health::Lifecycle;
use crate::inbound::{self, BodyLimit, Inbound, health};
use crate::interaction::InteractionHandler;
use crate::reload::Reloader;
use crate::store::Store;
use crate::tasks::Tasks;
use crate::telemetry;
use crate::tls::{self, CertOrigin};

/// How long a stop waits for requests in flight before closing their
/// connections anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Receives the acting interaction handler and returns the one the
/// callbacks use (tests wrap it to record what arrives).
pub type Decorate = Box<dyn FnOnce(Arc<dyn InteractionHandler>) -> Arc<dyn InteractionHandler>>;

/// How the server is built besides its config.
pub struct Options {
    pub decorate: Decorate,
    /// Fault points a test armed.
    pub faults: Arc<Faults>,
    /// The file a reload reads (`--config`); `None`: `./ackbot.toml` if it
    /// exists, else the defaults, as at start-up.
    pub config_path: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            decorate: Box::new(|acting| acting),
            faults: Arc::new(Faults::none()),
            config_path: None,
        }
    }
}

pub struct Application {
    port: u16,
    https: bool,
    server: Server,
    rest: Running,
}

/// What runs beside the HTTP server, and what stopping needs.
struct Running {
    handle: ServerHandle,
    tasks: Tasks,
    life: web::Data<Lifecycle>,
    store: Arc<dyn Store>,
    delivery: Arc<Delivery>,
    delivery_task: tokio::task::JoinHandle<()>,
    stop_delivery: tokio::sync::watch::Sender<bool>,
    /// How long in-flight sends may take when stopping.
    send_timeout: Duration,
    reloader: web::Data<Reloader>,
    /// Flushed when stopping.
    replay: Arc<crate::replay::ReplayMemory>,
}

impl Application {
    /// Builds with the interaction handler that acts on alerts.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, Options::default()).await
    }

    /// [`Application::build_with`] with only a handler decoration.
    pub async fn build_with_handler(
        config: Config,
        decorate: impl FnOnce(Arc<dyn InteractionHandler>) -> Arc<dyn InteractionHandler> + 'static,
    ) -> anyhow::Result<Self> {
        Self::build_with(
            config,
            Options {
                decorate: Box::new(decorate),
                ..Options::default()
            },
        )
        .await
    }

    /// Opens storage (applying migrations), starts the background tasks,
    /// then binds and configures the server.
    pub async fn build_with(config: Config, options: Options) -> anyhow::Result<Self> {
        let tasks = Tasks::new();
        let engine = crate::engine::Engine::from_config(&config);
        tracing::info!(storage = %storage_location(config.storage.url.expose()), "opening storage");
        let background = crate::store::Background {
            tasks: tasks.clone(),
            faults: options.faults.clone(),
        };
        let store = crate::store::open_with(config.storage.url.expose(), engine, background)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open storage: {e}"))?;
        if options.faults.any() {
            tracing::warn!(
                "fault points are armed (ACKBOT_FAULTS): this instance fails on purpose"
            );
        }
        // A single instance (SQLite) owns every lease: rows a killed process
        // had claimed are due again now, not when their lease runs out.
        if config.storage.url.expose().starts_with("sqlite:") {
            let released = store
                .release_leases(None)
                .await
                .map_err(|e| anyhow::anyhow!("cannot release old leases: {e}"))?;
            if released > 0 {
                tracing::info!(
                    rows = released,
                    "deliveries claimed before a restart are due again"
                );
            }
        }
        let allowed = Arc::new(ArcSwap::from_pointee(
            crate::act::handler::Allowed::from_config(&config),
        ));
        let oncall = Arc::new(ArcSwap::from_pointee(
            crate::watch::escalations::Oncall::from_config(&config),
        ));
        let handler = (options.decorate)(Arc::new(crate::act::handler::ChatOps {
            ops: crate::act::ops::Ops {
                store: store.clone(),
            },
            allowed: allowed.clone(),
            oncall: oncall.clone(),
        }));
        let addr = config.listen_addr()?;
        let listener =
            TcpListener::bind(addr).map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
        // Accepted sockets inherit TCP_NODELAY from the listener (Linux). Without
        // it, HTTP/2 responses written as two frames wait ~40 ms for the
        // client's delayed ACK (Nagle), on every other request.
        socket2::SockRef::from(&listener).set_tcp_nodelay(true)?;
        let port = listener.local_addr()?.port();
        warn_about_weak_settings(&config);

        let replay = crate::replay::ReplayMemory::start(
            store.clone(),
            config.server.replay_cache_capacity,
            &tasks,
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the replay memory: {e}"))?;
        let inbound = web::Data::new(Inbound::from_config(
            &config,
            handler,
            replay.clone(),
            oncall,
        ));
        let limit = web::Data::new(BodyLimit(config.server.max_body_bytes));
        let body_timeout = web::Data::new(inbound::BodyTimeout(config.server.body_timeout));
        let peers = web::Data::new(inbound::peers::Peers::new(
            config.server.max_requests_per_peer,
        ));
        let workers = config
            .server
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let max_connections = connection_cap(config.server.max_connections);
        let ingest_limit = config.server.max_ingest_body_bytes;
        let errors_limit = config.errors.max_body_bytes;
        let logs_limit = config.logs.max_body_bytes;
        let tokens = web::Data::new(ApiTokens::new(config.api.tokens.clone()));
        let link_pages = web::Data::new(crate::inbound::links::LinkPages::from_config(&config));
        let channels = crate::outbound::build(&config).map_err(|e| anyhow::anyhow!(e))?;
        let (stop_delivery, stop) = tokio::sync::watch::channel(false);
        let delivery = Arc::new(Delivery::new(
            store.clone(),
            channels,
            &config,
            stop.clone(),
            inbound.oncall.clone(),
        ));
        let delivery_task = delivery.clone().spawn(&tasks);
        crate::watch::retention::spawn(store.clone(), config.storage.retention, &tasks);
        crate::watch::streaks::spawn(store.clone(), inbound.ci_rules.clone(), &tasks);
        crate::watch::quiet::spawn(store.clone(), &tasks);
        crate::watch::escalations::spawn(store.clone(), inbound.oncall.clone(), &tasks);
        crate::watch::gauges::spawn(store.clone(), replay.clone(), &tasks);
        crate::watch::inhibitions::spawn(store.clone(), &tasks);
        crate::watch::prober::spawn(
            store.clone(),
            inbound.ci_rules.clone(),
            inbound.watched.clone(),
            stop.clone(),
            &tasks,
        );
        let life = web::Data::new(Lifecycle::new(tasks.clone()));
        let reloader = web::Data::new(Reloader::new(
            options.config_path,
            config.clone(),
            store.clone(),
            delivery.clone(),
            inbound.clone(),
            tokens.clone(),
            link_pages.clone(),
            allowed,
        ));
        let store_data = api::store_data(store.clone());
        let (app_life, app_reloader) = (life.clone(), reloader.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(inbound::peers::limit))
                .wrap(from_fn(health::track))
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::<telemetry::RedactedRootSpan>::new())
                .app_data(inbound.clone())
                .app_data(limit.clone())
                .app_data(body_timeout.clone())
                .app_data(peers.clone())
                .app_data(tokens.clone())
                .app_data(link_pages.clone())
                .app_data(store_data.clone())
                .app_data(app_life.clone())
                .app_data(app_reloader.clone())
                // Before the /api/v1 scope, which would answer 404 for /api/v1/logs.
                .configure(|cfg| inbound::logs::routes(cfg, logs_limit))
                .configure(inbound::heartbeats::routes)
                .configure(api::routes(ingest_limit))
                .configure(|cfg| inbound::sentry::routes(cfg, errors_limit))
                .configure(routes(ingest_limit))
        })
        // Stops are ours (`serve_until_signalled`, `stop`): they close idle
        // keep-alive connections at once instead of waiting for them.
        .disable_signals()
        .shutdown_timeout(DRAIN_LIMIT.as_secs())
        // Slow clients: headers within this, bodies within `body_timeout`
        // (`inbound::body`), at most this many connections in all (actix
        // counts per worker), at most `max_requests_per_peer` busy per
        // address (`inbound::peers`).
        .client_request_timeout(config.server.header_timeout)
        .max_connections(max_connections.div_ceil(workers))
        .workers(workers);
        let https = !config.server.insecure_http;
        let server = if https {
            let (tls_config, origin) = tls::server_config(&config.server)?;
            match origin {
                CertOrigin::Configured { cert } => {
                    tracing::info!(cert = %cert.display(), "TLS with the configured certificate")
                }
                CertOrigin::Generated { cert } => tracing::info!(
                    cert = %cert.display(),
                    "generated a self-signed certificate for localhost; trust it or configure server.tls_cert/tls_key (see certs/README.md)"
                ),
                CertOrigin::Reused { cert } => {
                    tracing::info!(cert = %cert.display(), "TLS with the self-signed certificate generated earlier")
                }
            }
            server.listen_rustls_0_23(listener, tls_config)?
        } else {
            tracing::warn!(
                "server.insecure_http = true: serving PLAIN HTTP. Only do this behind a proxy that terminates TLS; signatures and tokens cross the wire in clear text otherwise"
            );
            server.listen(listener)?
        };
        tracing::info!(%addr, port, scheme = if https { "https" } else { "http" }, "ackbot listening");
        let server = server.run();
        Ok(Self {
            port,
            https,
            rest: Running {
                handle: server.handle(),
                tasks,
                life,
                store,
                send_timeout: config.delivery.timeout,
                delivery,
                delivery_task,
                stop_delivery,
                reloader,
                replay,
            },
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// A handle that stops the HTTP server at once (tests that restart
    /// ackbot); [`Application::run_until_stopped`] then stops the rest.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until the HTTP server is stopped through [`Application::handle`]
    /// or a background task fails (an error: the process should exit
    /// non-zero). No signal handling: for tests and embedding.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run(false).await
    }

    /// What `ackbot serve` runs: as [`Application::run_until_stopped`], and
    /// SIGTERM or SIGINT stop gracefully, SIGHUP reloads the config.
    pub async fn serve_until_signalled(self) -> anyhow::Result<()> {
        self.run(true).await
    }

    async fn run(self, signals: bool) -> anyhow::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut signals = if signals {
            Some((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
                signal(SignalKind::hangup())?,
            ))
        } else {
            None
        };
        let Self { server, rest, .. } = self;
        let tasks = rest.tasks.clone();
        // The server runs as its own task: it must keep being polled to
        // carry out the pause and stop commands of the graceful stop.
        let mut server = tokio::spawn(server);
        let outcome = loop {
            let (term, int, hup) = match signals.as_mut() {
                Some((t, i, h)) => (Some(t), Some(i), Some(h)),
                None => (None, None, None),
            };
            tokio::select! {
                result = &mut server => {
                    break match result {
                        Ok(r) => r.map_err(anyhow::Error::from),
                        Err(e) => Err(anyhow::anyhow!("the HTTP server task failed: {e}")),
                    };
                }
                name = tasks.first_stopped() => {
                    tracing::error!(task = name, "a background task stopped; ackbot stops so that it can be restarted");
                    break Err(anyhow::anyhow!("background task `{name}` stopped"));
                }
                Some(()) = recv(term) => {
                    tracing::info!("SIGTERM: stopping");
                    break Ok(());
                }
                Some(()) = recv(int) => {
                    tracing::info!("SIGINT: stopping");
                    break Ok(());
                }
                Some(()) = recv(hup) => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    let _ = rest.reloader.reload().await;
                }
            }
        };
        rest.stop().await;
        if !server.is_finished() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        outcome
    }
}

impl Running {
    /// The graceful stop: readiness turns 503 and no new connection is
    /// accepted; the delivery worker claims nothing more; requests in
    /// flight finish (their answers close their connections), then idle
    /// keep-alive connections are closed at once; sends in flight finish
    /// within the send timeout; rows claimed but not sent are handed back.
    async fn stop(self) {
        let started = std::time::Instant::now();
        self.tasks.stopping();
        self.life.drain();
        let _ = self.stop_delivery.send(true);
        let handle = self.handle.clone();
        handle.pause().await;
        while self.life.inflight() > 0 && started.elapsed() < DRAIN_LIMIT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.stop(false).await;
        // No callback comes in any more: what the replay memory accepted is
        // written before the process goes.
        if tokio::time::timeout(Duration::from_secs(5), self.replay.flush())
            .await
            .is_err()
        {
            tracing::warn!("the replay memory could not be written in time");
        }
        let mut delivery_task = self.delivery_task;
        let bound = self.send_timeout + Duration::from_secs(1);
        if tokio::time::timeout(bound, &mut delivery_task)
            .await
            .is_err()
        {
            tracing::warn!("sends still in flight after the timeout; stopping them");
            delivery_task.abort();
        }
        match self
            .store
            .release_leases(Some(self.delivery.worker()))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "handed back deliveries claimed but not sent"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot hand back claimed deliveries; they are due again when their lease ends")
            }
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "ackbot stopped"
        );
    }
}

/// The connections the server may hold: `wanted`, within the file
/// descriptors the process may open (raised to the hard limit first), with
/// room left for storage, outbound sends and logs.
fn connection_cap(wanted: usize) -> usize {
    const RESERVE: u64 = 256;
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = usize::try_from(limit.saturating_sub(RESERVE).max(16)).unwrap_or(usize::MAX);
    if wanted > room {
        tracing::warn!(
            max_connections = wanted,
            open_files_limit = limit,
            "server.max_connections is above what the open-files limit leaves; using {room}"
        );
    }
    wanted.min(room)
}

/// The next signal, or never when signals are not handled.
async fn recv(signal: Option<&mut tokio::signal::unix::Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// The storage URL as the log shows it: the SQLite path, or the PostgreSQL
/// host and database without credentials.
fn storage_location(url: &str) -> String {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        let absolute = std::path::absolute(path)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.to_string());
        return format!("sqlite {absolute}");
    }
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "postgres {}:{}{}",
            u.host_str().unwrap_or("?"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "postgres".to_string(),
    }
}

/// The public HTTP contract (`../shared/DESIGN.md`): paths are part of the product.
fn routes(ingest_limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| public_routes(cfg, ingest_limit)
}

fn public_routes(cfg: &mut web::ServiceConfig, ingest_limit: usize) {
    let json_405 = || web::to(health::method_not_allowed);
    cfg.service(
        web::resource("/healthz")
            .get(health::healthz)
            .default_service(json_405()),
    )
    .service(
        web::resource("/readyz")
            .get(health::readyz)
            .default_service(json_405()),
    )
    .service(
        web::resource("/metrics")
            .get(health::metrics)
            .default_service(json_405()),
    )
    .service(
        web::resource("/favicon.ico")
            .get(health::favicon)
            .default_service(json_405()),
    )
    .service(
        web::resource("/-/reload")
            .post(inbound::reload::reload)
            .default_service(json_405()),
    )
    .service(
        web::resource("/feishu/events")
            .post(inbound::feishu::events)
            .default_service(json_405()),
    )
    .service(
        web::resource("/feishu/card")
            .post(inbound::feishu::legacy_card)
            .default_service(json_405()),
    )
    .service(
        web::resource("/dingtalk/robot")
            .post(inbound::dingtalk::robot)
            .default_service(json_405()),
    )
    .service(
        web::resource("/dingtalk/card")
            .post(inbound::dingtalk::card)
            .default_service(json_405()),
    )
    .service(
        web::resource("/wecom/callback")
            .get(inbound::wecom::verify_url)
            .post(inbound::wecom::callback)
            .default_service(json_405()),
    )
    .service(
        web::scope("/ui")
            .service(
                web::resource("")
                    .get(inbound::ui::home)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/login")
                    .get(inbound::ui::login_page)
                    .post(inbound::ui::login)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/logout")
                    .post(inbound::ui::logout)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/alerts")
                    .get(inbound::ui::alerts)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/alerts/{id}")
                    .get(inbound::ui::alert)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/alerts/{id}/{action}")
                    .post(inbound::ui::act)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/silences")
                    .get(inbound::ui::silences)
                    .post(inbound::ui::create_silence)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/silences/{id}/expire")
                    .post(inbound::ui::expire_silence)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/overview")
                    .get(inbound::ui::overview)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/deliveries")
                    .get(inbound::ui::deliveries)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/alerts/{id}/deliveries/{delivery}/retry")
                    .post(inbound::ui::retry_delivery)
                    .default_service(json_405()),
            )
            .service(
                web::resource("/channels/{name}/retry")
                    .post(inbound::ui::retry_channel)
                    .default_service(json_405()),
            ),
    )
    .service(
        web::resource("/twilio/status")
            .post(inbound::twilio::post_status)
            .default_service(json_405()),
    )
    .service(ci_routes(ingest_limit))
    .service(
        web::resource("/a/{token}")
            .get(inbound::links::confirm)
            .post(inbound::links::act)
            .default_service(json_405()),
    )
    .default_service(web::to(health::not_found));
}

/// `/ci/*`: bodies up to the ingest limit (GitHub and GitLab send up to 25 MB).
fn ci_routes(ingest_limit: usize) -> actix_web::Scope {
    use inbound::ci;
    let json_405 = || web::to(health::method_not_allowed);
    let mut scope = web::scope("/ci").app_data(web::Data::new(BodyLimit(ingest_limit)));
    for (path, handler) in [
        ("/github", web::post().to(ci::github)),
        ("/gitlab", web::post().to(ci::gitlab)),
        ("/gitee", web::post().to(ci::gitee)),
        ("/gitea", web::post().to(ci::gitea)),
        ("/jenkins", web::post().to(ci::jenkins)),
    ] {
        scope = scope.service(
            web::resource(path)
                .route(handler)
                .default_service(json_405()),
        );
    }
    scope.default_service(web::to(health::not_found))
}

/// Start-up warnings for settings that work but weaken security or do nothing.
pub(crate) fn warn_about_weak_settings(config: &Config) {
    if let Some(f) = &config.feishu {
        if f.encrypt_key.is_none() {
            tracing::warn!(
                "[feishu] has no encrypt_key: Feishu events are then authenticated only by the verification token, which travels in clear text. Set an Encrypt Key in the Feishu console and here"
            );
        }
    }
    if config.api.tokens.is_empty() {
        tracing::warn!(
            "[api] tokens is empty: every /api/v1 request is refused with 401. Add a token, e.g. tokens = [\"${{ACKBOT_API_TOKEN}}\"]"
        );
    }
    if config.channels.is_empty() {
        tracing::info!(
            "no [[channels]]: alerts are stored and their notification decisions recorded as `unrouted`. Add a channel (see ackbot.example.toml), e.g. [[channels]] name = \"ops\" type = \"feishu_bot\" url = \"${{FEISHU_BOT_URL}}\""
        );
    }
    if config.feishu.is_none() && config.dingtalk.is_none() && config.wecom.is_none() {
        tracing::info!(
            "no [feishu], [dingtalk] or [wecom] section: their callback endpoints answer 404 until configured"
        );
    }
}
