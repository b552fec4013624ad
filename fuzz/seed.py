#!/usr/bin/env python3
"""Writes the fuzz seed corpora (fuzz/corpus/<target>/) from the protocol
vectors (tests/vectors/*.json) and the captured payloads (tests/fixtures/),
in each target's input layout (fields joined by newlines, see the target's
file). Run by .ci/run before fuzzing; the corpus directory is not committed."""
import hashlib
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"
feishu = json.loads((root / "tests/vectors/feishu-vectors.json").read_text())
ding = json.loads((root / "tests/vectors/dingtalk-vectors.json").read_text())
fixtures = [p.read_bytes() for p in sorted((root / "tests/fixtures").glob("*.json"))]


def seed(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def lines(*parts):
    return "\n".join(parts)


b = feishu["b_event_signature"]
for mode in "\x00\x01\x02":
    seed("feishu_event", mode + lines(b["X-Lark-Request-Timestamp"], b["X-Lark-Request-Nonce"], b["raw_body"]))
    for k in ("c_encrypted_challenge", "f_signed_encrypted_card_action"):
        seed("feishu_event", mode + lines("1700000000", "abc123", feishu[k].get("request_body") or feishu[k]["raw_body"]))
        seed("feishu_event", mode + lines("1700000000", "abc123", feishu[k]["plaintext"]))
d = feishu["d_legacy_card_signature"]
for mode in "\x00\x01":
    seed("feishu_legacy_card", mode + lines(d["X-Lark-Request-Timestamp"], d["X-Lark-Request-Nonce"], d["raw_body"]))
cb = ding["b_dingtalk_inbound_callback_sign"]
card = ding["d_dingtalk_card_http_callback_signature"]
robot_body = json.dumps({"msgtype": "text", "text": {"content": " ack 3f2a"}, "msgId": "m1",
                         "conversationId": "cid", "senderStaffId": "user123", "senderNick": "Li Lei"})
card_body = json.dumps({"type": "actionCallback", "outTrackId": "alert-1", "userId": "user123",
                        "content": json.dumps({"cardPrivateData": {"params": {"action": "ack", "alert_id": "1"}}})})
seed("dingtalk", lines(cb["timestamp_header"], cb["sign_header"], robot_body))
seed("dingtalk", lines(card["x_ddpaas_signature_timestamp"], card["x_ddpaas_signature"], card_body))
w = ding["e_wecom_aes_roundtrip"]
c = ding["c_wecom_msg_signature"]
seed("wecom", lines(w["timestamp"], w["nonce"], w["msg_signature"], w["msg_encrypt"]))
seed("wecom", lines(c["timestamp"], c["nonce"], c["msg_signature"], w["msg"]))
seed("wecom", lines(w["timestamp"], w["nonce"], w["msg_signature"], w["post_body_xml"]))
seed("link_token", "3f2a9c1d\nack")
seed("link_token", "*\nlist")
seed("link_token", "ZmFrZQ.c2ln")
for f in fixtures:
    seed("alertmanager", f)
    seed("alert_json", f)
seed("alert_json", json.dumps({"title": "Payment DB unreachable", "content": "timeout", "severity": "critical",
                               "service": "payments", "labels": {"env": "prod"}, "annotations": {"runbook_url": "https://x"},
                               "status": "firing", "starts_at": "2026-01-01T00:00:00Z", "trace_id": "abc"}))
seed("matcher", 'team=~"db|infra"\nenv!="dev"\nalertname="Disk"\nhost!~"web-\\d+"')
seed("matcher", "{team=db, env=prod}")
for cmd in ["ack 3f2a", "unack 3f2a", "resolve 3f2a", "list", "help", "silence 3f2a 1h",
            'silence {team=~"db|infra", env="prod"} 30m', 'silence service="payment" 2h', "@bot 静默 3f2a 1h"]:
    seed("chat_command", cmd)
seed("config", (root / "ackbot.example.toml").read_text())
seed("config", '[server]\nlisten = "127.0.0.1:8443"\n[[channels]]\nname = "ops"\ntype = "feishu_bot"\nurl = "${SET}"\n')
# CI/CD: every captured payload under each parser's mode byte, and the
# vectors' header values.
ci_payloads = sorted((root / "tests/vectors/cicd-payloads").glob("*.json"))
cicd = json.loads((root / "tests/vectors/cicd-vectors.json").read_text())
for p in ci_payloads:
    for mode in range(8):
        seed("ci", bytes([mode]) + b"sha256=00\n" + p.read_bytes())
for name, v in cicd.items():
    if isinstance(v, dict):
        for key in ("x_hub_signature_256", "webhook_signature", "x_gitee_token", "authorization"):
            if isinstance(v.get(key), str):
                seed("ci", b"\x00" + v[key].encode() + b"\n" + str(v.get("body", "")).encode())
# Sentry and Loki: the captured envelopes and pushes, plain and compressed.
import base64
el = root / "tests/vectors/errors-and-logs-payloads"
auth = b"Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7\n"
for p in sorted(el.glob("sentry-*.decoded.txt")):
    seed("sentry", b"\x00" + auth + p.read_bytes())
for p in sorted(el.glob("sentry-*.body.b64")):
    body = base64.b64decode("".join(p.read_text().split()))
    mode = 3 if "-br" in p.name or "after-429" in p.name else 1
    seed("sentry", bytes([mode]) + auth + body)
for p in sorted(el.glob("loki-*.decoded.json")) + [el / "loki-json-push.json"]:
    seed("logs", b"\x00" + p.read_bytes())
for p in sorted(el.glob("loki-protobuf-*.b64")):
    if not p.name.endswith(".pb.b64"):
        seed("logs", b"\x02" + base64.b64decode("".join(p.read_text().split())))
seed("logs", b"\x03" + b"2026-12-02 07:08:48 [ERROR] payment - cannot reach redis\n" * 3)
seed("logs", b"\x04" + b'{"ts": 1796195641.8, "level": "error", "msg": "timeout 30"}\n')
legacy = (el / "loki-legacy-prom-push.txt").read_bytes()
seed("logs", b"\x01" + legacy[legacy.index(b"\r\n\r\n") + 4:])
# SMS and voice: the Twilio status-callback vector (URL, signature, form
# body), provider error codes, and page text with links to strip.
sms = json.loads((root / "tests/vectors/sms-vectors.json").read_text())
d2 = sms["d2_twilio_status_callback_signature"]
seed("sms", b"\x00" + json.dumps(d2).encode())
for code in ("isv.BUSINESS_LIMIT_CONTROL", "LimitExceeded.PhoneNumberDailyLimit", "21211", "Throttling.User"):
    seed("sms", b"\x01" + code.encode())
seed("sms", b"\x14" + "磁盘满 see https://x.io/a 【ackbot】 {x}".encode())
print(f"seeded {sum(1 for _ in corpus.rglob('*') if _.is_file())} inputs under {corpus}")
