//! SQL for the kill-switch proposals and their approvals.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row as _};

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub id: String,
    pub state: String,
    pub proposed_by: String,
    /// `open`, `applied` or `expired`.
    pub status: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    pub applied_at_us: Option<i64>,
    /// Operator ids, in approval order (the proposer first).
    pub approvals: Vec<String>,
}

const SELECT: &str =
    "SELECT id, state, proposed_by, status, created_at_us, expires_at_us, applied_at_us FROM kill_switch_proposals";

fn from_row(r: &AnyRow) -> Result<Proposal, StorageError> {
    Ok(Proposal {
        id: r.try_get("id")?,
        state: r.try_get("state")?,
        proposed_by: r.try_get("proposed_by")?,
        status: r.try_get("status")?,
        created_at_us: r.try_get("created_at_us")?,
        expires_at_us: r.try_get("expires_at_us")?,
        applied_at_us: r.try_get("applied_at_us")?,
        approvals: Vec::new(),
    })
}

async fn with_approvals(db: &Db, mut p: Proposal) -> Result<Proposal, StorageError> {
    let rows = sqlx::query(
        "SELECT operator_id FROM kill_switch_approvals WHERE proposal_id = $1 ORDER BY approved_at_us, operator_id",
    )
    .bind(&p.id)
    .fetch_all(db.pool())
    .await?;
    p.approvals = rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
    Ok(p)
}

/// Inserts a proposal with the proposer's approval.
pub async fn insert(db: &Db, p: &Proposal) -> Result<(), StorageError> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO kill_switch_proposals (id, state, proposed_by, status, created_at_us, expires_at_us, applied_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&p.id)
    .bind(&p.state)
    .bind(&p.proposed_by)
    .bind(&p.status)
    .bind(p.created_at_us)
    .bind(p.expires_at_us)
    .bind(p.applied_at_us)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO kill_switch_approvals (proposal_id, operator_id, approved_at_us) VALUES ($1, $2, $3)")
        .bind(&p.id)
        .bind(&p.proposed_by)
        .bind(p.created_at_us)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Proposal>, StorageError> {
    let sql = format!("{SELECT} WHERE id = $1");
    match sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await? {
        Some(r) => Ok(Some(with_approvals(db, from_row(&r)?).await?)),
        None => Ok(None),
    }
}

/// Adds an approval; false when this operator approved already.
pub async fn approve(db: &Db, id: &str, operator_id: &str, now_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "INSERT INTO kill_switch_approvals (proposal_id, operator_id, approved_at_us) VALUES ($1, $2, $3) \
         ON CONFLICT (proposal_id, operator_id) DO NOTHING",
    )
    .bind(id)
    .bind(operator_id)
    .bind(now_us)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves an open proposal to `status`; false when it was no longer open (someone else
/// applied or expired it first).
pub async fn close(db: &Db, id: &str, status: &str, applied_at_us: Option<i64>) -> Result<bool, StorageError> {
    close_in(&mut *db.pool().acquire().await?, id, status, applied_at_us).await
}

/// [`close`] on the caller's transaction: applying a proposal closes it in the transaction
/// that writes the setting, so a stop committed first leaves nothing to apply.
pub async fn close_in(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    applied_at_us: Option<i64>,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE kill_switch_proposals SET status = $2, applied_at_us = $3 WHERE id = $1 AND status = 'open'",
    )
    .bind(id)
    .bind(status)
    .bind(applied_at_us)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks open proposals whose window has passed as expired.
pub async fn expire_due(db: &Db, now_us: i64) -> Result<u64, StorageError> {
    Ok(sqlx::query("UPDATE kill_switch_proposals SET status = 'expired' WHERE status = 'open' AND expires_at_us <= $1")
        .bind(now_us)
        .execute(db.pool())
        .await?
        .rows_affected())
}

pub async fn open(db: &Db) -> Result<Vec<Proposal>, StorageError> {
    let sql = format!("{SELECT} WHERE status = 'open' ORDER BY id");
    let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(with_approvals(db, from_row(r)?).await?);
    }
    Ok(out)
}

/// Expires every open proposal on the caller's transaction (the one that turns trading off,
/// so an old "enable" proposal cannot restart it later).
pub async fn expire_all_open_in(conn: &mut AnyConnection) -> Result<u64, StorageError> {
    Ok(sqlx::query("UPDATE kill_switch_proposals SET status = 'expired' WHERE status = 'open'")
        .execute(conn)
        .await?
        .rows_affected())
}
