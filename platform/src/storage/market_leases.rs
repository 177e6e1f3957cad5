//! SQL for market leases (`market_leases`): which API instance matches a paper market. A lease
//! is taken when free or lapsed and renewed by its holder; the matching engine checks it inside
//! each batch's transaction, after the ledger lock, so two instances never match one market.

use sqlx::AnyConnection;
use sqlx::Row as _;

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub market_id: String,
    pub owner: String,
    pub address: String,
    pub expires_at_us: i64,
}

/// Takes the lease when it is free, lapsed or already ours (renewing it), on the caller's
/// transaction; returns whether we hold it now.
pub async fn acquire_in(
    conn: &mut AnyConnection,
    market_id: &str,
    owner: &str,
    address: &str,
    now_us: i64,
    expires_at_us: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "INSERT INTO market_leases (market_id, owner, address, expires_at_us) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (market_id) DO UPDATE SET owner = excluded.owner, address = excluded.address, \
         expires_at_us = excluded.expires_at_us \
         WHERE market_leases.owner = excluded.owner OR market_leases.expires_at_us < $5",
    )
    .bind(market_id)
    .bind(owner)
    .bind(address)
    .bind(expires_at_us)
    .bind(now_us)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Extends every lease `owner` still holds; returns how many.
pub async fn renew_all(db: &Db, owner: &str, now_us: i64, expires_at_us: i64) -> Result<u64, StorageError> {
    let done = sqlx::query("UPDATE market_leases SET expires_at_us = $1 WHERE owner = $2 AND expires_at_us >= $3")
        .bind(expires_at_us)
        .bind(owner)
        .bind(now_us)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// Gives up every lease of `owner` (a clean shutdown), so others take over at once.
pub async fn release_all(db: &Db, owner: &str) -> Result<(), StorageError> {
    sqlx::query("UPDATE market_leases SET expires_at_us = 0 WHERE owner = $1").bind(owner).execute(db.pool()).await?;
    Ok(())
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Lease, StorageError> {
    Ok(Lease {
        market_id: r.try_get("market_id")?,
        owner: r.try_get("owner")?,
        address: r.try_get("address")?,
        expires_at_us: r.try_get("expires_at_us")?,
    })
}

pub async fn get(db: &Db, market_id: &str) -> Result<Option<Lease>, StorageError> {
    let row = sqlx::query("SELECT market_id, owner, address, expires_at_us FROM market_leases WHERE market_id = $1")
        .bind(market_id)
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The leases of these markets, on the caller's transaction.
pub async fn of_markets_in(conn: &mut AnyConnection, market_ids: &[&str]) -> Result<Vec<Lease>, StorageError> {
    if market_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT market_id, owner, address, expires_at_us FROM market_leases WHERE market_id IN ({})",
        super::in_placeholders(1, market_ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in market_ids {
        q = q.bind(*id);
    }
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}
