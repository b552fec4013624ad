-- The engine's per-alert memory (engine::Tracking) and the outbox it writes
-- to in the same transaction as the alert.
ALTER TABLE alerts ADD COLUMN notified_state TEXT;            -- firing | resolved: last told
ALTER TABLE alerts ADD COLUMN last_notified_at INTEGER;
ALTER TABLE alerts ADD COLUMN window_start INTEGER;           -- aggregation window
ALTER TABLE alerts ADD COLUMN window_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN window_aggregated INTEGER NOT NULL DEFAULT 0;

-- Notifications decided and not yet (or already) delivered.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id     TEXT NOT NULL REFERENCES alerts (id),
    kind         TEXT NOT NULL,       -- firing | resolved | aggregated | repeat
    channel      TEXT,                -- NULL: no channel takes it
    group_key    TEXT NOT NULL,
    occurrences  INTEGER NOT NULL,    -- in the aggregation window when decided
    created_at   INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    status       TEXT NOT NULL        -- pending | unrouted | (delivery states)
);
CREATE INDEX outbox_alert ON outbox (alert_id, id);
CREATE INDEX outbox_due ON outbox (status, due_at);

-- Notification group clocks: the last or pending flush of (channel, group).
CREATE TABLE notify_groups (
    id         TEXT PRIMARY KEY,      -- "<channel> <group_key>"
    channel    TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    flush_at   INTEGER NOT NULL
);
