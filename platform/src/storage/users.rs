//! SQL for `users`: a wallet address and a role, nothing else about a person.

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Db, StorageError, parse_column};
use kairos_domain::{Role, new_id, now_us};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub wallet: String,
    pub role: Role,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

const COLUMNS: &str = "id, wallet, role, status, created_at_us, updated_at_us";

fn from_row(r: &AnyRow) -> Result<User, StorageError> {
    Ok(User {
        id: r.try_get("id")?,
        wallet: r.try_get("wallet")?,
        role: parse_column(&r.try_get::<String, _>("role")?, "users.role")?,
        status: r.try_get("status")?,
        created_at_us: r.try_get("created_at_us")?,
        updated_at_us: r.try_get("updated_at_us")?,
    })
}

/// The user with this wallet, created with `role` when there is none. Returns the user and
/// whether it was created.
pub async fn get_or_create_by_wallet(db: &Db, wallet: &str, role: Role) -> Result<(User, bool), StorageError> {
    if let Some(user) = by_wallet(db, wallet).await? {
        return Ok((user, false));
    }
    let now = now_us();
    let inserted = sqlx::query(
        "INSERT INTO users (id, wallet, role, status, created_at_us, updated_at_us) \
         VALUES ($1, $2, $3, 'active', $4, $4) ON CONFLICT (wallet) DO NOTHING",
    )
    .bind(new_id())
    .bind(wallet)
    .bind(role.as_str())
    .bind(now)
    .execute(db.pool())
    .await?;
    let user = by_wallet(db, wallet).await?.ok_or_else(|| StorageError::Corrupt(format!("user {wallet} vanished")))?;
    Ok((user, inserted.rows_affected() == 1))
}

pub async fn by_wallet(db: &Db, wallet: &str) -> Result<Option<User>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE wallet = $1");
    sqlx::query(&sql).bind(wallet).fetch_optional(db.pool()).await?.as_ref().map(from_row).transpose()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<User>, StorageError> {
    get_in(&mut *db.pool().acquire().await?, id).await
}

async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<User>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(conn).await?.as_ref().map(from_row).transpose()
}

/// Users after `after` (id order), optionally of one role.
pub async fn list(db: &Db, role: Option<Role>, after: Option<&str>, limit: i64) -> Result<Vec<User>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE (CAST($1 AS TEXT) IS NULL OR role = $1) \
         AND (CAST($2 AS TEXT) IS NULL OR id > $2) ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(role.map(Role::as_str)).bind(after).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// Sets a role on the caller's connection (a transaction, with its audit entry); returns the
/// user before and after, or `None` when there is no such user.
pub async fn set_role_in(conn: &mut AnyConnection, id: &str, role: Role) -> Result<Option<(User, User)>, StorageError> {
    let Some(before) = get_in(&mut *conn, id).await? else { return Ok(None) };
    sqlx::query("UPDATE users SET role = $2, updated_at_us = $3 WHERE id = $1")
        .bind(id)
        .bind(role.as_str())
        .bind(now_us())
        .execute(&mut *conn)
        .await?;
    let after = get_in(conn, id).await?.ok_or_else(|| StorageError::Corrupt(format!("user {id} vanished")))?;
    Ok(Some((before, after)))
}

/// How many users hold one of `roles` (the N of the M-of-N kill switch).
pub async fn count_with_roles(db: &Db, roles: &[Role]) -> Result<i64, StorageError> {
    let mut n = 0;
    for role in roles {
        let c: i64 = sqlx::query("SELECT COUNT(*) FROM users WHERE role = $1 AND status = 'active'")
            .bind(role.as_str())
            .fetch_one(db.pool())
            .await?
            .try_get(0)?;
        n += c;
    }
    Ok(n)
}
