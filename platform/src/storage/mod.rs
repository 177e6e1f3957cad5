//! The storage layer: one pool type for SQLite and PostgreSQL (sqlx `Any`), the one migration
//! set in `migrations/` (embedded in the binary), and one module per table or aggregate that
//! holds every SQL statement for it. Statements are portable: `$N` placeholders, TEXT and BIGINT
//! columns (flags as 0/1: the Any driver cannot read SQLite BOOLEAN), ids made in the app,
//! money and time as i64.
//!
//! One executor convention: a function that runs on the caller's connection or transaction
//! takes `conn: &mut AnyConnection` and its name ends in `_in` (so a reader sees at the call
//! site that it joins a transaction); every other function takes `db: &Db` and runs on the
//! pool. `LIMIT` and every value are bound, never interpolated; the SQL text is built only from
//! constants and the `placeholders` / `in_placeholders` helpers below.

pub mod api_keys;
pub mod approvals;
pub mod audit_log;
pub mod auth_challenges;
pub mod chain;
pub mod dead_man;
pub mod flash_markets;
pub mod flash_ticks;
mod json_rows;
pub mod keeper_jobs;
pub mod kill_switch;
pub mod ledger;
pub mod market_leases;
pub mod markets;
pub mod migration_status;
pub mod order_groups;
pub mod orders;
pub mod paper_log;
mod params;
pub mod preflight_writes;
pub mod refresh_tokens;
#[cfg(any(test, feature = "test-support"))]
pub mod scratch;
pub mod script;
pub mod settings;
pub mod users;
pub mod venue_heartbeats;

use std::path::Path;
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor as _};

pub(crate) use params::{Params, in_placeholders, placeholders};
pub use script::Script;

/// The migrations in `migrations/`, compiled into every binary that links this crate.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[cfg(test)]
mod chunk_tests {
    #[test]
    fn in_lists_take_only_the_fixed_sizes() {
        let lists = super::in_lists(&["a", "b", "c"]);
        assert_eq!(lists, vec![vec!["a", "b", "c", "c"]]);
        assert_eq!(super::in_lists(&["a", "b", "c", "d", "e"])[0].len(), 8);
        assert!(super::in_lists::<&str>(&[]).is_empty());
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL that is neither `sqlite:` nor `postgres://`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported database URL; expected sqlite:PATH or postgres://…")]
pub struct UnsupportedUrl;

impl Backend {
    /// Recognises a database URL; anything else is an error, never a silently created file.
    pub fn from_url(url: &str) -> Result<Backend, UnsupportedUrl> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(UnsupportedUrl)
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database unreachable: {0}")]
    Unreachable(#[source] sqlx::Error),
    #[error("unsupported database URL: {0}")]
    BadUrl(String),
    #[error("cannot prepare the database location: {0}")]
    Location(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("stored row is not valid: {0}")]
    Corrupt(String),
}

/// The lengths `IN (…)` lists are cut into. Each distinct length is a distinct SQL text,
/// which both databases prepare once per connection and cache; a handful of lengths keeps
/// those caches warm whatever the number of values (a text per length would re-prepare on
/// almost every batch).
pub(crate) const CHUNK_SIZES: [usize; 9] = [256, 128, 64, 32, 16, 8, 4, 2, 1];

/// Values for `IN (…)` lists, cut into lists whose lengths are in [`CHUNK_SIZES`]: the last
/// list is padded by repeating its last value (which changes nothing in an `IN`).
pub(crate) fn in_lists<T: Clone>(values: &[T]) -> Vec<Vec<T>> {
    values
        .chunks(CHUNK_SIZES[0])
        .map(|chunk| {
            let size = CHUNK_SIZES.iter().rev().copied().find(|s| *s >= chunk.len()).unwrap_or(chunk.len());
            let mut list = chunk.to_vec();
            if let Some(last) = chunk.last() {
                list.resize(size, last.clone());
            }
            list
        })
        .collect()
}

/// A database handle: cheap to clone, shared by every task.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// The SQLite file, for the lock migrations take; `None` on PostgreSQL.
    sqlite_file: Option<std::path::PathBuf>,
}

/// How long a request may wait for a pooled connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Db {
    /// Connects (creating a SQLite file and its directory when needed). Fails when the
    /// database cannot be reached within the acquire timeout.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, StorageError> {
        Db::open(url, max_connections, true).await
    }

