//! SQL for dead-man's switches (`dead_man_switches`): one row per armed user, with the time
//! by which the next heartbeat must arrive.

use sqlx::Row as _;

use super::{Db, StorageError};

/// Arms (or re-arms) a user's switch; a switch still retrying its cancels goes back to
/// waiting for heartbeats (the user is back).
pub async fn arm(db: &Db, user_id: &str, timeout_ms: i64, deadline_us: i64, now_us: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO dead_man_switches (user_id, timeout_ms, deadline_us, updated_at_us, fired_at_us, attempts) \
         VALUES ($1, $2, $3, $4, NULL, 0) \
         ON CONFLICT (user_id) DO UPDATE SET timeout_ms = excluded.timeout_ms, deadline_us = excluded.deadline_us, \
         updated_at_us = excluded.updated_at_us, fired_at_us = NULL, attempts = 0",
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

/// A switch whose deadline (or next retry) has passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub user_id: String,
    pub deadline_us: i64,
    /// Tries already made (0 when it has not fired yet).
    pub attempts: i64,
    pub fired_at_us: Option<i64>,
}

/// Switches whose deadline or retry time has passed, oldest first.
pub async fn due(db: &Db, now_us: i64) -> Result<Vec<Due>, StorageError> {
    let rows = sqlx::query(
        "SELECT user_id, deadline_us, attempts, fired_at_us FROM dead_man_switches WHERE deadline_us <= $1 \
         ORDER BY deadline_us",
    )
    .bind(now_us)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Due {
                user_id: r.try_get(0)?,
                deadline_us: r.try_get(1)?,
                attempts: r.try_get(2)?,
                fired_at_us: r.try_get(3)?,
            })
        })
        .collect()
}

/// Claims one try at a due switch: true for exactly one caller (the instance that fires it),
/// false when it was re-armed or claimed meanwhile. The switch stays, its deadline moved to
/// `retry_at_us`: if this try's cancels do not all succeed, the next sweep after that tries
/// again.
pub async fn claim(
    db: &Db,
    user_id: &str,
    deadline_us: i64,
    retry_at_us: i64,
    now_us: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE dead_man_switches SET deadline_us = $3, fired_at_us = COALESCE(fired_at_us, $4), \
         attempts = attempts + 1, updated_at_us = $4 WHERE user_id = $1 AND deadline_us = $2",
    )
    .bind(user_id)
    .bind(deadline_us)
    .bind(retry_at_us)
    .bind(now_us)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a fired switch off once its cancels all succeeded; false when a heartbeat re-armed
/// it meanwhile (it then waits for heartbeats again). On the caller's connection, in the
/// transaction of the audit entry that records it.
pub async fn complete_in(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    retry_at_us: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "DELETE FROM dead_man_switches WHERE user_id = $1 AND deadline_us = $2 AND fired_at_us IS NOT NULL",
    )
    .bind(user_id)
    .bind(retry_at_us)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The user's switch: (deadline or next retry, attempts, fired at), when armed.
pub async fn get(db: &Db, user_id: &str) -> Result<Option<Due>, StorageError> {
    let row =
        sqlx::query("SELECT user_id, deadline_us, attempts, fired_at_us FROM dead_man_switches WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| {
        Ok(Due {
            user_id: r.try_get(0)?,
            deadline_us: r.try_get(1)?,
            attempts: r.try_get(2)?,
            fired_at_us: r.try_get(3)?,
        })
    })
    .transpose()
}
