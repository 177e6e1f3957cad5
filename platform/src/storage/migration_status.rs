//! How a database's applied migrations compare with the set compiled into this binary: what
//! preflight reports before a deployment starts, so a pending migration, a database migrated by
//! a newer release (rolled back binary) or an edited migration is named instead of found later.

use sqlx::migrate::Migrate as _;

use super::{Db, MIGRATOR, StorageError};

/// The comparison, by migration version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Applied and known to this binary with the same checksum.
    pub current: usize,
    /// In this binary, not applied: `(version, description)`.
    pub pending: Vec<(i64, String)>,
    /// Applied, unknown to this binary (a newer release migrated the database).
    pub unknown: Vec<i64>,
    /// Applied with a checksum other than this binary's (the file was edited after it shipped).
    pub changed: Vec<i64>,
    /// A migration that started and failed: the database needs a hand before anything else.
    pub dirty: Option<i64>,
}

impl MigrationStatus {
    /// Nothing pending, unknown, changed or failed.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty() && self.changed.is_empty() && self.dirty.is_none()
    }
}

/// Reads `_sqlx_migrations` and compares it with [`MIGRATOR`]. A database that was never
/// migrated has no history table: every migration is pending.
pub async fn migration_status(db: &Db) -> Result<MigrationStatus, StorageError> {
    let (applied, dirty) = if history_table_exists(db).await? {
        let mut conn = db.pool().acquire().await?;
        (conn.list_applied_migrations().await?, conn.dirty_version().await?)
    } else {
        (Vec::new(), None)
    };
    let mut status = MigrationStatus { dirty, ..MigrationStatus::default() };
    for m in MIGRATOR.iter() {
        match applied.iter().find(|a| a.version == m.version) {
            None => status.pending.push((m.version, m.description.to_string())),
            Some(a) if a.checksum != m.checksum => status.changed.push(m.version),
            Some(_) => status.current += 1,
        }
    }
    status.unknown = applied.iter().map(|a| a.version).filter(|v| !MIGRATOR.iter().any(|m| m.version == *v)).collect();
    Ok(status)
}

async fn history_table_exists(db: &Db) -> Result<bool, StorageError> {
    let sql = match db.backend() {
        super::Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        super::Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let count: i64 = sqlx::query_scalar(sql).fetch_one(db.pool()).await?;
    Ok(count > 0)
}
