//! SQL for `audit_log`: append-only, hash-chained. Each row's `hash` covers its fields and the
//! previous row's hash, so changing or removing a row breaks the chain at that row, which
//! [`verify`] finds. This module holds no UPDATE or DELETE statement for the table, and no other
//! module may hold one: retention is seven years.

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

pub use futures_util::future::BoxFuture;

use super::{Db, StorageError};
use kairos_domain::{new_id, now_us};

pub use super::chain::GENESIS_HASH;

/// What happened, by whom, to what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    /// `user:<id>`, `key:<id>`, `cli`, `system`, or `wallet:<address>` before a user exists.
    pub actor: String,
    /// Dotted verb: `auth.login`, `auth.refresh_reuse`, `api_key.create`, `kill_switch.approve`…
    pub action: String,
    pub target: Option<String>,
    pub request_id: Option<String>,
    /// JSON of the state before and after, where it applies.
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub id: String,
    pub entry: AuditEntry,
    pub created_at_us: i64,
    pub prev_hash: String,
    pub hash: String,
}

/// The chain hash of a row.
pub fn chain_hash(seq: i64, id: &str, e: &AuditEntry, created_at_us: i64, prev_hash: &str) -> String {
    super::chain::hash_fields(&[
        Some(&seq.to_string()),
        Some(id),
        Some(&e.actor),
        Some(&e.action),
        e.target.as_deref(),
        e.request_id.as_deref(),
        e.before.as_deref(),
        e.after.as_deref(),
        Some(&created_at_us.to_string()),
        Some(prev_hash),
    ])
}

/// How many times a change is retried when another writer took the same sequence number.
const APPEND_ATTEMPTS: usize = 20;

/// The work of [`with_audit`]: a change made on the transaction's connection, returning its
/// result and the audit entry that describes it.
pub type AuditedWork<'c, T> = BoxFuture<'c, Result<(T, AuditEntry), StorageError>>;

