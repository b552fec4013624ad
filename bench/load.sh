#!/usr/bin/env bash
# Load test: a release ackbot on 127.0.0.1 over HTTPS (its generated self-signed
# certificate), driven by examples/loadgen.rs. Compares GET /healthz with signed,
# encrypted Feishu card.action.trigger callbacks on POST /feishu/events.
#
#   bench/load.sh                       # defaults: port 18443, 32 connections, 2 rounds of 2 s + 10 s
#   PORT=19443 bench/load.sh --connections 64 --duration 20
#
# Extra arguments go to the load generator (see `--help` of the example).
# Environment: PORT (default 18443), WORKERS (server.workers; default: one per
# core), REPLAY_CAPACITY (server.replay_cache_capacity; default 5000000), BIN
# (another ackbot build to measure, e.g. the previous release; default
# target/release/ackbot). The database lives in the run's temporary directory.
# Client and server share the machine's cores; that is part of what is measured.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18443}"
TOKEN="bench-token"
ENCRYPT_KEY="bench-encrypt-key"

echo "== building (release)"
cargo build --release --quiet --bin ackbot --example loadgen

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "port $PORT on 127.0.0.1 is already in use; set PORT=..." >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-bench.XXXXXX")"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

{
    echo '[server]'
    echo "listen = \"127.0.0.1:$PORT\""
    echo "generated_cert_dir = \"$tmp/certs\""
    if [[ -n "${WORKERS:-}" ]]; then echo "workers = $WORKERS"; fi
    # Every accepted callback stays in the replay memory for 24 h. A long run
    # can accept more than the default capacity (1 000 000 per namespace),
    # after which the server rightly answers 503; size it for the benchmark.
    echo "replay_cache_capacity = ${REPLAY_CAPACITY:-5000000}"
    echo
    echo '[storage]'
    echo "url = \"sqlite://$tmp/ackbot.db\""
    echo
    echo '[feishu]'
    echo "verification_token = \"$TOKEN\""
    echo "encrypt_key = \"$ENCRYPT_KEY\""
} >"$tmp/ackbot.toml"

echo "== starting target/release/ackbot serve on 127.0.0.1:$PORT (RUST_LOG=warn)"
RUST_LOG=warn "${BIN:-./target/release/ackbot}" serve --config "$tmp/ackbot.toml" >"$tmp/server.log" 2>&1 &
server_pid=$!

# Wait for the listener (the certificate is generated on first start).
for _ in $(seq 1 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "ackbot exited during start-up:" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    if [[ -f "$tmp/certs/server.crt" ]] &&
        curl -fsS --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
curl -fsS --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null

echo "== load ($(nproc) cores shared by client and server)"
status=0
./target/release/examples/loadgen \
    --url "https://127.0.0.1:$PORT" \
    --cacert "$tmp/certs/server.crt" \
    --token "$TOKEN" \
    --encrypt-key "$ENCRYPT_KEY" \
    --server-pid "$server_pid" \
    "$@" || status=$?

if [[ -s "$tmp/server.log" ]]; then
    echo "== server log (warnings and errors)"
    tail -n 20 "$tmp/server.log"
fi
exit "$status"
