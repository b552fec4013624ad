#!/usr/bin/env bash
# Load test of the error and log endpoints: a release ackbot on 127.0.0.1 over
# HTTPS (its generated self-signed certificate) with one Sentry project and 5
# log rules, driven by examples/intakegen.rs: GET /healthz, gzip Sentry
# envelopes, Loki JSON pushes of 1 000 lines (1 % matching), then grep -cE
# with the same 5 patterns over the same lines, in the same run.
#
#   bench/intake.sh                      # port 18445, 2 s + 10 s per phase
#   PORT=19445 bench/intake.sh --duration 20
#
# Extra arguments go to the load generator (`--help` of the example).
# Environment: PORT, WORKERS (server.workers), BIN (another ackbot build).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18445}"
KEY="0123456789abcdef0123456789abcdef"
TOKEN="bench-logs-token"

echo "== building (release)"
cargo build --release --quiet --bin ackbot --example intakegen

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
    echo '[errors]'
    echo 'rate_per_second = 1000000'
    echo 'rate_burst = 1000000'
    echo '[[errors.projects]]'
    echo 'id = 42'
    echo "public_key = \"$KEY\""
    echo 'service = "shop"'
    echo
    echo '[logs]'
    echo "tokens = [\"$TOKEN\"]"
    cat <<'RULES'
[[logs.rules]]
name = "app-errors"
regex = '\[ERROR\] (?P<service>\w+) - (?P<message>.+)'
level = "const:error"
service = "capture:service"
count = 5
window = "1m"
group_by = ["service", "message"]
title = "{service}: {message}"
realert = "1m"
[[logs.rules]]
name = "gateway-timeouts"
regex = 'payment gateway timeout after (?P<seconds>\d+)s order_id=(?P<order_id>\d+)'
level = "const:warning"
service = "const:payment"
count = 5
window = "1m"
title = "payment gateway timeout x{count} (last: order {order_id})"
realert = "1m"
[[logs.rules]]
name = "connection-refused"
regex = '(?P<what>redis|postgres|kafka) connection refused'
level = "const:error"
count = 3
window = "1m"
group_by = ["what"]
title = "{what} connection refused"
realert = "1m"
[[logs.rules]]
name = "panics"
regex = "panicked at '(?P<msg>[^']+)'"
level = "const:critical"
title = "panic: {msg}"
realert = "1m"
[[logs.rules]]
name = "oom"
regex = 'out of memory: Killed process (?P<pid>\d+)'
level = "const:critical"
title = "OOM kill on {labels.host}"
group_by = ["labels.host"]
realert = "1m"
RULES
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
./target/release/examples/intakegen \
    --url "https://127.0.0.1:$PORT" \
    --cacert "$tmp/certs/server.crt" \
    --sentry-key "$KEY" \
    --logs-token "$TOKEN" \
    --server-pid "$server_pid" \
    "$@" || status=$?

if [[ -s "$tmp/server.log" ]]; then
    echo "== server log (warnings and errors)"
    tail -n 20 "$tmp/server.log"
fi
exit "$status"