/// Runs `work` and appends the audit entry it returns in ONE transaction: a privileged change
/// is never stored without its trace, nor the trace without the change. Concurrent writers
/// race for the next `seq`; the loser's whole transaction rolls back and runs again, so
/// `work` must be safe to repeat (it is re-run from the start on a fresh transaction).
pub async fn with_audit<T, F>(db: &Db, mut work: F) -> Result<(T, AuditRecord), StorageError>
where
    F: for<'c> FnMut(&'c mut AnyConnection) -> AuditedWork<'c, T>,
{
    let mut last_error = None;
    for attempt in 0..APPEND_ATTEMPTS as u64 {
        let mut tx = db.pool().begin().await?;
        let result = async {
            let (value, entry) = work(&mut tx).await?;
            let record = append_in(&mut tx, &entry).await?;
            Ok::<_, StorageError>((value, record))
        }
        .await;
        let outcome = match result {
            Ok(done) => tx.commit().await.map(|()| done).map_err(StorageError::from),
            Err(e) => Err(e),
        };
        match outcome {
            Ok(done) => return Ok(done),
            Err(StorageError::Query(e)) if is_retryable(&e) => {
                last_error = Some(e);
                // Jittered, growing back-off so racing writers spread out.
                let jitter = u64::from(rand::random::<u8>() % 8);
                tokio::time::sleep(std::time::Duration::from_millis(1 + attempt * 2 + jitter)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(StorageError::Conflict(format!(
        "audit append lost {APPEND_ATTEMPTS} races: {}",
        last_error.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// Appends an entry that records an event with no other change (a login, a failed signature).
pub async fn append(db: &Db, entry: &AuditEntry) -> Result<AuditRecord, StorageError> {
    let (_, record) = with_audit(db, |_| {
        let entry = entry.clone();
        Box::pin(async move { Ok(((), entry)) })
    })
    .await?;
    Ok(record)
}

fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        // A lost race for the next seq, SQLite's busy/locked, PostgreSQL's serialization
        // failure and deadlock: each is resolved by running the transaction again.
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.message().contains("locked")
                || db.message().contains("busy")
                || matches!(db.code().as_deref(), Some("40001" | "40P01"))
        }
        _ => false,
    }
}

/// Appends at the head of the chain, on the caller's transaction (which must be retried as a
/// whole when it loses the race for the next `seq`).
pub async fn append_in(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<AuditRecord, StorageError> {
    let head =
        sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (seq, prev_hash) = match head {
        Some(r) => (r.try_get::<i64, _>(0)? + 1, r.try_get::<String, _>(1)?),
        None => (1, GENESIS_HASH.to_string()),
    };
    let id = new_id();
    let created_at_us = now_us();
    let hash = chain_hash(seq, &id, entry, created_at_us, &prev_hash);
    sqlx::query(
        "INSERT INTO audit_log (seq, id, actor, action, target, request_id, before_json, after_json, created_at_us, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(seq)
    .bind(&id)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(entry.target.as_deref())
    .bind(entry.request_id.as_deref())
    .bind(entry.before.as_deref())
    .bind(entry.after.as_deref())
    .bind(created_at_us)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(AuditRecord { seq, id, entry: entry.clone(), created_at_us, prev_hash, hash })
}

const SELECT: &str = "SELECT seq, id, actor, action, target, request_id, before_json, after_json, created_at_us, prev_hash, hash FROM audit_log";

fn from_row(r: &AnyRow) -> Result<AuditRecord, StorageError> {
    Ok(AuditRecord {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        entry: AuditEntry {
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            target: r.try_get("target")?,
            request_id: r.try_get("request_id")?,
            before: r.try_get("before_json")?,
            after: r.try_get("after_json")?,
        },
        created_at_us: r.try_get("created_at_us")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Rows after `after_seq`, optionally filtered by actor and action, oldest first.
pub async fn list(
    db: &Db,
    actor: Option<&str>,
    action: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, StorageError> {
    let sql = format!(
        "{SELECT} WHERE seq > $1 AND (CAST($2 AS TEXT) IS NULL OR actor = $2) \
         AND (CAST($3 AS TEXT) IS NULL OR action = $3) ORDER BY seq LIMIT $4"
    );
    let rows = sqlx::query(&sql).bind(after_seq).bind(actor).bind(action).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

pub use super::chain::{Break as ChainBreak, Head as ChainHead};

/// Walks the whole chain in order, recomputing every hash.
pub async fn verify(db: &Db) -> Result<Result<ChainHead, ChainBreak>, StorageError> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    loop {
        let page = list(db, None, None, expected_seq - 1, 1_000).await?;
        if page.is_empty() {
            return Ok(Ok(ChainHead { rows: expected_seq - 1, head_hash: prev_hash }));
        }
        for r in page {
            if r.seq != expected_seq {
                return Ok(Err(ChainBreak { seq: expected_seq, reason: format!("row {expected_seq} is missing") }));
            }
            if r.prev_hash != prev_hash {
                return Ok(Err(ChainBreak {
                    seq: r.seq,
                    reason: "prev_hash does not match the previous row (a row before it was changed or removed)".into(),
                }));
            }
            let recomputed = chain_hash(r.seq, &r.id, &r.entry, r.created_at_us, &r.prev_hash);
            if recomputed != r.hash {
                return Ok(Err(ChainBreak {
                    seq: r.seq,
                    reason: "hash does not match the row's fields (the row was changed)".into(),
                }));
            }
            prev_hash = r.hash;
            expected_seq += 1;
        }
    }
}

/// Records created since `since_us`, for tests and exports.
pub async fn count(db: &Db) -> Result<i64, StorageError> {
    Ok(sqlx::query("SELECT COUNT(*) FROM audit_log").fetch_one(db.pool()).await?.try_get(0)?)
}
