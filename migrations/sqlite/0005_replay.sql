-- Replay memory across restarts. SQLite serves one ackbot process, whose
-- memory holds every unexpired callback id and decides; this is its log
-- (SHA-256 of namespace and key, until when), appended in arrival order so
-- that a write touches the table's last pages only, read back at start-up
-- and pruned when expired.
CREATE TABLE replay_log (
    key        BLOB NOT NULL,
    namespace  TEXT NOT NULL,
    -- Unix seconds.
    expires_at INTEGER NOT NULL
);
CREATE INDEX replay_log_expiry ON replay_log (expires_at);
