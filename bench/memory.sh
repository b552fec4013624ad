#!/usr/bin/env bash
# Memory per request. A release ackbot (SQLite) gets 1 MiB request bodies, and
# RSS (VmRSS) and its peak (VmHWM) are read from /proc/<pid>/status. Each case
# starts a fresh server and database, so no case inherits another's caches:
#   baseline  one ~1 MiB Alertmanager group of 1 300 ordinary alerts
#   tiny      one 1 MiB body of tiny alerts (`[{"title":"m0000001"},…]`, ~47 000
#             alerts: the worst case for per-alert overhead)
#   tiny x6   six such bodies at once
# Reported: idle RSS, peak, RSS a second after, and each case's peak growth over
# idle as a ratio of the baseline's (same run). Every request must be answered
# 202; exit status 1 if not.
#
#   bash bench/memory.sh                       # ~1 min after the build
#   BIN=/path/to/other/ackbot bash bench/memory.sh   # another build, same cases
#
# Environment: PORT (18455), BIN (target/release/ackbot, built if unset).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18455}"
TOKEN="bench-api-token-0123456789abcdef"
if [[ -z "${BIN:-}" ]]; then
    echo "== building (release)"
    cargo build --release --quiet --bin ackbot
    BIN="$PWD/target/release/ackbot"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-memory.XXXXXX")"
server_pid=""
stop() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop; rm -rf "$tmp"' EXIT

python3 - "$tmp" <<'EOF'
import json, sys
tmp = sys.argv[1]
# Tiny alerts, as many as fit in 1 MiB; six files so each request is new.
for n in range(6):
    items, size, i = [], 2, 0
    while True:
        item = json.dumps({"title": f"m{n}{i:07d}"}, separators=(",", ":"))
        if size + len(item) + 1 > 1024 * 1024:
            break
        items.append(item)
        size += len(item) + 1
        i += 1
    open(f"{tmp}/tiny{n}.json", "w").write("[" + ",".join(items) + "]")
    if n == 0:
        print(f"tiny body: {size} bytes, {len(items)} alerts")
# Ordinary Alertmanager alerts, about 1 MiB of them.
alerts = [{"status": "firing",
           "labels": {"alertname": "NodeDown", "instance": f"node-{i}:9100",
                      "job": "node", "severity": "warning", "team": "infra"},
           "annotations": {"summary": f"node-{i} is down",
                           "description": "The node exporter has not answered for five minutes; " * 8},
           "startsAt": "2026-12-01T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
           "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
           "fingerprint": f"{i:016x}"} for i in range(1300)]
body = json.dumps({"version": "4", "status": "firing", "receiver": "ackbot",
                   "groupKey": "{}", "alerts": alerts})
open(f"{tmp}/am.json", "w").write(body)
print(f"baseline body: {len(body)} bytes, 1300 alerts")
EOF

start() {
    rm -rf "$tmp/data" "$tmp/run"
    mkdir -p "$tmp/run"
    cat >"$tmp/run/ackbot.toml" <<EOF
[server]
listen = "127.0.0.1:$PORT"
generated_cert_dir = "$tmp/certs"
[storage]
url = "sqlite://$tmp/data/ackbot.db"
[api]
tokens = ["$TOKEN"]
EOF
    (cd "$tmp/run" && RUST_LOG=warn exec "$BIN" serve --config "$tmp/run/ackbot.toml") \
        >"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -s --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    sleep 1
}
kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$server_pid/status"; }
mib() { echo "scale=1; $1/1024" | bc; }
failed=0
post() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/certs/server.crt" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary "@$2" "https://127.0.0.1:$PORT$1")
    [[ $code == 202 ]] || { echo "!! $1 answered $code" >&2; failed=1; return 1; }
}
declare -A growth
measure() { # name, then the requests (path:file), sent at once
    local name=$1
    shift
    start
    local idle
    idle=$(kib VmRSS)
    local pids=()
    for req in "$@"; do post "${req%%:*}" "$tmp/${req#*:}" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
    sleep 1
    local peak after
    peak=$(kib VmHWM)
    after=$(kib VmRSS)
    growth[$name]=$((peak - idle))
    printf '%-10s idle %6s MiB   peak %6s MiB   after %6s MiB   growth %6s MiB\n' \
        "$name" "$(mib "$idle")" "$(mib "$peak")" "$(mib "$after")" "$(mib "${growth[$name]}")"
    stop
}

echo "== $BIN"
measure baseline /api/v1/alertmanager:am.json
measure tiny /api/v1/alerts:tiny0.json
measure "tiny x6" /api/v1/alerts:tiny0.json /api/v1/alerts:tiny1.json /api/v1/alerts:tiny2.json \
    /api/v1/alerts:tiny3.json /api/v1/alerts:tiny4.json /api/v1/alerts:tiny5.json
printf 'peak growth / baseline growth (same run): tiny %.2f, tiny x6 %.2f\n' \
    "$(echo "${growth[tiny]}/${growth[baseline]}" | bc -l)" \
    "$(echo "${growth[tiny x6]}/${growth[baseline]}" | bc -l)"
exit $failed
