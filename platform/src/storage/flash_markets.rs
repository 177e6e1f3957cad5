//! SQL for `flash_markets` and `flash_positions`: the API writes a market's terms once, as
//! `pending`; the keepers fill in what the chain says. Lists page by id (creation order).

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Db, StorageError};

/// A flash market's row. Amounts are micro-units; times UTC epoch microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashMarketRow {
    pub id: String,
    /// The 32-byte on-chain id, hex.
    pub market_id: String,
    pub address: String,
    pub symbol: String,
    pub rule_kind: String,
    pub rule_params: Vec<u64>,
    pub outcome_count: i64,
    pub circuit_id: i64,
    pub ticks: i64,
    pub tick_interval_s: i64,
    pub oracle: Option<String>,
    pub created_at_us: i64,
    pub lock_at_us: i64,
    pub deadline_at_us: i64,
    pub status: String,
    pub commitment: Option<String>,
    pub winning_outcome: Option<i64>,
    pub totals: Vec<u64>,
    pub create_signature: Option<String>,
    pub lock_signature: Option<String>,
    pub resolve_signature: Option<String>,
    pub void_signature: Option<String>,
    pub slot: i64,
    pub created_by: String,
}

/// One wallet's stake on one outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionRow {
    pub wallet: String,
    pub outcome: i64,
    pub amount: i64,
    pub claimed: bool,
}

const COLUMNS: &str = "id, market_id, address, symbol, rule_kind, rule_params, outcome_count, circuit_id, ticks, \
     tick_interval_s, oracle, created_at_us, lock_at_us, deadline_at_us, status, commitment, winning_outcome, totals, \
     create_signature, lock_signature, resolve_signature, void_signature, slot, created_by";

/// Numbers kept as one comma-separated column: a market has at most nine of each.
fn join(values: &[u64]) -> String {
    values.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn split(column: &str, text: &str) -> Result<Vec<u64>, StorageError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|v| v.parse().map_err(|_| StorageError::Corrupt(format!("flash_markets.{column} holds {text:?}"))))
        .collect()
}

fn from_row(r: &AnyRow) -> Result<FlashMarketRow, StorageError> {
    Ok(FlashMarketRow {
        id: r.try_get(0)?,
        market_id: r.try_get(1)?,
        address: r.try_get(2)?,
        symbol: r.try_get(3)?,
        rule_kind: r.try_get(4)?,
        rule_params: split("rule_params", &r.try_get::<String, _>(5)?)?,
        outcome_count: r.try_get(6)?,
        circuit_id: r.try_get(7)?,
        ticks: r.try_get(8)?,
        tick_interval_s: r.try_get(9)?,
        oracle: r.try_get(10)?,
        created_at_us: r.try_get(11)?,
        lock_at_us: r.try_get(12)?,
        deadline_at_us: r.try_get(13)?,
        status: r.try_get(14)?,
        commitment: r.try_get(15)?,
        winning_outcome: r.try_get(16)?,
        totals: split("totals", &r.try_get::<String, _>(17)?)?,
        create_signature: r.try_get(18)?,
        lock_signature: r.try_get(19)?,
        resolve_signature: r.try_get(20)?,
        void_signature: r.try_get(21)?,
        slot: r.try_get(22)?,
        created_by: r.try_get(23)?,
    })
}

