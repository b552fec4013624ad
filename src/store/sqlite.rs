//! The embedded SQLite backend (WAL). Writes go through one connection, which
//! serialises them without `SQLITE_BUSY` upgrade failures; reads use a pool.
//! `synchronous = FULL`: an alert answered 202 survives power loss, not only
//! a process crash.

use std::borrow::Cow;
use std::str::FromStr;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::StoreError;
use super::sql::{Dialect, SqlStore};
use crate::engine::Engine;

/// Concurrent readers.
const READ_CONNECTIONS: u32 = 4;

pub type SqliteStore = SqlStore<Sqlite>;

impl Dialect for Sqlite {
    const LOCK: &'static str = "";
    /// The claim's transaction holds the only writer connection.
    const CLAIM_LOCK: &'static str = "";

    /// The single writer owns the counter: the next values after the largest.
    const RESERVE_SEQS: &'static str = "WITH RECURSIVE s(seq) AS \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts UNION ALL SELECT seq + 1 FROM s LIMIT ?) \
         SELECT seq FROM s";

    /// Unix milliseconds, the database's clock.
    const NOW_MS: &'static str = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

    fn sql(query: &str) -> Cow<'_, str> {
        Cow::Borrowed(query)
    }

    /// One writer connection: there is no race to lose.
    const RELAXED: (&'static str, &'static str) =
        ("PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL");

    /// One process: its memory decides; the store keeps the log.
    const SHARED_REPLAY: bool = false;

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn retryable(_: &sqlx::Error) -> bool {
        false
    }
}

/// Opens (creating the file and its directory if needed) and migrates.
pub async fn open(
    url: &str,
    engine: Engine,
    background: super::Background,
) -> Result<SqliteStore, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Url(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(std::time::Duration::from_secs(5))
        .pragma("cache_size", "-32768")
        .pragma("wal_autocheckpoint", "8192");
    if let Some(dir) = options.get_filename().parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Url(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    // A connection to a local file cannot go stale: the ping sqlx sends
    // before handing one out would be a second trip to the connection's
    // thread for every query.
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await?;
    sqlx::migrate!("migrations/sqlite").run(&writer).await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(READ_CONNECTIONS)
        .test_before_acquire(false)
        .connect_with(options.read_only(true))
        .await?;
    Ok(SqlStore::start(writer, reader, engine, background))
}
