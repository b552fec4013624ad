-- CI failure streaks: one row per series (system, source, project, pipeline,
-- ref). `state` is the streak as JSON; `version` grows with each write, which
-- is made only if it is unchanged since the read, so that two replicas never
-- lose each other's update. `pending`: the alert does not yet show this state.
CREATE TABLE ci_series (
    key         TEXT PRIMARY KEY,
    version     BIGINT NOT NULL,
    state       TEXT NOT NULL,
    pending     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX ci_series_pending ON ci_series (updated_at) WHERE pending = 1;
