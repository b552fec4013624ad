#!/usr/bin/env bash
# Crash test: every alert answered 202 is still there after `kill -9`.
#
# Runs a release ackbot on 127.0.0.1 over HTTPS (its generated self-signed
# certificate) with SQLite in a temporary directory; WRITERS curl loops POST
# unique alerts to /api/v1/alerts and record the id of every 202; after DELAY
# seconds (plus up to 0.5 s of jitter) the server gets SIGKILL mid-load. That is
# repeated CYCLES times on the same database, each start being a recovery from
# the previous crash. Finally the server is started once more and every
# recorded id must answer 200 on GET /api/v1/alerts/<id>.
#
#   bench/crash.sh                                  # defaults below, ~15 s
#   PORT=19444 WRITERS=8 DELAY=5 CYCLES=3 bench/crash.sh
#
# Environment: PORT (18444), WRITERS (4), MAX_REQUESTS per writer and cycle
# (3000), DELAY seconds before the kill (3), CYCLES kill/restart cycles (2),
# VERIFY_JOBS parallel curl processes for the final check (4), RUST_LOG (info).
#
# Exit status 1 if a 202'd id is missing, if a cycle's kill hit no writer (no
# request failed because of it: the cycle then proves nothing), or if a request
# failed before a kill or got an unexpected status (e.g. 5xx).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18444}"
WRITERS="${WRITERS:-4}"
MAX_REQUESTS="${MAX_REQUESTS:-3000}"
DELAY="${DELAY:-3}"
CYCLES="${CYCLES:-2}"
VERIFY_JOBS="${VERIFY_JOBS:-4}"
TOKEN="crash-test-token-0123456789abcdefghijklmnop"
BASE="https://127.0.0.1:$PORT"
started_at=$SECONDS

