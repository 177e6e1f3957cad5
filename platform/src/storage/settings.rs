//! SQL for the `settings` table: shared runtime settings (the kill switch, feature flags).

use sqlx::AnyConnection;
use sqlx::Row as _;

use super::{Db, StorageError};
use kairos_domain::now_us;

pub async fn get(db: &Db, key: &str) -> Result<Option<String>, StorageError> {
    get_in(&mut *db.pool().acquire().await?, key).await
}

/// [`get`] on the caller's connection.
pub async fn get_in(conn: &mut AnyConnection, key: &str) -> Result<Option<String>, StorageError> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

/// Writes a value, replacing any previous one.
pub async fn put(db: &Db, key: &str, value: &str) -> Result<(), StorageError> {
    put_in(&mut *db.pool().acquire().await?, key, value).await
}

/// [`put`] on the caller's connection (a transaction, with its audit entry).
pub async fn put_in(conn: &mut AnyConnection, key: &str, value: &str) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at_us) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_us = excluded.updated_at_us",
    )
    .bind(key)
    .bind(value)
    .bind(now_us())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a value only when the key has none; returns whether it wrote. Seeds use this so a
/// restart never overwrites what operators set.
pub async fn put_if_absent(db: &Db, key: &str, value: &str) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "INSERT INTO settings (key, value, updated_at_us) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(value)
    .bind(now_us())
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every setting, by key.
pub async fn all(db: &Db) -> Result<Vec<(String, String)>, StorageError> {
    let rows = sqlx::query("SELECT key, value FROM settings ORDER BY key").fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?))).collect()
}
