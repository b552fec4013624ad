# ackbot in a container: built from source, run as a non-root user.
#   docker build -t ackbot .
#   docker run -d --name ackbot -p 8443:8443 -v ackbot:/var/lib/ackbot \
#     -v $PWD/ackbot.toml:/etc/ackbot/ackbot.toml:ro \
#     ackbot serve --config /etc/ackbot/ackbot.toml
# The state (SQLite data/, generated certs/) is in /var/lib/ackbot: keep it
# on a volume. Without a config file it runs on the built-in defaults.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin ackbot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/ackbot --shell /usr/sbin/nologin ackbot \
    && mkdir -p /var/lib/ackbot /etc/ackbot \
    && chown ackbot:ackbot /var/lib/ackbot
COPY --from=build /src/target/release/ackbot /usr/local/bin/ackbot
COPY ackbot.example.toml /etc/ackbot/ackbot.example.toml
USER ackbot
ENV ACKBOT_STATE_DIR=/var/lib/ackbot
VOLUME ["/var/lib/ackbot"]
EXPOSE 8443
# -k: the generated certificate is self-signed; this only asks "is it up".
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsk https://127.0.0.1:8443/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/ackbot"]
CMD ["serve"]
