#!/usr/bin/env bash
# End-to-end delivery benchmark: a release ackbot on 127.0.0.1 (HTTPS, SQLite)
# whose only channel is a local webhook receiver that answers at once
# (examples/delivergen.rs). No routes: every alert is its own group, sent at
# once (group_wait = 0s); the webhook channel has no rate limit.
#
#   bench/deliver.sh                      # latency at 500 alerts/s, then throughput
#   RATE=1000 DURATION=20 bench/deliver.sh
#
# Environment: PORT (18470), RECEIVER (127.0.0.1:18471), RATE (500),
# DURATION (10), COUNT (10000), BIN (another ackbot build to measure, e.g. an
# older one; default target/release/ackbot). Client, receiver and server share the cores.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18470}"
RECEIVER="${RECEIVER:-127.0.0.1:18471}"
RATE="${RATE:-500}"
DURATION="${DURATION:-10}"
COUNT="${COUNT:-10000}"
TOKEN="bench-api-token-0123456789abcdef"

echo "== building (release)"
cargo build --release --quiet --bin ackbot --example delivergen

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-deliver.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

start_server() {
    rm -rf "$tmp/data"
    cat >"$tmp/ackbot.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
generated_cert_dir = "$tmp/certs"

[storage]
url = "sqlite://$tmp/data/ackbot.db"

[api]
tokens = ["$TOKEN"]

[[channels]]
name = "bench"
type = "webhook"
url = "http://$RECEIVER/hook"
TOML
    RUST_LOG=warn "${BIN:-./target/release/ackbot}" serve --config "$tmp/ackbot.toml" >>"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if [[ -f "$tmp/certs/server.crt" ]] &&
            curl -fsS --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "ackbot did not start:" >&2
    cat "$tmp/server.log" >&2
    exit 1
}

stop_server() {
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

gen() {
    timeout 300 ./target/release/examples/delivergen --url "https://127.0.0.1:$PORT" \
        --cacert "$tmp/certs/server.crt" --token "$TOKEN" --receiver "$RECEIVER" "$@"
}

echo "== $(nproc) cores shared by the generator, the receiver and the server"
start_server
gen latency --rate "$RATE" --duration "$DURATION"
stop_server
start_server
gen throughput --count "$COUNT"
stop_server
if grep -qiE 'error|panic' "$tmp/server.log"; then
    echo "== server log (errors)"
    grep -iE 'error|panic' "$tmp/server.log" | tail -n 20
fi
