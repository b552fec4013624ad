#!/usr/bin/env bash
# The .deb as a user gets it: `cargo deb` builds it (release profile), dpkg
# installs it, ackbot starts from the installed files as the unit starts it
# (/usr/bin/ackbot, /etc/ackbot/ackbot.toml, a state directory), answers
# /healthz over TLS, the installed unit passes `systemd-analyze verify`, and
# the package is purged again. Run by .ci/run; needs root or sudo.
#
#   bash packaging/smoke.sh
#
# Environment: PORT (8443: the example config's), CARGO_DEB (3.8.0).
set -euo pipefail

cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
command -v cargo-deb >/dev/null || timeout 600 cargo install cargo-deb --locked --version "${CARGO_DEB:-3.8.0}"
started=$SECONDS
deb="$(cargo deb --locked 2>/dev/null | tail -n1)"
echo "built $deb ($(du -h "$deb" | cut -f1); binary $(du -h target/release/ackbot | cut -f1)) in $((SECONDS - started)) s"
$sudo dpkg -i "$deb" >/dev/null
state="$(mktemp -d "${TMPDIR:-/tmp}/ackbot-state.XXXXXX")"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    $sudo dpkg --purge ackbot >/dev/null || true
    rm -rf "$state"
}
trap cleanup EXIT

test -x /usr/bin/ackbot
test -f /etc/ackbot/ackbot.toml
test -f /lib/systemd/system/ackbot.service
/usr/bin/ackbot check-config --config /etc/ackbot/ackbot.toml >/dev/null
RUST_LOG=warn /usr/bin/ackbot serve --config /etc/ackbot/ackbot.toml --state-dir "$state" \
    >"$state/serve.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 100); do
    if curl -fs --cacert "$state/certs/server.crt" "https://127.0.0.1:${PORT:-8443}/healthz" >/dev/null 2>&1; then
        ok=1
        break
    fi
    sleep 0.2
done
if [ -z "$ok" ]; then
    echo "the installed ackbot did not answer /healthz:" >&2
    cat "$state/serve.log" >&2
    exit 1
fi
test -f "$state/data/ackbot.db"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/ackbot.service
fi
echo "installed .deb: /healthz answered, data/ and certs/ in the state directory, unit verified"
