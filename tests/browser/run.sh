#!/usr/bin/env bash
# The signed action-link pages in headless Chromium, as a person uses them:
# start a real `ackbot serve` (TLS, SQLite, [links]) on a free local port, post
# an alert through the API, sign an `ack` link for it in the shell (sign.sh,
# the same algorithm as src/verify/links.rs), then let click.mjs open the link,
# type a name, press the button and read the result; finally check the alert
# through the API: acknowledged, by that name, via `link`.
#
# Needs: chromium, node (with `npm ci --prefix tests/browser` done), openssl,
# curl. Uses target/debug/ackbot (built if missing) or $ACKBOT_BIN.
# Bounded: every step has a timeout; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/browser
started=$SECONDS

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# shellcheck source=sign.sh
source "$here/sign.sh"
[ "$(sign_link "$LINK_VECTOR_SECRET" "$LINK_VECTOR_ALERT" "$LINK_VECTOR_ACTION" "$LINK_VECTOR_EXPIRES")" = "$LINK_VECTOR_TOKEN" ] ||
  fail "sign.sh does not reproduce the documented vector (tests/api/links.rs checks sign() against it)"
echo "  ok   the shell signer reproduces the documented sign() vector"

chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
[ -n "$chromium" ] || fail "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null || fail "node is not installed"
[ -d "$here/node_modules/puppeteer-core" ] || fail "run: npm ci --prefix $here"

bin="${ACKBOT_BIN:-target/debug/ackbot}"
if [ -z "${ACKBOT_BIN:-}" ]; then
  timeout 900 cargo build --quiet --locked --bin ackbot
fi
[ -x "$bin" ] || fail "no ackbot binary at $bin"

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    # actix drains for up to 30 s; the test needs none of that.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  [ -z "${refuser:-}" ] || kill "$refuser" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

secret="$(openssl rand -hex 24)"
api_token="$(openssl rand -hex 16)"
ui_user="li.lei"
ui_password="$(openssl rand -hex 12)"
ui_hash="$(printf '%s\n' "$ui_password" | "$bin" hash-password)"
viewer="han"
viewer_password="$(openssl rand -hex 12)"
viewer_hash="$(printf '%s\n' "$viewer_password" | "$bin" hash-password)"

# A platform that refuses every message (HTTP 400 with its reason), so the
# console has a failed delivery to show and retry.
refuser_port=$((20000 + RANDOM % 40000))
node -e '
  require("http").createServer((q, s) => {
    q.resume();
    q.on("end", () => { s.writeHead(400, {"content-type": "application/json"}); s.end("{\"error\":\"robot disabled by admin\"}"); });
  }).listen(+process.argv[1], "127.0.0.1");
' "$refuser_port" &
refuser=$!

# A free port: one nobody answers on; if ackbot still cannot bind it (a race),
# try another.
for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 40000))
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
  base="https://127.0.0.1:$port"
  [ "$port" != "$refuser_port" ] || continue
  cat >"$work/ackbot.toml" <<EOF
[server]
listen = "127.0.0.1:$port"
generated_cert_dir = "$work/certs"
public_url = "$base"
workers = 1

[storage]
url = "sqlite://$work/ackbot.db"

[api]
tokens = ["$api_token"]

[links]
secret = "$secret"
ttl = "10m"

[[ui.users]]
name = "$ui_user"
password_hash = "$ui_hash"
role = "operator"

[[ui.users]]
name = "$viewer"
password_hash = "$viewer_hash"
role = "viewer"

[[channels]]
name = "refuser"
type = "webhook"
url = "http://127.0.0.1:$refuser_port/hook"
EOF
  RUST_LOG=info "$bin" serve --config "$work/ackbot.toml" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    if curl -sf --max-time 2 --cacert "$work/certs/server.crt" "$base/readyz" >/dev/null 2>&1; then
      break 2
    fi
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    cat "$work/server.log" >&2
    fail "ackbot did not become ready on $base within 30 s"
  fi
  pid=""
  echo "  (ackbot could not start on port $port, attempt $attempt; trying another)"
  [ "$attempt" -lt 5 ] || { cat "$work/server.log" >&2; fail "ackbot did not start"; }
done
echo "  ok   ackbot serving on $base (self-signed certificate, SQLite, [links] ttl 10m)"

api() {
  curl -sS --fail-with-body --max-time 10 --cacert "$work/certs/server.crt" \
    -H "Authorization: Bearer $api_token" "$@"
}
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }

