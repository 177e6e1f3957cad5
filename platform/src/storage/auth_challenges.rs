//! SQL for `auth_challenges`: the one-time messages a wallet signs to sign in.

use sqlx::Row as _;

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub nonce: String,
    pub wallet: String,
    pub message: String,
    pub expires_at_us: i64,
}

pub async fn insert(db: &Db, c: &Challenge, now_us: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO auth_challenges (nonce, wallet, message, created_at_us, expires_at_us, used_at_us) \
         VALUES ($1, $2, $3, $4, $5, NULL)",
    )
    .bind(&c.nonce)
    .bind(&c.wallet)
    .bind(&c.message)
    .bind(now_us)
    .bind(c.expires_at_us)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn get(db: &Db, nonce: &str) -> Result<Option<(Challenge, Option<i64>)>, StorageError> {
    let row =
        sqlx::query("SELECT nonce, wallet, message, expires_at_us, used_at_us FROM auth_challenges WHERE nonce = $1")
            .bind(nonce)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| {
        Ok((
            Challenge {
                nonce: r.try_get("nonce")?,
                wallet: r.try_get("wallet")?,
                message: r.try_get("message")?,
                expires_at_us: r.try_get("expires_at_us")?,
            },
            r.try_get("used_at_us")?,
        ))
    })
    .transpose()
}

/// Marks the nonce used; returns false when it was used already (or does not exist), so two
/// logins racing with one signature cannot both succeed.
pub async fn consume(db: &Db, nonce: &str, now_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE auth_challenges SET used_at_us = $2 WHERE nonce = $1 AND used_at_us IS NULL")
        .bind(nonce)
        .bind(now_us)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes challenges that expired before `before_us` (they can no longer be used).
pub async fn delete_expired(db: &Db, before_us: i64) -> Result<u64, StorageError> {
    Ok(sqlx::query("DELETE FROM auth_challenges WHERE expires_at_us < $1")
        .bind(before_us)
        .execute(db.pool())
        .await?
        .rows_affected())
}
