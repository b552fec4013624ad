//! The PostgreSQL backend, for several ackbot replicas behind a load balancer.
//! Every write loads the rows it changes `FOR UPDATE`, so two replicas
//! folding the same alert take turns; `UNIQUE (fingerprint)` stops two
//! replicas from creating the same alert, and the loser's transaction runs
//! again (it then finds the row). Delivery claims outbox rows with
//! `FOR UPDATE SKIP LOCKED`.

use std::borrow::Cow;
use std::fmt::Write;
use std::str::FromStr;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::StoreError;
use super::sql::{Dialect, SqlStore};
use crate::engine::Engine;

/// Connections per replica: the group-commit writer, person actions and
/// readers share them.
const CONNECTIONS: u32 = 8;

pub type PostgresStore = SqlStore<Postgres>;

impl Dialect for Postgres {
    const LOCK: &'static str = " FOR UPDATE";
    /// Replicas claim disjoint rows without waiting for each other.
    const CLAIM_LOCK: &'static str = " FOR UPDATE SKIP LOCKED";

    /// A sequence: replicas never get the same value.
    const RESERVE_SEQS: &'static str =
        "SELECT nextval('alerts_seq') AS seq FROM generate_series(1, ?)";

    /// `?` → `$1, $2, …` (our SQL has no `?` inside literals).
    /// Unix milliseconds on the server's clock, the same for every replica.
    const NOW_MS: &'static str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";

    fn sql(query: &str) -> Cow<'_, str> {
        if !query.contains('?') {
            return Cow::Borrowed(query);
        }
        let mut out = String::with_capacity(query.len() + 8);
        let mut n = 0;
        for c in query.chars() {
            if c == '?' {
                n += 1;
                write!(out, "${n}").expect("writing to a String");
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    const RELAXED: (&'static str, &'static str) =
        ("SET synchronous_commit = off", "RESET synchronous_commit");

    /// Replicas: the unique key decides.
    const SHARED_REPLAY: bool = true;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn retryable(error: &sqlx::Error) -> bool {
        // unique_violation, serialization_failure, deadlock_detected
        error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|c| matches!(c.as_ref(), "23505" | "40001" | "40P01"))
    }
}

/// Connects and migrates. The database must exist.
pub async fn open(
    url: &str,
    engine: Engine,
    background: super::Background,
) -> Result<PostgresStore, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::Url(e.to_string()))?;
    let pool = PgPoolOptions::new()
        .max_connections(CONNECTIONS)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    Ok(SqlStore::start(pool.clone(), pool, engine, background))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(
            Postgres::sql("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert!(matches!(Postgres::sql("SELECT 1"), Cow::Borrowed(_)));
    }
}
