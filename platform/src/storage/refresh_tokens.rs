//! SQL for `refresh_tokens`: rotating refresh tokens grouped in families, stored hashed.

use sqlx::Row as _;

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub id: String,
    pub family_id: String,
    pub user_id: String,
    pub expires_at_us: i64,
    pub rotated_at_us: Option<i64>,
    pub revoked_at_us: Option<i64>,
}

pub async fn insert(
    db: &Db,
    id: &str,
    family_id: &str,
    user_id: &str,
    token_hash: &str,
    now_us: i64,
    expires_at_us: i64,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at_us, expires_at_us, rotated_at_us, revoked_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL)",
    )
    .bind(id)
    .bind(family_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(now_us)
    .bind(expires_at_us)
    .execute(db.pool())
    .await?;
    Ok(())
}

pub async fn by_hash(db: &Db, token_hash: &str) -> Result<Option<RefreshToken>, StorageError> {
    let row = sqlx::query(
        "SELECT id, family_id, user_id, expires_at_us, rotated_at_us, revoked_at_us FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        Ok(RefreshToken {
            id: r.try_get("id")?,
            family_id: r.try_get("family_id")?,
            user_id: r.try_get("user_id")?,
            expires_at_us: r.try_get("expires_at_us")?,
            rotated_at_us: r.try_get("rotated_at_us")?,
            revoked_at_us: r.try_get("revoked_at_us")?,
        })
    })
    .transpose()
}

/// Marks a token rotated; false when it was rotated or revoked meanwhile (a concurrent use).
pub async fn mark_rotated(db: &Db, id: &str, now_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at_us = $2 WHERE id = $1 AND rotated_at_us IS NULL AND revoked_at_us IS NULL",
    )
    .bind(id)
    .bind(now_us)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every token of a family (reuse of a rotated token, or logout), on the caller's
/// connection.
pub async fn revoke_family_in(
    conn: &mut sqlx::AnyConnection,
    family_id: &str,
    now_us: i64,
) -> Result<u64, StorageError> {
    Ok(sqlx::query("UPDATE refresh_tokens SET revoked_at_us = $2 WHERE family_id = $1 AND revoked_at_us IS NULL")
        .bind(family_id)
        .bind(now_us)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Revokes every session of a user (role change, suspension), on the caller's connection.
pub async fn revoke_all_for_user_in(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now_us: i64,
) -> Result<u64, StorageError> {
    Ok(sqlx::query("UPDATE refresh_tokens SET revoked_at_us = $2 WHERE user_id = $1 AND revoked_at_us IS NULL")
        .bind(user_id)
        .bind(now_us)
        .execute(conn)
        .await?
        .rows_affected())
}
