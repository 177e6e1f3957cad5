//! SQL for `api_keys`. The secret is stored encrypted (the server must recompute signatures);
//! never in the clear.

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub label: String,
    /// Comma-separated scopes (`read,trade`).
    pub scopes: String,
    /// Comma-separated addresses or CIDRs; `None` = any address.
    pub ip_allowlist: Option<String>,
    pub secret_ciphertext: Option<String>,
    pub created_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

const COLUMNS: &str = "id, user_id, label, scopes, ip_allowlist, secret_ciphertext, created_at_us, revoked_at_us";

fn from_row(r: &AnyRow) -> Result<ApiKey, StorageError> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        label: r.try_get("label")?,
        scopes: r.try_get("scopes")?,
        ip_allowlist: r.try_get("ip_allowlist")?,
        secret_ciphertext: r.try_get("secret_ciphertext")?,
        created_at_us: r.try_get("created_at_us")?,
        revoked_at_us: r.try_get("revoked_at_us")?,
    })
}

/// On the caller's connection (a transaction, with its audit entry).
pub async fn insert_in(conn: &mut AnyConnection, key: &ApiKey) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, label, scopes, ip_allowlist, created_at_us, revoked_at_us, secret_ciphertext) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
    )
    .bind(&key.id)
    .bind(&key.user_id)
    .bind(&key.label)
    .bind(&key.scopes)
    .bind(key.ip_allowlist.as_deref())
    .bind(key.created_at_us)
    .bind(key.secret_ciphertext.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<ApiKey>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?.as_ref().map(from_row).transpose()
}

pub async fn list_for_user(db: &Db, user_id: &str) -> Result<Vec<ApiKey>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY id");
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Every key's id and stored secret (revoked keys too), for a master key rotation.
pub async fn all_secret_ciphertexts(db: &Db) -> Result<Vec<(String, String)>, StorageError> {
    let rows =
        sqlx::query("SELECT id, secret_ciphertext FROM api_keys WHERE secret_ciphertext IS NOT NULL ORDER BY id")
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// Replaces a key's stored secret if it still is `old`; false when it changed meanwhile.
pub async fn replace_secret_ciphertext(db: &Db, id: &str, old: &str, new: &str) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE api_keys SET secret_ciphertext = $1 WHERE id = $2 AND secret_ciphertext = $3")
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes a key on the caller's connection; false when it was already revoked or does not exist.
pub async fn revoke_in(conn: &mut AnyConnection, id: &str, now_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at_us = $2 WHERE id = $1 AND revoked_at_us IS NULL")
        .bind(id)
        .bind(now_us)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live key of a user on the caller's connection (a transaction, with its audit
/// entry); returns the ids it revoked.
pub async fn revoke_all_for_user_in(
    conn: &mut AnyConnection,
    user_id: &str,
    now_us: i64,
) -> Result<Vec<String>, StorageError> {
    let rows = sqlx::query("SELECT id FROM api_keys WHERE user_id = $1 AND revoked_at_us IS NULL ORDER BY id")
        .bind(user_id)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?;
    sqlx::query("UPDATE api_keys SET revoked_at_us = $2 WHERE user_id = $1 AND revoked_at_us IS NULL")
        .bind(user_id)
        .bind(now_us)
        .execute(conn)
        .await?;
    Ok(ids)
}

/// A user's keys that are not revoked, on the caller's connection.
pub async fn count_live_for_user_in(conn: &mut AnyConnection, user_id: &str) -> Result<i64, StorageError> {
    Ok(sqlx::query("SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at_us IS NULL")
        .bind(user_id)
        .fetch_one(conn)
        .await?
        .try_get(0)?)
}