/// Records a new market's terms (in the caller's transaction, with its audit entry).
pub async fn insert_in(conn: &mut AnyConnection, m: &FlashMarketRow) -> Result<(), StorageError> {
    let sql = format!(
        "INSERT INTO flash_markets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    );
    sqlx::query(&sql)
        .bind(&m.id)
        .bind(&m.market_id)
        .bind(&m.address)
        .bind(&m.symbol)
        .bind(&m.rule_kind)
        .bind(join(&m.rule_params))
        .bind(m.outcome_count)
        .bind(m.circuit_id)
        .bind(m.ticks)
        .bind(m.tick_interval_s)
        .bind(m.oracle.as_deref())
        .bind(m.created_at_us)
        .bind(m.lock_at_us)
        .bind(m.deadline_at_us)
        .bind(&m.status)
        .bind(m.commitment.as_deref())
        .bind(m.winning_outcome)
        .bind(join(&m.totals))
        .bind(m.create_signature.as_deref())
        .bind(m.lock_signature.as_deref())
        .bind(m.resolve_signature.as_deref())
        .bind(m.void_signature.as_deref())
        .bind(m.slot)
        .bind(&m.created_by)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<FlashMarketRow>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM flash_markets WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?.as_ref().map(from_row).transpose()
}

/// Up to `limit` markets after the `after` id, optionally of one status, in id order.
pub async fn page(
    db: &Db,
    status: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<FlashMarketRow>, StorageError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM flash_markets WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) AND (CAST($2 AS TEXT) IS NULL OR id > $2) \
         ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(status).bind(after).bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(from_row).collect()
}

/// The market's positions, of one wallet when given, by wallet then outcome.
pub async fn positions(db: &Db, market: &str, wallet: Option<&str>) -> Result<Vec<PositionRow>, StorageError> {
    let rows = sqlx::query(
        "SELECT wallet, outcome, amount, claimed FROM flash_positions \
         WHERE market_id = $1 AND (CAST($2 AS TEXT) IS NULL OR wallet = $2) ORDER BY wallet, outcome",
    )
    .bind(market)
    .bind(wallet)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PositionRow {
                wallet: r.try_get(0)?,
                outcome: r.try_get(1)?,
                amount: r.try_get(2)?,
                claimed: r.try_get::<i64, _>(3)? != 0,
            })
        })
        .collect()
}

