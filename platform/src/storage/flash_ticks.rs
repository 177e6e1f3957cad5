//! SQL for `flash_ticks`: the flash oracle's observations, one row per market and index,
//! written once (a restart continues the same chain of ticks; a second write of an index is
//! ignored, never an overwrite). Possibly licensed data: operators only.

use sqlx::AnyConnection;
use sqlx::Row as _;

use super::{Db, StorageError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickRow {
    pub idx: i64,
    /// Micro-units of the quote currency.
    pub price: i64,
    pub source: String,
    pub received_at_us: i64,
}

/// Records tick `t.idx` of `market` unless that index is already stored: false then.
pub async fn insert_in(conn: &mut AnyConnection, market: &str, t: &TickRow) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "INSERT INTO flash_ticks (market_id, idx, price, source, received_at_us) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (market_id, idx) DO NOTHING",
    )
    .bind(market)
    .bind(t.idx)
    .bind(t.price)
    .bind(&t.source)
    .bind(t.received_at_us)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The market's ticks in index order.
pub async fn of(db: &Db, market: &str) -> Result<Vec<TickRow>, StorageError> {
    let rows =
        sqlx::query("SELECT idx, price, source, received_at_us FROM flash_ticks WHERE market_id = $1 ORDER BY idx")
            .bind(market)
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(TickRow {
                idx: r.try_get(0)?,
                price: r.try_get(1)?,
                source: r.try_get(2)?,
                received_at_us: r.try_get(3)?,
            })
        })
        .collect()
}
