-- The engine's per-alert memory (engine::Tracking) and the outbox it writes
-- to in the same transaction as the alert.
ALTER TABLE alerts ADD COLUMN notified_state TEXT;            -- firing | resolved: last told
ALTER TABLE alerts ADD COLUMN last_notified_at INTEGER;
ALTER TABLE alerts ADD COLUMN window_start INTEGER;           -- aggregation window
ALTER TABLE alerts ADD COLUMN window_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN window_aggregated INTEGER NOT NULL DEFAULT 0;

-- A sequential key for the rows that hang off an alert. Public ids are random
-- (short prefixes stay unambiguous in chat), and indexing events and outbox
-- rows by them scattered every insert across the index: keyed by `seq`, a new
-- alert's rows land at the end. It doubled ingestion of new alerts.
ALTER TABLE alerts ADD COLUMN seq INTEGER;
UPDATE alerts SET seq = rowid;
CREATE UNIQUE INDEX alerts_seq ON alerts (seq);
ALTER TABLE alert_events ADD COLUMN alert_seq INTEGER;
UPDATE alert_events SET alert_seq = (SELECT seq FROM alerts WHERE alerts.id = alert_events.alert_id);
DROP INDEX alert_events_alert;
CREATE INDEX alert_events_alert_seq ON alert_events (alert_seq, seq);

-- Notifications decided and not yet (or already) delivered.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id     TEXT NOT NULL REFERENCES alerts (id),
    alert_seq    INTEGER NOT NULL,
    kind         TEXT NOT NULL,       -- firing | resolved | aggregated | repeat
    channel      TEXT,                -- NULL: no channel takes it
    group_key    TEXT NOT NULL,
    occurrences  INTEGER NOT NULL,    -- in the aggregation window when decided
    created_at   INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    status       TEXT NOT NULL,       -- pending | unrouted | sent | failed | dead
    attempts     INTEGER NOT NULL DEFAULT 0,
    claimed_by   TEXT,                -- the delivery worker holding it
    lease_until  INTEGER,             -- until then nobody else claims it
    last_error   TEXT,                -- the platform's answer to the last failed attempt
    sent_at      INTEGER,
    message_id   TEXT                 -- the platform's id of the sent message (feishu_app)
);
CREATE INDEX outbox_alert ON outbox (alert_seq, id);
-- Only what delivery looks for: `unrouted` rows (every alert when no channel is
-- configured) stay out of it.
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';

-- Notification group clocks: the last or pending flush of (channel, group).
CREATE TABLE notify_groups (
    id         TEXT PRIMARY KEY,      -- "<channel> <group_key>"
    channel    TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    flush_at   INTEGER NOT NULL
);

-- Signed action links already used (`/a/{token}` acts once). Kept until the
-- token's own expiry, after which the signature check refuses it anyway.
CREATE TABLE used_links (
    id          TEXT PRIMARY KEY,     -- SHA-256 of the token, hex
    expires_at  INTEGER NOT NULL
);
