-- [[inhibit_rules]]: the id of the firing alert that inhibits this one. An
-- inhibited alert is recorded, not notified; when its source resolves, the
-- inhibition sweep (watch/inhibitions.rs) notifies it if it still fires.
ALTER TABLE alerts ADD COLUMN inhibited_by TEXT;
CREATE INDEX alerts_inhibited ON alerts (inhibited_by) WHERE inhibited_by IS NOT NULL;
