-- Escalation: pages and mentions name people, a running escalation per
-- alert with durable timers, and schedule overrides made through the API.

-- `page` rows: the person paged; chat rows: the `mention` references.
ALTER TABLE outbox ADD COLUMN target TEXT;

-- One escalation per alert (the primary key). `id` changes each time the
-- alert starts firing again, so a step decided for an earlier run is
-- refused by its compare-and-set. Timers are rows: nothing sleeps per alert.
CREATE TABLE escalations (
    alert_id    TEXT PRIMARY KEY REFERENCES alerts (id),
    alert_seq   INTEGER NOT NULL,
    id          TEXT NOT NULL,
    policy      TEXT NOT NULL,
    snapshot    TEXT NOT NULL,      -- the policy's steps (JSON) when it started
    step        INTEGER NOT NULL,   -- the next step to run, 0-based
    round       INTEGER NOT NULL,   -- repeats done
    due_at      INTEGER NOT NULL,
    status      TEXT NOT NULL,      -- waiting | paused | acked | cancelled | exhausted
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX escalations_due ON escalations (due_at) WHERE status IN ('waiting', 'paused', 'acked');

-- "I take tonight": who is on call instead of the rotation, and when.
CREATE TABLE schedule_overrides (
    id          TEXT PRIMARY KEY,
    schedule    TEXT NOT NULL,
    person      TEXT NOT NULL,
    start_at    INTEGER NOT NULL,
    end_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE INDEX schedule_overrides_end ON schedule_overrides (schedule, end_at);
