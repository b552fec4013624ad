#!/usr/bin/env bash
# Load test of the CI webhooks: a release ackbot on 127.0.0.1 over HTTPS (its
# generated self-signed certificate) with one [[ci.github]] source, driven by
# examples/cigen.rs: GET /healthz against verified GitHub workflow_run
# deliveries on POST /ci/github, in the same run.
#
#   bench/ci.sh                          # port 18444, 32 connections, 2 rounds of 2 s + 10 s
#   PORT=19444 bench/ci.sh --connections 64 --duration 20
#
# Extra arguments go to the load generator (`--help` of the example).
# Environment: PORT, WORKERS (server.workers), BIN (another ackbot build).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18444}"
SECRET="bench-github-secret"

echo "== building (release)"
cargo build --release --quiet --bin ackbot --example cigen

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
    echo "replay_cache_capacity = 5000000"
    echo
    echo '[storage]'
    echo "url = \"sqlite://$tmp/ackbot.db\""
    echo
    echo '[[ci.github]]'
    echo 'name = "bench"'
    echo "secret = \"$SECRET\""
} >"$tmp/ackbot.toml"

echo "== starting ${BIN:-target/release/ackbot} serve on 127.0.0.1:$PORT (RUST_LOG=warn)"
RUST_LOG=warn "${BIN:-./target/release/ackbot}" serve --config "$tmp/ackbot.toml" >"$tmp/server.log" 2>&1 &
server_pid=$!
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
./target/release/examples/cigen \
    --url "https://127.0.0.1:$PORT" \
    --cacert "$tmp/certs/server.crt" \
    --secret "$SECRET" \
    --server-pid "$server_pid" \
    "$@" || status=$?

if [[ -s "$tmp/server.log" ]]; then
    echo "== server log (warnings and errors)"
    tail -n 20 "$tmp/server.log"
fi
exit "$status"
