# shellcheck shell=bash
# Sourced by run.sh: signs an action-link token in the shell, exactly as
# `ackbot::verify::links::sign` does (src/verify/links.rs):
#   base64url(payload) "." base64url(HMAC-SHA256(secret, payload)), no padding,
#   payload "{alert_id}:{action}:{expires_unix_secs}".
# tests/api/links.rs asserts that `sign()` gives LINK_VECTOR_TOKEN for
# LINK_VECTOR_*; run.sh checks that this function gives it too, so the two
# cannot drift apart unnoticed.

LINK_VECTOR_SECRET='ackbot-link-vector-secret-0123456789'
LINK_VECTOR_ALERT='3f2a9c1d00aa11bb'
LINK_VECTOR_ACTION='ack'
LINK_VECTOR_EXPIRES='1700000000'
LINK_VECTOR_TOKEN='M2YyYTljMWQwMGFhMTFiYjphY2s6MTcwMDAwMDAwMA.YcqciBLyVPPquSJ4haFJjaDPM_fLAQb6Z4iTR5pR7HM'

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# sign_link SECRET ALERT_ID ACTION EXPIRES
sign_link() {
  local payload="$2:$3:$4"
  printf '%s.%s\n' \
    "$(printf '%s' "$payload" | b64url)" \
    "$(printf '%s' "$payload" | openssl dgst -sha256 -hmac "$1" -binary | b64url)"
}
