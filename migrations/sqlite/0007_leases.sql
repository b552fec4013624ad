-- Named leases: the replica whose `owner` holds a lease until `until_ms`
-- runs what it names (the prober: Jenkins polls and health checks), so
-- that several replicas do not all probe.
CREATE TABLE leases (
    name      TEXT PRIMARY KEY,
    owner     TEXT NOT NULL,
    until_ms  INTEGER NOT NULL
);
