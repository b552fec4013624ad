#!/usr/bin/env bash
# What waiting escalations cost. A release ackbot (SQLite) takes 1 000
# critical alerts whose route escalates after an hour, then sits idle; its CPU
# time (utime + stime from /proc/<pid>/stat) is read over IDLE seconds once
# everything was delivered. The baseline is the same run with a policy that
# covers no critical alert (so no chain waits). Timers are rows, so the two
# should not differ beyond noise; the ratio is printed.
#
#   bash bench/escalations.sh                 # ~2 min after the build
#   BIN=/path/to/other/ackbot bash bench/escalations.sh
#
# Environment: PORT (18457), SINK (18458), IDLE (30), BIN (built if unset).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-18457}"
SINK="${SINK:-18458}"
IDLE="${IDLE:-30}"
TOKEN="bench-api-token-0123456789abcdef"
if [[ -z "${BIN:-}" ]]; then
    echo "== building (release)"
    cargo build --release --quiet --bin ackbot
    BIN="$PWD/target/release/ackbot"
fi
BIN="$(realpath "$BIN")"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-escalations.XXXXXX")"
server_pid=""
sink_pid=""
stop() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop; [[ -n "$sink_pid" ]] && kill "$sink_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# The chat channel's endpoint: answers every webhook 200.
python3 - "$SINK" <<'EOF' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
sink_pid=$!

python3 - "$tmp" <<'EOF'
import json, sys
alerts = [{"title": f"node-{i} down", "severity": "critical", "service": "infra"} for i in range(1000)]
open(f"{sys.argv[1]}/alerts.json", "w").write(json.dumps(alerts))
EOF

start() { # $1: the severities the policy covers
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
[[channels]]
name = "sink"
type = "webhook"
url = "http://127.0.0.1:$SINK/hook"
[[channels]]
name = "oncall-sms"
type = "aliyun_sms"
access_key_id = "ak"
access_key_secret = "sk"
sign_name = "ackbot"
template_code = "SMS_1"
api_base = "http://127.0.0.1:$SINK"
[[people]]
name = "Li Lei"
phone = "+8613800000001"
[[schedules]]
name = "primary"
members = ["Li Lei"]
[[routes]]
channels = ["sink"]
group_wait = "0s"
escalation = "critical"
[[escalations]]
name = "critical"
severities = $1
[[escalations.steps]]
wait = "1h"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
EOF
    (cd "$tmp/run" && RUST_LOG=warn exec "$BIN" serve --config "$tmp/run/ackbot.toml") \
        >"$tmp/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        curl -s --cacert "$tmp/certs/server.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
}
ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
pending() {
    curl -s --cacert "$tmp/certs/server.crt" -H "Authorization: Bearer $TOKEN" \
        "https://127.0.0.1:$PORT/api/v1/alerts?limit=1000" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]))' 2>/dev/null || echo "?"
}
hz=$(getconf CLK_TCK)
declare -A used
measure() { # name, severities
    start "$2"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/certs/server.crt" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary "@$tmp/alerts.json" "https://127.0.0.1:$PORT/api/v1/alerts")
    [[ $code == 202 ]] || { echo "!! answered $code" >&2; exit 1; }
    sleep 10 # deliveries to the sink settle
    local a b
    a=$(ticks)
    sleep "$IDLE"
    b=$(ticks)
    used[$1]=$((b - a))
    printf '%-22s alerts %4s   CPU over %ss idle: %5.2f s (%s ticks of 1/%s s)\n' \
        "$1" "$(pending)" "$IDLE" "$(echo "${used[$1]}/$hz" | bc -l)" "${used[$1]}" "$hz"
    stop
}

echo "== $BIN"
measure "no chain waiting" '["info"]'
measure "1 000 chains waiting" '["critical"]'
base=${used[no chain waiting]}
printf 'CPU with 1 000 waiting chains / without (same run): %s\n' \
    "$(if ((base > 0)); then echo "scale=2; ${used[1 000 chains waiting]}/$base" | bc; else echo "n/a (baseline used 0 ticks)"; fi)"
