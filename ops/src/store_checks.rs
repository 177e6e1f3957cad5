//! The stores part of preflight: the database reachable, its migrations current and a row
//! written and read back; Redis reachable and a key written and read back. How much a store
//! being down matters follows the storage mode: in `strict` it is a failure, in `degraded` a
//! warning that names the fallback.

use std::time::Duration;

use kairos_platform::cache::Redis;
use kairos_platform::config::{CoreSettings, StorageMode, redact_url};
use kairos_platform::storage::migration_status::{MigrationStatus, migration_status};
use kairos_platform::storage::{Db, preflight_writes};

use crate::report::Check;

/// How long the database may take to answer the first query.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(5);

/// `stores.database` and `stores.migrations`. `writer` names this run in the row it writes.
pub async fn database_checks(core: &CoreSettings, writer: &str) -> Vec<Check> {
    let shown = redact_url(core.database_url.expose());
    let db = match tokio::time::timeout(DATABASE_TIMEOUT, Db::connect(core.database_url.expose(), 1)).await {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => return unreachable_database(&shown, &e.to_string()),
        Err(_) => return unreachable_database(&shown, &format!("no answer within {} s", DATABASE_TIMEOUT.as_secs())),
    };
    let mut checks = Vec::new();
    let migrations = migration_status(&db).await;
    checks.push(match &migrations {
        Ok(status) => migrations_check(status),
        Err(e) => Check::fail("stores.migrations", format!("cannot read the migration history: {e}")),
    });
    // The write needs the table the migrations create; without it the write check would only
    // repeat that migrations are pending.
    let table_there = migrations.as_ref().is_ok_and(|s| s.pending.iter().all(|(v, _)| *v != PREFLIGHT_TABLE_VERSION));
    checks.insert(
        0,
        if !table_there {
            Check::fail(
                "stores.database",
                format!("{shown} ({}) answers, but the write check's table is not migrated yet: run `kairos-api migrate`", db.backend().as_str()),
            )
        } else {
            match tokio::time::timeout(DATABASE_TIMEOUT, preflight_writes::write_and_read_back(&db, writer)).await {
                Ok(Ok(took)) => Check::pass(
                    "stores.database",
                    format!("{shown} ({}): a row written, read back and deleted in {} ms", db.backend().as_str(), took.as_millis()),
                ),
                Ok(Err(e)) => Check::fail(
                    "stores.database",
                    format!("{shown} answers but refused a write ({e}): check the user's grants, the disk and that it is not a read-only replica"),
                ),
                Err(_) => Check::fail("stores.database", format!("{shown}: the write did not finish within {} s (locked? overloaded?)", DATABASE_TIMEOUT.as_secs())),
            }
        },
    );
    db.close().await;
    checks
}

/// The migration that creates `preflight_writes`.
const PREFLIGHT_TABLE_VERSION: i64 = 20261205000001;

fn unreachable_database(shown: &str, error: &str) -> Vec<Check> {
    vec![
        Check::fail(
            "stores.database",
            format!("{shown} is unreachable ({error}): start it or fix KAIROS_DATABASE_URL"),
        ),
        Check::fail("stores.migrations", "not checked: the database is unreachable"),
    ]
}

fn migrations_check(status: &MigrationStatus) -> Check {
    if let Some(version) = status.dirty {
        return Check::fail(
            "stores.migrations",
            format!(
                "migration {version} failed part-way: repair the database by hand (see the runbook) before starting"
            ),
        );
    }
    let mut wrong = Vec::new();
    if !status.pending.is_empty() {
        let mut names: Vec<String> = status.pending.iter().take(3).map(|(v, d)| format!("{v} {d}")).collect();
        if status.pending.len() > 3 {
            names.push("…".to_string());
        }
        wrong.push(format!("{} pending ({}): run `kairos-api migrate`", status.pending.len(), names.join(", ")));
    }
    if !status.unknown.is_empty() {
        wrong.push(format!(
            "{} applied that this binary does not know ({:?}): the database was migrated by a newer release; deploy that release",
            status.unknown.len(),
            status.unknown
        ));
    }
    if !status.changed.is_empty() {
        wrong.push(format!(
            "{:?} applied with a different checksum: a shipped migration file was edited; restore it",
            status.changed
        ));
    }
    if wrong.is_empty() {
        Check::pass("stores.migrations", format!("{} applied, none pending or unknown", status.current))
    } else {
        Check::fail("stores.migrations", wrong.join("; "))
    }
}

/// `stores.redis`.
pub async fn redis_check(core: &CoreSettings) -> Check {
    let strict = core.storage_mode == StorageMode::Strict;
    let Some(url) = &core.redis_url else {
        return if strict {
            Check::fail("stores.redis", "strict storage mode without KAIROS_REDIS_URL: set it")
        } else {
            Check::warn(
                "stores.redis",
                "not configured: rate limits and replay guards are per instance (fine for one instance)",
            )
        };
    };
    let shown = redact_url(url.expose());
    let result = match Redis::new(url.expose()) {
        Ok(redis) => redis.write_and_read_back().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(took) => Check::pass(
            "stores.redis",
            format!("{shown}: a key written, read back and deleted in {} ms", took.as_millis()),
        ),
        Err(e) if strict => Check::fail(
            "stores.redis",
            format!("{shown}: {e}; strict mode will not start without it: start Redis or fix KAIROS_REDIS_URL"),
        ),
        Err(e) => Check::warn(
            "stores.redis",
            format!("{shown}: {e}; degraded mode will serve on per-instance fallbacks and say so in /ready"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_migration_drift_is_named() {
        let current = MigrationStatus { current: 9, ..MigrationStatus::default() };
        assert_eq!(migrations_check(&current).status, crate::Status::Pass);
        let pending = MigrationStatus { pending: vec![(7, "live order indexes".to_string())], ..current.clone() };
        let c = migrations_check(&pending);
        assert_eq!(c.status, crate::Status::Fail);
        assert!(
            c.detail.contains("1 pending (7 live order indexes)") && c.detail.contains("kairos-api migrate"),
            "{c:?}"
        );
        let newer = MigrationStatus { unknown: vec![99], ..current.clone() };
        assert!(migrations_check(&newer).detail.contains("newer release"));
        let edited = MigrationStatus { changed: vec![3], ..current.clone() };
        assert!(migrations_check(&edited).detail.contains("edited"));
        let dirty = MigrationStatus { dirty: Some(4), ..current };
        assert!(migrations_check(&dirty).detail.contains("failed part-way"));
    }
}