    /// [`Db::connect`] without the liveness round trip sqlx makes each time it lends a
    /// connection: for a single owner on a hot path (the paper venue's sequencer) that retries
    /// a failed transaction on a fresh start anyway. A dead connection then fails its first
    /// statement instead of being replaced before it.
    pub async fn connect_without_ping(url: &str, max_connections: u32) -> Result<Db, StorageError> {
        Db::open(url, max_connections, false).await
    }

    async fn open(url: &str, max_connections: u32, ping: bool) -> Result<Db, StorageError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).map_err(|e| StorageError::BadUrl(e.to_string()))?;
        let (url, sqlite_file) = match backend {
            Backend::Sqlite => {
                let url = prepare_sqlite_url(url)?;
                let file = sqlite_file(&url);
                (url, Some(file))
            }
            Backend::Postgres => (url.to_string(), None),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(StorageError::Unreachable)?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(ping)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; busy_timeout makes a
                        // writer wait for the lock instead of failing at once.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(StorageError::Unreachable)?;
        Ok(Db { pool, backend, sqlite_file })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies every migration not yet applied. Safe to run from several processes at once:
    /// sqlx takes an advisory lock on PostgreSQL but none on SQLite, where two processes
    /// starting together on a fresh file both ran the first migration and one died on "table
    /// already exists"; there an exclusive lock on a file beside the database serialises them.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        let _lock = match &self.sqlite_file {
            Some(file) => Some(lock_for_migrations(file).await?),
            None => None,
        };
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Round-trips `SELECT 1`; returns how long it took.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, StorageError> {
        let start = Instant::now();
        match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&self.pool)).await {
            Ok(Ok(_)) => Ok(start.elapsed()),
            Ok(Err(e)) => Err(StorageError::Unreachable(e)),
            Err(_) => Err(StorageError::Timeout(timeout)),
        }
    }

    /// Copies what it can of SQLite's write-ahead log back into the database without waiting
    /// for readers or writers (a passive checkpoint). The server runs it often, so the
    /// checkpoint SQLite still runs inside a commit every 1000 pages finds the work done and
    /// the log can restart at once; a no-op on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StorageError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// (open connections, idle connections) for the pool gauges.
    pub fn pool_state(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite:data/x.db` → `sqlite:data/x.db?mode=rwc`, with `data/` created.
fn prepare_sqlite_url(url: &str) -> Result<String, StorageError> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StorageError::BadUrl(
            "an in-memory SQLite database loses every order on restart; name a file".to_string(),
        ));
    }
    if let Some(parent) = Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| StorageError::Location(format!("{}: {e}", parent.display())))?;
    }
    let query = if query.split('&').any(|kv| kv.starts_with("mode=")) {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The file a `sqlite:` or `sqlite://` URL names, without its query.
pub fn sqlite_file(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    std::path::PathBuf::from(rest.split_once('?').map_or(rest, |(path, _)| path))
}

/// Waits for, and holds until dropped, the exclusive lock on `<database>.migrate-lock`.
async fn lock_for_migrations(database: &Path) -> Result<std::fs::File, StorageError> {
    let mut name = database.as_os_str().to_owned();
    name.push(".migrate-lock");
    let path = std::path::PathBuf::from(name);
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| StorageError::Location(format!("{shown}: {e}")))?
    .map_err(|e| StorageError::Location(format!("{shown}: {e}")))
}

/// Reads a TEXT column that holds an enum, naming the column when the value is unknown.
pub(crate) fn parse_column<T: std::str::FromStr<Err = String>>(value: &str, column: &str) -> Result<T, StorageError> {
    value.parse().map_err(|e| StorageError::Corrupt(format!("{column}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("nested/k.db");
        let url = prepare_sqlite_url(&format!("sqlite:{}", file.display())).expect("url");
        assert_eq!(url, format!("sqlite://{}?mode=rwc", file.display()));
        assert!(file.parent().expect("parent").is_dir());
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
        assert_eq!(sqlite_file(&url), file);
        assert_eq!(sqlite_file("sqlite:data/k.db"), std::path::PathBuf::from("data/k.db"));
    }

    #[test]
    fn only_known_database_urls_are_accepted() {
        assert_eq!(Backend::from_url("sqlite:data/x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://h/db"), Ok(Backend::Postgres));
        assert_eq!(Backend::from_url("postgresql://h/db"), Ok(Backend::Postgres));
        assert!(Backend::from_url("mysql://h/db").is_err());
        assert!(Backend::from_url("data/x.db").is_err());
    }
}
