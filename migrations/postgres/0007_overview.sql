-- The console's overview reads a window of the audit trail by time.
CREATE INDEX alert_events_at ON alert_events (at);
