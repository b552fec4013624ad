-- The same schema as migrations/sqlite (0001..0003), for PostgreSQL.
-- Times are Unix milliseconds (BIGINT), JSON is TEXT: one row type serves
-- both backends. UNIQUE (fingerprint) is what keeps two replicas from
-- creating the same alert twice: the loser's transaction fails and retries.
-- `seq` (from alerts_seq) keys the rows that hang off an alert, so a new
-- alert's events and outbox rows append to their indexes (see sqlite/0003).
CREATE SEQUENCE alerts_seq;
CREATE TABLE alerts (
    id                 TEXT PRIMARY KEY,
    seq                BIGINT NOT NULL UNIQUE,
    fingerprint        TEXT NOT NULL UNIQUE,
    title              TEXT NOT NULL,
    content            TEXT NOT NULL,
    severity           TEXT NOT NULL,
    service            TEXT,
    labels             TEXT NOT NULL,
    annotations        TEXT NOT NULL,
    state              TEXT NOT NULL,
    acked_by           TEXT,
    acked_at           BIGINT,
    count              BIGINT NOT NULL,
    first_seen         BIGINT NOT NULL,
    last_seen          BIGINT NOT NULL,
    trace_id           TEXT,
    request_id         TEXT,
    starts_at          BIGINT,
    resolved_at        BIGINT,
    notified_state     TEXT,
    last_notified_at   BIGINT,
    window_start       BIGINT,
    window_count       BIGINT NOT NULL DEFAULT 0,
    window_aggregated  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_state_last_seen ON alerts (state, last_seen DESC);

CREATE TABLE alert_events (
    seq       BIGSERIAL PRIMARY KEY,
    alert_id  TEXT NOT NULL REFERENCES alerts (id),
    alert_seq BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    via       TEXT NOT NULL
);
CREATE INDEX alert_events_alert_seq ON alert_events (alert_seq, seq);

CREATE TABLE silences (
    id          TEXT PRIMARY KEY,
    matchers    TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    comment     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expired_at  BIGINT
);
CREATE INDEX silences_ends_at ON silences (ends_at);

CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    alert_id     TEXT NOT NULL REFERENCES alerts (id),
    alert_seq    BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    channel      TEXT,
    group_key    TEXT NOT NULL,
    occurrences  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    due_at       BIGINT NOT NULL,
    status       TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    claimed_by   TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    sent_at      BIGINT,
    message_id   TEXT
);
CREATE INDEX outbox_alert ON outbox (alert_seq, id);
-- Only what delivery looks for: `unrouted` rows (every alert when no channel is
-- configured) stay out of it.
CREATE INDEX outbox_due ON outbox (due_at) WHERE status = 'pending';

CREATE TABLE notify_groups (
    id         TEXT PRIMARY KEY,
    channel    TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    flush_at   BIGINT NOT NULL
);

CREATE TABLE used_links (
    id          TEXT PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
