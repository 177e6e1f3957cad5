//! Fresh databases for tests: a SQLite file in a temporary directory, and a new PostgreSQL
//! database on the server named by `TEST_DATABASE_URL` (CI always sets it). Databases are
//! named `kairos_test_*`; `.ci/run` drops leftovers before the suite.

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

/// A new PostgreSQL database, or `None` (with a line on stderr saying the test skipped
/// PostgreSQL) when `TEST_DATABASE_URL` is not set.
pub async fn postgres() -> Option<ScratchDb> {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        assert!(
            !services_required(),
            "TEST_REQUIRE_SERVICES is set but TEST_DATABASE_URL is not: PostgreSQL tests cannot be skipped"
        );
        eprintln!("SKIPPED on PostgreSQL: TEST_DATABASE_URL is not set (SQLite only)");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("kairos_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but unreachable: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE for a scratch database");
    let _ = conn.close().await;
    Some(ScratchDb { url: with_database(&admin_url, &name), label: "postgres", _dir: None })
}

/// Whether a test may skip for want of a service: never in CI, where `.ci/run` sets
/// `TEST_REQUIRE_SERVICES`.
pub fn services_required() -> bool {
    std::env::var_os("TEST_REQUIRE_SERVICES").is_some()
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
