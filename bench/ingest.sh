#!/usr/bin/env bash
# Ingestion benchmark: a release ackbot on 127.0.0.1 over HTTPS with SQLite
# storage (WAL, synchronous = FULL), driven by examples/ingestgen.rs with
# Alertmanager v4 notifications of 10 alerts on POST /api/v1/alertmanager.
#
# For each server worker setting (WORKERS_LIST, default "default 1"):
#   1. memory: fresh server and database; RSS when idle, after FILL (100 000)
#      unique firing alerts, and after GET /api/v1/alerts?limit=1000;
#   2. rate: for each concurrency in CONNS (default "16 64"), a fresh server and
#      database, then phase `unique` (every alert creates a record) and phase
#      `refold` (1000 fingerprints sent again and again), each WARMUP (2) s
#      unmeasured + DURATION (10) s measured.
# Then a summary table. Every request must be answered 202; exit status 1 if not.
#
#   bench/ingest.sh                                   # ~2.5 min
#   CONNS="16" WORKERS_LIST="default" DURATION=5 bench/ingest.sh
#
# PostgreSQL instead of SQLite: PG_URL=postgres://user:pass@127.0.0.1:5432/db
# (a role that may CREATE DATABASE; each server start gets a fresh database,
# dropped afterwards). `.ci/postgres.sh` prints such a URL.
#
# Environment: BIN (another ackbot build; default target/release/ackbot), PG_URL, PORT (18454), CONNS, WORKERS_LIST ("default" = one per core, or
# numbers), WARMUP, DURATION, FILL, CLIENT_THREADS (2), PHASES ("unique,refold";
# add "nostore" for the diagnostic phase without the store, see bench/README.md). Client and server share
# the machine's cores; run it on an otherwise idle machine. SILENCES=500 first
# creates that many active regex silences (`instance=~"\w{20}N"`, on a label every alert has), to compare
# with SILENCES=0 (the default); each rate phase is followed by 20 timed reads
# of GET /api/v1/alerts?limit=100 (RESULT kind=reads).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18454}"
CONNS="${CONNS:-16 64}"
WORKERS_LIST="${WORKERS_LIST:-default 1}"
WARMUP="${WARMUP:-2}"
DURATION="${DURATION:-10}"
FILL="${FILL:-100000}"
CLIENT_THREADS="${CLIENT_THREADS:-2}"
PG_URL="${PG_URL:-}"
PHASES="${PHASES:-unique,refold}"
TOKEN="bench-api-token-0123456789abcdef"

echo "== building (release)"
cargo build --release --quiet --bin ackbot --example ingestgen

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "port $PORT on 127.0.0.1 is already in use; set PORT=..." >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-ingest.XXXXXX")"
server_pid=""
status=0
stop_server() {
    if [[ -n "$server_pid" ]]; then
        if kill -0 "$server_pid" 2>/dev/null; then
            kill "$server_pid" 2>/dev/null || true
            wait "$server_pid" 2>/dev/null || true
        else
            # It should still have been running: say how it ended.
            local rc=0
            wait "$server_pid" 2>/dev/null || rc=$?
            echo "!! ackbot (pid $server_pid) had exited before it was stopped, status $rc; log tail:" >&2
            tail -n 20 "$tmp/server.log" >&2
            status=1
        fi
    fi
    server_pid=""
}
pg_db=""
drop_pg_db() {
    if [[ -n "$pg_db" ]]; then
        psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null || true
        pg_db=""
    fi
}
cleanup() {
    stop_server
    drop_pg_db
    rm -rf "$tmp"
}
trap cleanup EXIT

rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# start_server WORKERS: a fresh database, config and server; sets server_pid.
start_server() {
    rm -rf "$tmp/data"
    local url="sqlite://$tmp/data/ackbot.db"
    if [[ -n "$PG_URL" ]]; then
        drop_pg_db
        pg_db="ackbot_bench_$$_$RANDOM"
        psql -q "$PG_URL" -c "CREATE DATABASE $pg_db" >/dev/null
        url="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_URL" "$pg_db")"
    fi
    {
        echo '[server]'
        echo "listen = \"127.0.0.1:$PORT\""
        echo "generated_cert_dir = \"$tmp/certs\""
        if [[ "$1" != default ]]; then echo "workers = $1"; fi
        echo
        echo '[storage]'
        echo "url = \"$url\""
        echo
        echo '[api]'
        echo "tokens = [\"$TOKEN\"]"
    } >"$tmp/ackbot.toml"
    RUST_LOG=warn "${BIN:-./target/release/ackbot}" serve --config "$tmp/ackbot.toml" >>"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "ackbot exited during start-up:" >&2
            cat "$tmp/server.log" >&2
            exit 1
        fi
        if [[ -f "$tmp/certs/server.crt" ]] &&
            curl -fsS --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
            return
        fi
        sleep 0.1
    done
    echo "ackbot did not answer /healthz within 10 s" >&2
    exit 1
}

