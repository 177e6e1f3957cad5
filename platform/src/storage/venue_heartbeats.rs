//! The venue accounts' heartbeats (`venue_heartbeats`): written by the keeper that holds
//! `venue-heartbeat`, under its fence; read by every API instance to gate new orders.

use sqlx::{AnyConnection, Row as _};

use super::{Db, StorageError};

/// One account's heartbeat as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Heartbeat {
    /// The id the next beat sends (empty before the first).
    pub heartbeat_id: String,
    pub alive: bool,
    /// The last beat the venue accepted, epoch µs (0: none yet).
    pub accepted_at_us: i64,
    pub updated_at_us: i64,
    /// Why it is not alive.
    pub note: Option<String>,
}

pub async fn get(db: &Db, account: &str) -> Result<Option<Heartbeat>, StorageError> {
    let row = sqlx::query(
        "SELECT heartbeat_id, alive, accepted_at_us, updated_at_us, note FROM venue_heartbeats WHERE account = $1",
    )
    .bind(account)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(Heartbeat {
            heartbeat_id: r.try_get(0)?,
            alive: r.try_get::<i64, _>(1)? != 0,
            accepted_at_us: r.try_get(2)?,
            updated_at_us: r.try_get(3)?,
            note: r.try_get(4)?,
        })
    })
    .transpose()
}

/// Writes the account's heartbeat (inside the keeper's fenced transaction).
pub async fn put_in(conn: &mut AnyConnection, account: &str, beat: &Heartbeat) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO venue_heartbeats (account, heartbeat_id, alive, accepted_at_us, updated_at_us, note) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account) DO UPDATE SET heartbeat_id = excluded.heartbeat_id, alive = excluded.alive, \
         accepted_at_us = excluded.accepted_at_us, updated_at_us = excluded.updated_at_us, note = excluded.note",
    )
    .bind(account)
    .bind(&beat.heartbeat_id)
    .bind(i64::from(beat.alive))
    .bind(beat.accepted_at_us)
    .bind(beat.updated_at_us)
    .bind(beat.note.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}