title='Payment DB <primary> unreachable & "主库" down'
alert="$(node -e 'console.log(JSON.stringify({title: process.argv[1], severity: "critical", service: "payment"}))' "$title")"
id="$(api -H 'Content-Type: application/json' -d "$alert" "$base/api/v1/alerts" | json 'v.ids[0]')"
[ -n "$id" ] || fail "no alert id from POST /api/v1/alerts"
echo "  ok   alert $id posted through the API"

expires=$(($(date +%s) + 600))
token="$(sign_link "$secret" "$id" ack "$expires")"
# Chromium trusts exactly this server's key (no blanket certificate bypass).
spki="$(openssl x509 -in "$work/certs/server.crt" -pubkey -noout |
  openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A)"
name="Li Lei 李雷"

echo "Chromium ($("$chromium" --version 2>/dev/null | head -n1)) opens $base/a/<token>:"
LINK_URL="$base/a/$token" ALERT_TITLE="$title" ACTOR_NAME="$name" CHROMIUM="$chromium" \
  CERT_SPKI="$spki" SCREENSHOT_DIR="${SCREENSHOT_DIR:-}" \
  timeout 120 node "$here/click.mjs" || {
  echo "--- ackbot log ---" >&2
  tail -n 40 "$work/server.log" >&2
  fail "the browser flow failed"
}

state="$(api "$base/api/v1/alerts/$id" | json '`${v.state}|${v.acked_by}`')"
[ "$state" = "acknowledged|$name" ] || fail "API after the click: state|acked_by = $state"
echo "  ok   API: the alert is acknowledged, acked_by = $name"
last="$(api "$base/api/v1/alerts/$id/events" | json 'const e=v.events.at(-1);`${e.kind}|${e.actor}|${e.via}`')"
[ "$last" = "acknowledged|$name|link" ] || fail "API audit trail, last entry: $last"
count="$(api "$base/api/v1/alerts/$id/events" | json 'v.events.length')"
[ "$count" = 2 ] || fail "API audit trail has $count entries, want 2 (fired, acknowledged once)"
echo "  ok   API: audit trail fired, then acknowledged once by $name via link"
sig="${token##*.}"
! grep -qF "$sig" "$work/server.log" || fail "the link's token appears in the server log"
grep -qF '/a/<token>' "$work/server.log" || fail "the log has no redacted /a/<token> request line"
echo "  ok   log: requests to the link are logged as /a/<token>, never with the token"

# The web console: a second alert, acknowledged from /ui by the signed-in user.
console_title='Console <b>check</b> & "告警" 2'
alert="$(node -e 'console.log(JSON.stringify({title: process.argv[1], severity: "critical", service: "payment"}))' "$console_title")"
cid="$(api -H 'Content-Type: application/json' -d "$alert" "$base/api/v1/alerts" | json 'v.ids[0]')"
# Only this one firing: the first was acknowledged above.
echo "Chromium opens the web console at $base/ui:"
BASE_URL="$base" ALERT_TITLE="$console_title" UI_USER="$ui_user" UI_PASSWORD="$ui_password" \
  UI_VIEWER="$viewer" UI_VIEWER_PASSWORD="$viewer_password" \
  CHROMIUM="$chromium" CERT_SPKI="$spki" SCREENSHOT_DIR="${SCREENSHOT_DIR:-}" \
  timeout 120 node "$here/console.mjs" || {
  echo "--- ackbot log ---" >&2
  tail -n 40 "$work/server.log" >&2
  fail "the console flow failed"
}
trail="$(api "$base/api/v1/alerts/$cid/events" | json 'v.events.map(e=>`${e.kind}|${e.actor}|${e.via}`).join("\n")')"
grep -qxF "acknowledged|$ui_user|ui" <<<"$trail" || fail "API audit trail after the console has no ui acknowledgement: $trail"
grep -qE "^delivery [0-9]+ to refuser retried\|$ui_user\|ui$" <<<"$trail" || fail "API audit trail has no ui retry: $trail"
[ "$(grep -c '|ui$' <<<"$trail")" = 2 ] || fail "API audit trail: the forged and the viewer's forms changed something: $trail"
echo "  ok   API: acknowledged and its delivery retried by $ui_user via ui, nothing else"
! grep -qF "$ui_password" "$work/server.log" || fail "the password appears in the server log"
echo "browser test passed in $((SECONDS - started)) s"
