-- One record per fingerprint: occurrences fold into it (count, last_seen).
-- Times are Unix milliseconds (INTEGER), the same in every backend.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    fingerprint     TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    content         TEXT NOT NULL,
    severity        TEXT NOT NULL,
    service         TEXT,
    labels          TEXT NOT NULL,      -- JSON object
    annotations     TEXT NOT NULL,      -- JSON object
    state           TEXT NOT NULL,      -- firing | acknowledged | resolved
    acked_by        TEXT,
    acked_at        INTEGER,
    count           INTEGER NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    trace_id        TEXT,
    request_id      TEXT,
    starts_at       INTEGER,
    resolved_at     INTEGER
);
CREATE INDEX alerts_state_last_seen ON alerts (state, last_seen DESC);

-- The audit trail: every state change, who, when and through what.
CREATE TABLE alert_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id  TEXT NOT NULL REFERENCES alerts (id),
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,   -- fired | refired | acknowledged | unacknowledged | resolved
    actor     TEXT NOT NULL,
    via       TEXT NOT NULL    -- source | api | feishu | dingtalk | wecom | link
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, seq);
