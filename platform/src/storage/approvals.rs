//! SQL for `approval_requests` and `approval_votes`: actions that need more than one operator.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub id: String,
    /// `credit` or `set_role`.
    pub kind: String,
    /// The action, JSON (its shape is the caller's).
    pub payload: String,
    pub proposed_by: String,
    /// `open`, `applied` or `expired`.
    pub status: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    pub applied_at_us: Option<i64>,
    /// Who approved, in order (the proposer first).
    pub approvals: Vec<String>,
}

const SELECT: &str = "SELECT id, kind, payload, proposed_by, status, created_at_us, expires_at_us, applied_at_us \
                      FROM approval_requests";

fn from_row(r: &AnyRow) -> Result<ApprovalRequest, StorageError> {
    Ok(ApprovalRequest {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        proposed_by: r.try_get("proposed_by")?,
        status: r.try_get("status")?,
        created_at_us: r.try_get("created_at_us")?,
        expires_at_us: r.try_get("expires_at_us")?,
        applied_at_us: r.try_get("applied_at_us")?,
        approvals: Vec::new(),
    })
}

async fn with_votes(conn: &mut AnyConnection, mut r: ApprovalRequest) -> Result<ApprovalRequest, StorageError> {
    let rows = sqlx::query("SELECT user_id FROM approval_votes WHERE request_id = $1 ORDER BY approved_at_us, user_id")
        .bind(&r.id)
        .fetch_all(conn)
        .await?;
    r.approvals = rows.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
    Ok(r)
}

/// Inserts an open request with the proposer's approval, on the caller's transaction (with its
/// audit entry).
pub async fn insert_in(conn: &mut AnyConnection, r: &ApprovalRequest) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO approval_requests (id, kind, payload, proposed_by, status, created_at_us, expires_at_us, \
         applied_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(&r.id)
    .bind(&r.kind)
    .bind(&r.payload)
    .bind(&r.proposed_by)
    .bind(&r.status)
    .bind(r.created_at_us)
    .bind(r.expires_at_us)
    .execute(&mut *conn)
    .await?;
    vote_in(conn, &r.id, &r.proposed_by, r.created_at_us).await?;
    Ok(())
}

/// Adds an approval on the caller's transaction; false when this user approved already.
pub async fn vote_in(conn: &mut AnyConnection, id: &str, user_id: &str, now_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "INSERT INTO approval_votes (request_id, user_id, approved_at_us) VALUES ($1, $2, $3) \
         ON CONFLICT (request_id, user_id) DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .bind(now_us)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<ApprovalRequest>, StorageError> {
    get_in(&mut *db.pool().acquire().await?, id).await
}

pub async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<ApprovalRequest>, StorageError> {
    let sql = format!("{SELECT} WHERE id = $1");
    match sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await? {
        Some(r) => Ok(Some(with_votes(conn, from_row(&r)?).await?)),
        None => Ok(None),
    }
}

/// Moves an open request to `status` on the caller's transaction; false when it was no
/// longer open (applied or expired by someone else first).
pub async fn close_in(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    applied_at_us: Option<i64>,
) -> Result<bool, StorageError> {
    let done =
        sqlx::query("UPDATE approval_requests SET status = $2, applied_at_us = $3 WHERE id = $1 AND status = 'open'")
            .bind(id)
            .bind(status)
            .bind(applied_at_us)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Open requests whose window has passed become expired.
pub async fn expire_due(db: &Db, now_us: i64) -> Result<u64, StorageError> {
    Ok(sqlx::query("UPDATE approval_requests SET status = 'expired' WHERE status = 'open' AND expires_at_us <= $1")
        .bind(now_us)
        .execute(db.pool())
        .await?
        .rows_affected())
}

/// Open requests, oldest first.
pub async fn open(db: &Db) -> Result<Vec<ApprovalRequest>, StorageError> {
    let mut conn = db.pool().acquire().await?;
    let sql = format!("{SELECT} WHERE status = 'open' ORDER BY id");
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(with_votes(&mut conn, from_row(r)?).await?);
    }
    Ok(out)
}
