//! Fresh databases for tests: a SQLite file in a temporary directory, and a new PostgreSQL
//! database on the server named by `TEST_DATABASE_URL` (`.cargo/config.toml` points it at
//! 127.0.0.1:5432 unless set). Databases are named `kairos_test_*`; `.ci/run` drops leftovers
//! before the suite.
//!
//! A test never passes silently for want of a service: without PostgreSQL or Redis it fails,
//! saying how to provide them, unless the developer opted out with `TEST_SKIP_SERVICES=1`;
//! then it prints `SKIPPED …` ([`skip_or_fail`]).

use sqlx::AnyConnection;
use sqlx::Connection as _;

/// A database that exists for one test.
#[derive(Debug)]
pub struct ScratchDb {
    pub url: String,
    /// Which backend, for test names and messages.
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite database file.
pub fn sqlite() -> ScratchDb {
    let dir = tempfile::tempdir().expect("temporary directory for a scratch SQLite database");
    let url = format!("sqlite:{}", dir.path().join("kairos.db").display());
    ScratchDb { url, label: "sqlite", _dir: Some(dir) }
}

/// A new PostgreSQL database; `None` only when the developer opted out of services (the test
/// then prints that it skipped PostgreSQL).
pub async fn postgres() -> Option<ScratchDb> {
    let admin_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !skipping_services() => url,
        _ => {
            skip_or_fail("PostgreSQL (TEST_DATABASE_URL)");
            return None;
        }
    };
    sqlx::any::install_default_drivers();
    let name = format!("kairos_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL at TEST_DATABASE_URL is unreachable ({e}): start it, or set TEST_SKIP_SERVICES=1 to skip its tests")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE for a scratch database");
    let _ = conn.close().await;
    Some(ScratchDb { url: with_database(&admin_url, &name), label: "postgres", _dir: None })
}

/// Whether the developer opted out of the tests that need PostgreSQL and Redis
/// (`TEST_SKIP_SERVICES=1`). CI never does.
pub fn skipping_services() -> bool {
    std::env::var("TEST_SKIP_SERVICES").is_ok_and(|v| v == "1")
}

/// For a test that cannot run without `what`: fails, saying how to provide it, unless the
/// developer opted out of services; then prints `SKIPPED` with what was skipped, so that the
/// opt-out is the only way a test passes without running.
pub fn skip_or_fail(what: &str) {
    assert!(
        skipping_services(),
        "this test needs {what}; provide it (see README, \"Run the whole test suite\") or set TEST_SKIP_SERVICES=1 to skip such tests"
    );
    eprintln!("SKIPPED (TEST_SKIP_SERVICES=1): a test that needs {what}");
}

/// The Redis the tests use (`TEST_REDIS_URL`); `None` only when the developer opted out.
pub fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !skipping_services() => Some(url),
        _ => {
            skip_or_fail("Redis (TEST_REDIS_URL)");
            None
        }
    }
}

/// A new empty database on the same backend as `db` (a restore target, say).
pub async fn empty_like(db: &ScratchDb) -> ScratchDb {
    if db.label == "postgres" {
        postgres().await.expect("PostgreSQL served `db`, so it serves another")
    } else {
        sqlite()
    }
}

/// Every backend this run tests: SQLite always, PostgreSQL when configured.
pub async fn all() -> Vec<ScratchDb> {
    let mut dbs = vec![sqlite()];
    dbs.extend(postgres().await);
    dbs
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(super::with_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(super::with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(super::with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }
}
