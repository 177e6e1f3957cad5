//! SQL for dead-man's switches (`dead_man_switches`): one row per armed user, with the time
//! by which the next heartbeat must arrive.

use sqlx::Row as _;

use super::{Db, StorageError};

/// Arms (or re-arms) a user's switch.
pub async fn arm(db: &Db, user_id: &str, timeout_ms: i64, deadline_us: i64, now_us: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO dead_man_switches (user_id, timeout_ms, deadline_us, updated_at_us) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET timeout_ms = excluded.timeout_ms, deadline_us = excluded.deadline_us, \
         updated_at_us = excluded.updated_at_us",
    )
    .bind(user_id)
    .bind(timeout_ms)
    .bind(deadline_us)
    .bind(now_us)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn disarm(db: &Db, user_id: &str) -> Result<(), StorageError> {
    sqlx::query("DELETE FROM dead_man_switches WHERE user_id = $1").bind(user_id).execute(db.pool()).await?;
    Ok(())
}

/// Switches whose deadline has passed: (user id, deadline).
pub async fn due(db: &Db, now_us: i64) -> Result<Vec<(String, i64)>, StorageError> {
    let rows =
        sqlx::query("SELECT user_id, deadline_us FROM dead_man_switches WHERE deadline_us <= $1 ORDER BY deadline_us")
            .bind(now_us)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Takes a due switch off; true for exactly one caller (the instance that fires it), false
/// when it was re-armed or fired meanwhile.
pub async fn claim(db: &Db, user_id: &str, deadline_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query("DELETE FROM dead_man_switches WHERE user_id = $1 AND deadline_us = $2")
        .bind(user_id)
        .bind(deadline_us)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}
