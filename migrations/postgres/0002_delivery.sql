-- Delivery in decision order, a lane for critical alerts, retries by people,
-- budgets shared by replicas, and retention.

-- The alert's state when the notification was decided: the card shows that
-- state, so a `firing` message never shows `resolved`.
ALTER TABLE outbox ADD COLUMN state TEXT;
-- 0 critical, 1 error, 2 warning, 3 info: the worker claims critical first.
ALTER TABLE outbox ADD COLUMN priority BIGINT NOT NULL DEFAULT 2;
-- When a person put a failed row back (POST …/retry): giving up counts from then.
ALTER TABLE outbox ADD COLUMN requeued_at BIGINT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (priority, due_at) WHERE status = 'pending';
CREATE INDEX outbox_failed ON outbox (channel) WHERE status IN ('failed', 'dead');

-- Each channel's rate budget, shared by every ackbot using this database:
-- the earliest time (Unix ms, the database's clock) the next send may go.
CREATE TABLE rate_budgets (
    channel  TEXT PRIMARY KEY,
    next_at  BIGINT NOT NULL
);

-- Retention finds resolved alerts by when they resolved.
CREATE INDEX alerts_resolved_at ON alerts (resolved_at) WHERE state = 'resolved';