gen() {
    timeout 600 ./target/release/examples/ingestgen \
        --url "https://127.0.0.1:$PORT" --cacert "$tmp/certs/server.crt" --token "$TOKEN" \
        --threads "$CLIENT_THREADS" --server-pid "$server_pid" "$@"
}

# add_silences: SILENCES (default 0) active regex silences, of a pattern that
# costs milliseconds to compile (`\w{20}`), none matching the alerts.
add_silences() {
    local i
    for ((i = 0; i < ${SILENCES:-0}; i++)); do
        curl -fsS --cacert "$tmp/certs/server.crt" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' \
            -d "{\"matchers\": [\"instance=~\\\"\\\\w{20}$i\\\"\"], \"duration\": \"2h\"}" \
            "https://127.0.0.1:$PORT/api/v1/silences" >/dev/null
    done
    [[ "${SILENCES:-0}" == 0 ]] || echo "        $SILENCES regex silences active"
}

# time_reads: 20 reads of GET /api/v1/alerts?limit=100 after the rate phases.
time_reads() {
    local started ended
    started="$(date +%s%N)"
    for _ in $(seq 1 20); do
        curl -fsS --cacert "$tmp/certs/server.crt" -H "Authorization: Bearer $TOKEN" \
            "https://127.0.0.1:$PORT/api/v1/alerts?limit=100" >/dev/null
    done
    ended="$(date +%s%N)"
    echo "RESULT kind=reads ms_per_read=$(((ended - started) / 20000000)) silences=${SILENCES:-0}" | tee -a "$results"
}

results="$tmp/results"
: >"$results"
if [[ -n "$PG_URL" ]]; then
    echo "== $(nproc) cores shared by client, server and PostgreSQL (local, fsync on, synchronous_commit on)"
else
    echo "== $(nproc) cores shared by client and server; SQLite WAL, synchronous = FULL"
fi
for workers in $WORKERS_LIST; do
    echo "== workers = $workers: memory"
    start_server "$workers"
    sleep 1
    idle="$(rss_mib "$server_pid")"
    echo "idle    server RSS $idle MiB"
    gen --tag "$workers" fill --count "$FILL" --connections 16 | tee -a "$results" || status=1
    db="$(du -sm "$tmp/data" 2>/dev/null | cut -f1 || echo -)"
    echo "RESULT kind=idle tag=$workers rss_idle_mib=$idle db_mib=$db" >>"$results"
    stop_server
    for c in $CONNS; do
        echo "== workers = $workers: rate, $c connections"
        start_server "$workers"
        add_silences
        gen --tag "$workers" rate --connections "$c" --warmup "$WARMUP" --duration "$DURATION" --phases "$PHASES" |
            tee -a "$results" || status=1
        time_reads
        stop_server
    done
done

if grep -qiE 'error|panic' "$tmp/server.log"; then
    echo "== server log (warnings and errors)"
    grep -iE 'warn|error|panic' "$tmp/server.log" | tail -n 20
fi

# field NAME LINE: the value of NAME=... in a RESULT line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
echo "== summary (target: >= 20000 alerts/s; RSS idle < 20 MiB, 100k active < 200 MiB)"
printf '%-8s %-7s %5s %10s %8s %8s %8s %12s\n' workers phase conns alerts/s p50_ms p99_ms non-202 "srv_µs/alert"
grep '^RESULT kind=rate' "$results" | while read -r line; do
    printf '%-8s %-7s %5s %10s %8s %8s %8s %12s\n' "$(field tag "$line")" "$(field phase "$line")" \
        "$(field conns "$line")" "$(field alerts_per_s "$line")" "$(field p50_ms "$line")" \
        "$(field p99_ms "$line")" "$(field failed "$line")" "$(field server_cpu_us_per_alert "$line")"
done
echo
printf '%-8s %9s %10s %10s %11s %9s %8s %8s %8s\n' workers idle_MiB alerts filled_MiB listed_MiB peak_MiB db_MiB fill/s non-202
for workers in $WORKERS_LIST; do
    f="$(grep "^RESULT kind=fill tag=$workers " "$results" || true)"
    i="$(grep "^RESULT kind=idle tag=$workers " "$results" || true)"
    printf '%-8s %9s %10s %10s %11s %9s %8s %8s %8s\n' "$workers" "$(field rss_idle_mib "$i")" \
        "$(field alerts "$f")" "$(field rss_filled_mib "$f")" "$(field rss_listed_mib "$f")" \
        "$(field hwm_mib "$f")" "$(field db_mib "$i")" "$(field alerts_per_s "$f")" "$(field failed "$f")"
done
exit "$status"
