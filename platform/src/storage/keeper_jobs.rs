//! SQL for `keeper_jobs`: the keepers' leases. Claim, renew, finish and release are single
//! statements that run unchanged on SQLite and PostgreSQL; each says by the rows it touched
//! whether the caller (still) holds the lease. Times are passed in (UTC epoch microseconds), so
//! the rules are tested without waiting.

use sqlx::AnyConnection;
use sqlx::Row as _;

use super::{Db, StorageError};

/// A job's row as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    pub name: String,
    pub enabled: bool,
    pub period_ms: i64,
    pub next_run_at_us: i64,
    pub holder: Option<String>,
    pub lease_until_us: i64,
    pub fence: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_run_at_us: Option<i64>,
    pub last_success_at_us: Option<i64>,
}

/// A lease as its holder knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub fence: i64,
    pub next_run_at_us: i64,
    pub attempts: i64,
}

/// Creates the job's row, or updates its enabled flag and period from the registering
/// process's config; the schedule, lease and history stay.
pub async fn register(db: &Db, name: &str, enabled: bool, period_ms: i64, now_us: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO keeper_jobs (name, enabled, period_ms, next_run_at_us, holder, lease_until_us, fence, attempts) \
         VALUES ($1, $2, $3, $4, NULL, 0, 0, 0) \
         ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, period_ms = excluded.period_ms",
    )
    .bind(name)
    .bind(i64::from(enabled))
    .bind(period_ms)
    .bind(now_us)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Takes the lease when it is free or expired, growing the fence; `None` when another process
/// holds it (or the job is disabled).
pub async fn claim(
    db: &Db,
    name: &str,
    holder: &str,
    now_us: i64,
    lease_until_us: i64,
) -> Result<Option<Claim>, StorageError> {
    let row = sqlx::query(
        "UPDATE keeper_jobs SET holder = $1, lease_until_us = $2, fence = fence + 1 \
         WHERE name = $3 AND enabled = 1 AND (holder IS NULL OR lease_until_us <= $4) \
         RETURNING fence, next_run_at_us, attempts",
    )
    .bind(holder)
    .bind(lease_until_us)
    .bind(name)
    .bind(now_us)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok(Claim { fence: r.try_get(0)?, next_run_at_us: r.try_get(1)?, attempts: r.try_get(2)? })).transpose()
}

/// Extends the lease; false when the caller no longer holds it (it must stop).
pub async fn renew(db: &Db, name: &str, holder: &str, fence: i64, lease_until_us: i64) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE keeper_jobs SET lease_until_us = $1 WHERE name = $2 AND holder = $3 AND fence = $4")
        .bind(lease_until_us)
        .bind(name)
        .bind(holder)
        .bind(fence)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How a run ended, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished<'a> {
    pub ran_at_us: i64,
    pub next_run_at_us: i64,
    pub attempts: i64,
    /// `None` on success.
    pub error: Option<&'a str>,
}

/// Records a run under the fence; false (and nothing written) when the lease was lost.
pub async fn finish(db: &Db, name: &str, holder: &str, fence: i64, run: &Finished<'_>) -> Result<bool, StorageError> {
    let success_at = if run.error.is_none() { Some(run.ran_at_us) } else { None };
    let done = sqlx::query(
        "UPDATE keeper_jobs SET next_run_at_us = $1, attempts = $2, last_error = $3, last_run_at_us = $4, \
         last_success_at_us = COALESCE($5, last_success_at_us) \
         WHERE name = $6 AND holder = $7 AND fence = $8",
    )
    .bind(run.next_run_at_us)
    .bind(run.attempts)
    .bind(run.error)
    .bind(run.ran_at_us)
    .bind(success_at)
    .bind(name)
    .bind(holder)
    .bind(fence)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the lease up (on shutdown), so another process need not wait for it to expire.
pub async fn release(db: &Db, name: &str, holder: &str, fence: i64) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE keeper_jobs SET holder = NULL, lease_until_us = 0 WHERE name = $1 AND holder = $2 AND fence = $3",
    )
    .bind(name)
    .bind(holder)
    .bind(fence)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inside a job's own transaction: true while `fence` is still the job's, and from then on
/// until the transaction ends no claim can take it (the row is locked: PostgreSQL's row lock,
/// SQLite's write lock). A job writes what matters only after this returns true.
pub async fn hold_fence_in(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    fence: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE keeper_jobs SET fence = fence WHERE name = $1 AND holder = $2 AND fence = $3")
        .bind(name)
        .bind(holder)
        .bind(fence)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Every job, by name.
pub async fn all(db: &Db) -> Result<Vec<JobRow>, StorageError> {
    let rows = sqlx::query(
        "SELECT name, enabled, period_ms, next_run_at_us, holder, lease_until_us, fence, attempts, last_error, \
         last_run_at_us, last_success_at_us FROM keeper_jobs ORDER BY name",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobRow {
                name: r.try_get(0)?,
                enabled: r.try_get::<i64, _>(1)? != 0,
                period_ms: r.try_get(2)?,
                next_run_at_us: r.try_get(3)?,
                holder: r.try_get(4)?,
                lease_until_us: r.try_get(5)?,
                fence: r.try_get(6)?,
                attempts: r.try_get(7)?,
                last_error: r.try_get(8)?,
                last_run_at_us: r.try_get(9)?,
                last_success_at_us: r.try_get(10)?,
            })
        })
        .collect()
}

/// A job as `kairos-keepers status` and `GET /v1/admin/keepers` show it: times in RFC 3339
/// (null when never), the lease's expiry only while someone holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JobStatus {
    pub name: String,
    pub enabled: bool,
    /// `host/pid` of the keeper holding the lease.
    pub holder: Option<String>,
    pub lease_until: Option<String>,
    pub next_run_at: String,
    pub last_run_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub failures_in_a_row: i64,
    pub period_s: i64,
    /// Grows with every claim of the lease.
    pub fence: i64,
}

impl From<&JobRow> for JobStatus {
    fn from(row: &JobRow) -> JobStatus {
        use kairos_domain::format_rfc3339_us as time;
        JobStatus {
            name: row.name.clone(),
            enabled: row.enabled,
            holder: row.holder.clone(),
            lease_until: row.holder.as_ref().map(|_| time(row.lease_until_us)),
            next_run_at: time(row.next_run_at_us),
            last_run_at: row.last_run_at_us.map(time),
            last_success_at: row.last_success_at_us.map(time),
            last_error: row.last_error.clone(),
            failures_in_a_row: row.attempts,
            period_s: row.period_ms / 1_000,
            fence: row.fence,
        }
    }
}
