-- Silences: matchers plus a window. Whether one is in force is computed from
-- these times on every read, so expiry is exact and survives restarts.
CREATE TABLE silences (
    id          TEXT PRIMARY KEY,
    matchers    TEXT NOT NULL,      -- JSON array of canonical matcher strings
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    comment     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expired_at  INTEGER             -- set when ended early (DELETE)
);
CREATE INDEX silences_ends_at ON silences (ends_at);
