//! Builds the actix application. `main` and the black-box tests use the same
//! [`Application`]: it binds its own listener (port 0 picks a free port, which
//! tests read back with [`Application::port`]), sets up TLS, and runs until stopped.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::config::Config;
use crate::inbound::api::{self, ApiTokens};
use crate::inbound::{self, BodyLimit, Inbound, health};
use crate::interaction::InteractionHandler;
use crate::telemetry;
use crate::tls::{self, CertOrigin};

pub struct Application {
    port: u16,
    https: bool,
    server: Server,
    /// The delivery worker, when channels are configured. It stops with the
    /// server; unfinished rows are claimed again after their lease.
    delivery: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Builds with the interaction handler that acts on alerts.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_handler(config, |acting| acting).await
    }

    /// Opens storage (applying migrations), then binds and configures the
    /// server. `decorate` receives the acting interaction handler and returns
    /// the one the callbacks use (tests wrap it to record what arrives).
    pub async fn build_with_handler(
        config: Config,
        decorate: impl FnOnce(Arc<dyn InteractionHandler>) -> Arc<dyn InteractionHandler>,
    ) -> anyhow::Result<Self> {
        let engine = crate::engine::Engine::from_config(&config);
        let store = crate::store::open(config.storage.url.expose(), engine)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open storage: {e}"))?;
        let handler = decorate(Arc::new(crate::act::handler::ChatOps {
            ops: crate::act::ops::Ops {
                store: store.clone(),
            },
            allowed: crate::act::handler::Allowed::from_config(&config),
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

        let inbound = web::Data::new(Inbound::from_config(&config, handler));
        let limit = web::Data::new(BodyLimit(config.server.max_body_bytes));
        let tokens = web::Data::new(ApiTokens(config.api.tokens.clone()));
        let link_pages = web::Data::new(crate::inbound::links::LinkPages::from_config(&config));
        let delivery = if config.channels.is_empty() {
            None
        } else {
            let channels = crate::outbound::build(&config).map_err(|e| anyhow::anyhow!(e))?;
            Some(crate::delivery::Delivery::new(store.clone(), channels, &config).spawn())
        };
        let store = api::store_data(store);
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::<telemetry::RedactedRootSpan>::new())
                .app_data(inbound.clone())
                .app_data(limit.clone())
                .app_data(tokens.clone())
                .app_data(link_pages.clone())
                .app_data(store.clone())
                .configure(routes)
        });
        if let Some(workers) = config.server.workers {
            server = server.workers(workers);
        }
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
        Ok(Self {
            port,
            https,
            server: server.run(),
            delivery,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// Runs until SIGINT/SIGTERM (actix stops accepting, then drains in-flight
    /// requests for up to 30 s).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(delivery) = self.delivery {
            delivery.abort();
        }
        result
    }

    /// Stops the server (gracefully, like SIGTERM) and with it the delivery
    /// worker; for tests that restart ackbot.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }
}

/// The public HTTP contract (`../shared/DESIGN.md`): paths are part of the product.
fn routes(cfg: &mut web::ServiceConfig) {
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
    .configure(api::routes)
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
        web::resource("/a/{token}")
            .get(inbound::links::confirm)
            .post(inbound::links::act)
            .default_service(json_405()),
    )
    .default_service(web::to(health::not_found));
}

/// Start-up warnings for settings that work but weaken security or do nothing.
fn warn_about_weak_settings(config: &Config) {
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
