//! SQL for `preflight_writes`: the row preflight writes, reads back and deletes to prove the
//! database takes writes, not only `SELECT 1`.

use std::time::{Duration, Instant};

use sqlx::Row as _;

use super::{Db, StorageError};

/// Inserts a row, reads it back and deletes it; returns the time all three took.
pub async fn write_and_read_back(db: &Db, writer: &str) -> Result<Duration, StorageError> {
    let start = Instant::now();
    let id = kairos_domain::new_id();
    let at = kairos_domain::now_us();
    sqlx::query("INSERT INTO preflight_writes (id, written_at_us, writer) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(at)
        .bind(writer)
        .execute(db.pool())
        .await?;
    let read = sqlx::query("SELECT written_at_us FROM preflight_writes WHERE id = $1")
        .bind(&id)
        .fetch_optional(db.pool())
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()?;
    sqlx::query("DELETE FROM preflight_writes WHERE id = $1").bind(&id).execute(db.pool()).await?;
    match read {
        Some(v) if v == at => Ok(start.elapsed()),
        Some(v) => Err(StorageError::Corrupt(format!("wrote written_at_us {at}, read back {v}"))),
        None => Err(StorageError::Corrupt("the row just written is not there".to_string())),
    }
}