echo "== building (release)"
cargo build --release --quiet --bin ackbot

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "port $PORT on 127.0.0.1 is already in use; set PORT=..." >&2
    exit 1
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-crash.XXXXXX")"
CERT="$tmp/certs/server.crt"
server_pid=""
writer_pids=()
cleanup() {
    local pid
    for pid in "${writer_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/w"
cat >"$tmp/ackbot.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
generated_cert_dir = "$tmp/certs"

[storage]
url = "sqlite://$tmp/data/ackbot.db"

[api]
tokens = ["$TOKEN"]
EOF

starts=0
# Starts the server (log: $tmp/server.<n>.log) and waits until /readyz answers 200.
start_server() {
    starts=$((starts + 1))
    local log="$tmp/server.$starts.log"
    RUST_LOG="${RUST_LOG:-info}" ./target/release/ackbot serve --config "$tmp/ackbot.toml" >"$log" 2>&1 &
    server_pid=$!
    local t0=$EPOCHREALTIME
    for _ in $(seq 1 200); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "ackbot exited during start-up #$starts:" >&2
            cat "$log" >&2
            exit 1
        fi
        if [[ -f "$CERT" ]] &&
            curl -fsS --cacert "$CERT" "$BASE/readyz" >/dev/null 2>&1; then
            awk -v n="$starts" -v a="$t0" -v b="$EPOCHREALTIME" -v p="$server_pid" \
                'BEGIN { printf "   start #%d: ready after %.2f s (pid %d)\n", n, b - a, p }'
            return 0
        fi
        sleep 0.1
    done
    echo "ackbot start #$starts: /readyz not 200 after 20 s:" >&2
    cat "$log" >&2
    exit 1
}

# One writer: POSTs unique alerts until MAX_REQUESTS or the first transport
# failure (the server is gone). Files $tmp/w/<name>.*:
#   ids    "<id> <title>" per 202 with a parsed id
#   other  "<seq> <status> <time> <body>" per unexpected answer (not 202)
#   fail   "<seq> <curl exit code> <time>" of the request that ended the loop
#   sent   number of requests sent
writer() {
    local name=$1 out="$tmp/w/$1"
    local seq code rc body title sent=0
    : >"$out.ids"
    : >"$out.other"
    for ((seq = 1; seq <= MAX_REQUESTS; seq++)); do
        title="crash-$name-$seq"
        rc=0
        code=$(curl -s -o "$out.body" -w '%{http_code}' --connect-timeout 3 --max-time 10 \
            --cacert "$CERT" -H "Authorization: Bearer $TOKEN" \
            -H 'Content-Type: application/json' \
            --data-binary "{\"title\":\"$title\",\"fingerprint\":\"fp-$title\",\"severity\":\"warning\",\"service\":\"crash-test\"}" \
            "$BASE/api/v1/alerts") || rc=$?
        sent=$((sent + 1))
        if [[ $code == 202 ]]; then
            body=$(<"$out.body")
            if [[ $body =~ \"ids\":\[\"([0-9a-f]+)\"\] ]]; then
                echo "${BASH_REMATCH[1]} $title" >>"$out.ids"
            else
                echo "$seq 202-without-id(curl-exit-$rc) $EPOCHREALTIME $body" >>"$out.other"
            fi
        fi
        if ((rc != 0)); then
            echo "$seq $rc $EPOCHREALTIME" >"$out.fail"
            break
        fi
        if [[ $code != 202 ]]; then
            echo "$seq $code $EPOCHREALTIME $(head -c 200 "$out.body")" >>"$out.other"
        fi
    done
    echo "$sent" >"$out.sent"
}

status=0
total_sent=0
total_202=0
total_killfail=0
total_inflight=0
echo "== $CYCLES cycle(s): $WRITERS writers (max $MAX_REQUESTS requests each), kill -9 after ~${DELAY} s; $(nproc) cores"
start_server
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
    writer_pids=()
    for ((w = 0; w < WRITERS; w++)); do
        writer "c${cycle}w$w" &
        writer_pids+=($!)
    done
    # DELAY s plus 0-499 ms, so the kill lands at a different point of a request.
    sleep "$(printf '%d.%03d' "$DELAY" $((RANDOM % 500)))"
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "!! cycle $cycle: the server died by itself before the kill" >&2
        status=1
    fi
    kill_time=$EPOCHREALTIME
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    for pid in "${writer_pids[@]}"; do wait "$pid" || true; done
    writer_pids=()

    sent=0 ok=0 killfail=0 inflight=0 early=0 finished=0
    for ((w = 0; w < WRITERS; w++)); do
        f="$tmp/w/c${cycle}w$w"
        sent=$((sent + $(<"$f.sent")))
        ok=$((ok + $(wc -l <"$f.ids")))
        if [[ -f "$f.fail" ]]; then
            read -r _ rc t <"$f.fail"
            if awk -v t="$t" -v k="$kill_time" 'BEGIN { exit !(t < k) }'; then
                early=$((early + 1))
                echo "!! cycle $cycle writer $w: request failed (curl exit $rc) BEFORE the kill" >&2
            else
                killfail=$((killfail + 1))
                # 7 = connection refused: sent after the kill. Anything else
                # (35 TLS, 52 empty reply, 56 reset, ...) was in flight.
                [[ $rc != 7 ]] && inflight=$((inflight + 1))
            fi
        else
            finished=$((finished + 1))
        fi
        if [[ -s "$f.other" ]]; then
            status=1
            echo "!! cycle $cycle writer $w: $(wc -l <"$f.other") unexpected answer(s), first: $(head -n 1 "$f.other")" >&2
        fi
    done
    wal=$(stat -c %s "$tmp/data/ackbot.db-wal" 2>/dev/null || echo none)
    printf '   cycle %d: sent %d, 202 %d, failed by the kill %d (in flight %d, refused after %d), finished before the kill %d; WAL left: %s bytes\n' \
        "$cycle" "$sent" "$ok" "$killfail" "$inflight" $((killfail - inflight)) "$finished" "$wal"
    if ((killfail == 0)); then
        echo "!! cycle $cycle: no request failed because of the kill; it proves nothing" >&2
        status=1
    fi
    ((early == 0)) || status=1
    total_sent=$((total_sent + sent))
    total_202=$((total_202 + ok))
    total_killfail=$((total_killfail + killfail))
    total_inflight=$((total_inflight + inflight))
    start_server # recovery from this crash; the last one is checked below
done

echo "== checking every id answered 202"
cat "$tmp"/w/*.ids >"$tmp/ids"
dups=$(cut -d' ' -f1 "$tmp/ids" | sort | uniq -d | wc -l)
# One curl per chunk: keep-alive over one TLS connection, -w line per id.
split -n "l/$VERIFY_JOBS" "$tmp/ids" "$tmp/chunk."
verify_pids=()
for chunk in "$tmp"/chunk.*; do
    [[ -s $chunk ]] || continue
    while read -r id _; do
        printf 'url = "%s/api/v1/alerts/%s"\noutput = "/dev/null"\n' "$BASE" "$id"
    done <"$chunk" >"$chunk.curl"
    curl -s --cacert "$CERT" -H "Authorization: Bearer $TOKEN" \
        -w '%{http_code} %{url_effective}\n' -K "$chunk.curl" >"$chunk.out" &
    verify_pids+=($!)
done
for pid in "${verify_pids[@]}"; do wait "$pid" || true; done
cat "$tmp"/chunk.*.out >"$tmp/checked" 2>/dev/null || : >"$tmp/checked"
found=$(grep -c '^200 ' "$tmp/checked" || true)
missing=$((total_202 - found))

# Rows committed without the client seeing a 202 (answer lost in the kill).
rows=""
if command -v sqlite3 >/dev/null; then
    rows=$(sqlite3 -readonly "$tmp/data/ackbot.db" "SELECT count(*) FROM alerts" 2>/dev/null || echo "?")
    integrity=$(sqlite3 -readonly "$tmp/data/ackbot.db" "PRAGMA integrity_check" 2>&1 | head -n 3 | tr '\n' ' ')
fi

echo "== result"
echo "requests sent:               $total_sent"
echo "202s recorded:               $total_202 (duplicate ids: $dups)"
echo "found after restart (200):   $found"
echo "missing:                     $missing"
echo "failed because of the kills: $total_killfail (in flight at the kill: $total_inflight)"
if [[ -n $rows ]]; then
    echo "rows in the database:        $rows ($((rows - total_202)) committed without a 202 seen), integrity_check: $integrity"
fi
if ((missing != 0)); then
    status=1
    echo "!! ids answered 202 but not found:" >&2
    grep -v '^200 ' "$tmp/checked" | head -n 20 >&2 || true
fi
((dups == 0)) || status=1

# Anything at WARN or ERROR in any start's log.
problems=$(grep -hE ' (WARN|ERROR) ' "$tmp"/server.*.log || true)
if [[ -n $problems ]]; then
    echo "== server warnings/errors ($(echo "$problems" | wc -l) lines, first 10)"
    echo "$problems" | head -n 10
fi
echo "== $((SECONDS - started_at)) s, $([[ $status == 0 ]] && echo PASS || echo FAIL)"
exit "$status"