/// Markets of the given statuses, oldest first: what a keeper job works through.
pub async fn with_status(db: &Db, statuses: &[&str], limit: i64) -> Result<Vec<FlashMarketRow>, StorageError> {
    let mut out = Vec::new();
    for status in statuses {
        let sql = format!("SELECT {COLUMNS} FROM flash_markets WHERE status = $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql).bind(*status).bind(limit).fetch_all(db.pool()).await?;
        for r in &rows {
            out.push(from_row(r)?);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// The keeper's record of a market it created on chain (or found there): `pending` becomes
/// `open`, naming the oracle and the transaction when it is known. False when the market was
/// not pending (already recorded).
pub async fn record_created_in(
    conn: &mut AnyConnection,
    id: &str,
    oracle: &str,
    signature: Option<&str>,
    slot: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE flash_markets SET status = 'open', oracle = $1, create_signature = $2, slot = $3 \
         WHERE id = $4 AND status = 'pending'",
    )
    .bind(oracle)
    .bind(signature)
    .bind(slot)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A pending market whose betting closed before anyone created it on chain: it never opens
/// (the program refuses a lock time in the past), so it ends `voided` with no transaction.
pub async fn expire_pending_in(conn: &mut AnyConnection, id: &str) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE flash_markets SET status = 'voided' WHERE id = $1 AND status = 'pending'")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The keeper's record of its `VoidMarket` (or of finding the market voided). The signature
/// is kept even when chain-sync recorded the void first.
pub async fn record_voided_in(
    conn: &mut AnyConnection,
    id: &str,
    signature: Option<&str>,
    slot: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE flash_markets SET status = CASE WHEN status IN ('open', 'locked') THEN 'voided' ELSE status END, \
         void_signature = COALESCE($1, void_signature), slot = CASE WHEN slot > $2 THEN slot ELSE $2 END \
         WHERE id = $3 AND status IN ('open', 'locked', 'voided')",
    )
    .bind(signature)
    .bind(slot)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The market's commitment salt as sealed under the master key, once the oracle chose it.
pub async fn sealed_salt(db: &Db, id: &str) -> Result<Option<String>, StorageError> {
    let row =
        sqlx::query("SELECT salt_sealed FROM flash_markets WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => None,
    })
}

/// Stores the oracle's sealed salt, once: false when the market already has one (the caller
/// reads that one instead, so a lock after a restart commits to the same salt).
pub async fn record_salt_in(conn: &mut AnyConnection, id: &str, sealed: &str) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE flash_markets SET salt_sealed = $1 WHERE id = $2 AND salt_sealed IS NULL")
        .bind(sealed)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The keeper's record of its `LockMarket` (or of finding the market locked): `open` becomes
/// `locked` with the commitment. The signature is kept even when chain-sync moved the row on
/// first. False for an unknown market.
pub async fn record_locked_in(
    conn: &mut AnyConnection,
    id: &str,
    commitment: &str,
    signature: Option<&str>,
    slot: i64,
) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE flash_markets SET status = CASE WHEN status = 'open' THEN 'locked' ELSE status END, \
         commitment = COALESCE(commitment, $1), lock_signature = COALESCE($2, lock_signature), \
         slot = CASE WHEN slot > $3 THEN slot ELSE $3 END WHERE id = $4",
    )
    .bind(commitment)
    .bind(signature)
    .bind(slot)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The keeper's record of its `ResolveMarket`: the winner, and `resolved` (or `voided` when
/// nobody backed the winner and the program refunded everyone). The signature is kept even
/// when chain-sync recorded the outcome first.
pub async fn record_resolved_in(
    conn: &mut AnyConnection,
    id: &str,
    winning_outcome: i64,
    refunded: bool,
    signature: Option<&str>,
    slot: i64,
) -> Result<bool, StorageError> {
    let status = if refunded { "voided" } else { "resolved" };
    let done = sqlx::query(
        "UPDATE flash_markets SET status = CASE WHEN status IN ('open', 'locked') THEN $1 ELSE status END, \
         winning_outcome = CASE WHEN status IN ('open', 'locked') THEN $2 ELSE winning_outcome END, \
         resolve_signature = COALESCE($3, resolve_signature), \
         slot = CASE WHEN slot > $4 THEN slot ELSE $4 END WHERE id = $5",
    )
    .bind(status)
    .bind(winning_outcome)
    .bind(signature)
    .bind(slot)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What chain-sync read of a market's account at `slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainMarket {
    pub address: String,
    pub status: String,
    pub totals: Vec<u64>,
    pub winning_outcome: Option<i64>,
    pub commitment: Option<String>,
    pub oracle: String,
    pub slot: i64,
}

/// Applies the chain's view of a market, unless the row was last synced at a later slot (an
/// older read never moves a row back). False when nothing changed hands (unknown address or
/// an older slot).
pub async fn sync_market_in(conn: &mut AnyConnection, m: &ChainMarket) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE flash_markets SET status = $1, totals = $2, winning_outcome = $3, commitment = COALESCE($4, commitment), \
         oracle = COALESCE(oracle, $5), slot = $6 WHERE address = $7 AND slot <= $6",
    )
    .bind(&m.status)
    .bind(join(&m.totals))
    .bind(m.winning_outcome)
    .bind(m.commitment.as_deref())
    .bind(&m.oracle)
    .bind(m.slot)
    .bind(&m.address)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A position as chain-sync read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPosition {
    /// `flash_markets.id` of its market.
    pub market: String,
    pub wallet: String,
    pub outcome: i64,
    pub amount: i64,
    pub claimed: bool,
    pub address: String,
    pub slot: i64,
}

/// Inserts or updates a position, never from an older slot than the row's.
pub async fn sync_position_in(conn: &mut AnyConnection, p: &ChainPosition) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO flash_positions (market_id, wallet, outcome, amount, claimed, address, slot) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (market_id, wallet, outcome) DO UPDATE SET amount = excluded.amount, \
         claimed = excluded.claimed, slot = excluded.slot WHERE flash_positions.slot <= excluded.slot",
    )
    .bind(&p.market)
    .bind(&p.wallet)
    .bind(p.outcome)
    .bind(p.amount)
    .bind(i64::from(p.claimed))
    .bind(&p.address)
    .bind(p.slot)
    .execute(conn)
    .await?;
    Ok(())
}
