-- Replay memory shared by restarts and replicas: every accepted callback's
-- identity (SHA-256 of its namespace and key) until a replay of it would be
-- refused by its timestamp window anyway. The primary key decides which of
-- two replicas accepts a callback. Pruned when expired.
CREATE TABLE replay_ids (
    key        BYTEA PRIMARY KEY,
    namespace  TEXT NOT NULL,
    -- Unix seconds.
    expires_at BIGINT NOT NULL
);
CREATE INDEX replay_ids_expiry ON replay_ids (expires_at);
