-- 1: the notification's route has time intervals (mute_time_intervals,
-- active_time_intervals), which may hold it past its decision. At its due
-- time it is sent only if it still applies; else it ends `muted`.
ALTER TABLE outbox ADD COLUMN held BIGINT NOT NULL DEFAULT 0;
