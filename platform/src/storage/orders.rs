//! SQL for orders and fills. The matching engine writes whole batches with [`save_in`] and
//! [`insert_fills_in`] (a few statements per batch, whatever its size); the API reads with the
//! rest. Rows are never deleted: a finished order keeps its final status.

use std::str::FromStr;

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::json_rows::{self, Column, JsonRows};
use super::{Db, Params, Script, StorageError};
use kairos_domain::{Collateral, Fill, Finality, Order, OrderStatus, Price, Size};

/// The SQL list of live statuses, `('pending', 'open', 'partially_filled')`, from
/// [`OrderStatus::is_live`]: the one place "live" is spelled for the queries. The partial
/// indexes of `migrations/20261204000007_live_order_indexes.sql` and
/// `20261206000001_lean_write_indexes.sql` repeat it (a database uses a partial index only for
/// a query whose WHERE says the same); a test keeps them equal.
static LIVE_STATUSES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let live: Vec<String> =
        OrderStatus::ALL.iter().filter(|s| s.is_live()).map(|s| format!("'{}'", s.as_str())).collect();
    format!("({})", live.join(", "))
});

const ORDER_COLUMNS: &str = "id, user_id, client_order_id, request_hash, market_id, outcome, side, order_type, \
    time_in_force, post_only, stp, price_micros, size_micros, filled_micros, reserved_micros, fees_micros, status, \
    reason, venue, venue_order_id, order_group_id, expires_at_us, priority, created_at_us, updated_at_us";
/// The types of [`ORDER_COLUMNS`], in order.
const ORDER_TYPES: [Column; 25] = {
    use Column::{BigInt as I, Text as T};
    [T, T, T, T, T, I, T, T, T, I, T, I, I, I, I, I, T, T, T, T, T, I, I, I, I]
};

const FILL_COLUMNS: &str = "id, trade_id, order_id, user_id, market_id, outcome, side, price_micros, size_micros, \
    fee_micros, liquidity, finality, created_at_us";
/// The types of [`FILL_COLUMNS`], in order.
const FILL_TYPES: [Column; 13] = {
    use Column::{BigInt as I, Text as T};
    [T, T, T, T, T, I, T, I, I, I, T, T, I]
};

fn parse<T: FromStr<Err = String>>(row: &AnyRow, column: &str) -> Result<T, StorageError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: String| StorageError::Corrupt(format!("{column}: {e}")))
}

fn outcome(row: &AnyRow) -> Result<u32, StorageError> {
    u32::try_from(row.try_get::<i64, _>("outcome")?).map_err(|_| StorageError::Corrupt("outcome out of range".into()))
}

fn order_from_row(row: &AnyRow) -> Result<Order, StorageError> {
    Ok(Order {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        client_order_id: row.try_get("client_order_id")?,
        request_hash: row.try_get("request_hash")?,
        market_id: row.try_get("market_id")?,
        outcome: outcome(row)?,
        side: parse(row, "side")?,
        order_type: parse(row, "order_type")?,
        time_in_force: parse(row, "time_in_force")?,
        post_only: row.try_get::<i64, _>("post_only")? != 0,
        stp: parse(row, "stp")?,
        price: Price::from_micros(row.try_get("price_micros")?),
        size: Size::from_micros(row.try_get("size_micros")?),
        filled: Size::from_micros(row.try_get("filled_micros")?),
        reserved_micros: row.try_get("reserved_micros")?,
        fees: Collateral::from_micros(row.try_get("fees_micros")?),
        status: parse(row, "status")?,
        reason: row.try_get("reason")?,
        venue: parse(row, "venue")?,
        venue_order_id: row.try_get("venue_order_id")?,
        order_group_id: row.try_get("order_group_id")?,
        expires_at_us: row.try_get("expires_at_us")?,
        priority: row.try_get("priority")?,
        created_at_us: row.try_get("created_at_us")?,
        updated_at_us: row.try_get("updated_at_us")?,
    })
}

fn fill_from_row(row: &AnyRow) -> Result<Fill, StorageError> {
    Ok(Fill {
        id: row.try_get("id")?,
        trade_id: row.try_get("trade_id")?,
        order_id: row.try_get("order_id")?,
        user_id: row.try_get("user_id")?,
        market_id: row.try_get("market_id")?,
        outcome: outcome(row)?,
        side: parse(row, "side")?,
        price: Price::from_micros(row.try_get("price_micros")?),
        size: Size::from_micros(row.try_get("size_micros")?),
        fee: Collateral::from_micros(row.try_get("fee_micros")?),
        liquidity: parse(row, "liquidity")?,
        finality: parse(row, "finality")?,
        created_at_us: row.try_get("created_at_us")?,
    })
}

/// Inserts new orders and updates changed ones, in one statement, so each order at most once
/// (PostgreSQL refuses a statement that updates a row twice). A new order whose
/// (user, client order id) is taken fails the statement: the caller checks first with
/// [`by_client_ids_in`] in the same transaction, so this is only the last line of defence.
pub async fn save_in(conn: &mut AnyConnection, orders: &[&Order]) -> Result<(), StorageError> {
    let mut script = Script::new(conn);
    save_to(&mut script, orders);
    script.run(conn).await
}

/// [`save_in`] as statements of a script the caller runs with the rest of its writes.
pub fn save_to(script: &mut Script<'_>, orders: &[&Order]) {
    if orders.is_empty() {
        return;
    }
    let mut rows = JsonRows::new();
    for o in orders {
        rows.row()
            .text(&o.id)
            .text(&o.user_id)
            .text(&o.client_order_id)
            .text(&o.request_hash)
            .text(&o.market_id)
            .int(i64::from(o.outcome))
            .text(o.side.as_str())
            .text(o.order_type.as_str())
            .text(o.time_in_force.as_str())
            .int(i64::from(o.post_only))
            .text(o.stp.as_str())
            .int(o.price.micros())
            .int(o.size.micros())
            .int(o.filled.micros())
            .int(o.reserved_micros)
            .int(o.fees.micros())
            .text(o.status.as_str())
            .opt_text(o.reason.as_deref())
            .text(o.venue.as_str())
            .opt_text(o.venue_order_id.as_deref())
            .opt_text(o.order_group_id.as_deref())
            .opt_int(o.expires_at_us)
            .int(o.priority)
            .int(o.created_at_us)
            .int(o.updated_at_us);
    }
    let sql = format!(
        "INSERT INTO orders ({ORDER_COLUMNS}) {} WHERE true ON CONFLICT (id) DO UPDATE SET \
         price_micros = excluded.price_micros, size_micros = excluded.size_micros, \
         filled_micros = excluded.filled_micros, reserved_micros = excluded.reserved_micros, \
         fees_micros = excluded.fees_micros, status = excluded.status, reason = excluded.reason, \
         venue_order_id = excluded.venue_order_id, priority = excluded.priority, \
         updated_at_us = excluded.updated_at_us",
        json_rows::select(script, &ORDER_TYPES)
    );
    script.statement(&sql).bind(rows.finish());
}

pub async fn insert_fills_in(conn: &mut AnyConnection, fills: &[Fill]) -> Result<(), StorageError> {
    let mut script = Script::new(conn);
    insert_fills_to(&mut script, fills);
    script.run(conn).await
}

/// [`insert_fills_in`] as statements of a script the caller runs with the rest of its writes.
pub fn insert_fills_to(script: &mut Script<'_>, fills: &[Fill]) {
    if fills.is_empty() {
        return;
    }
    let mut rows = JsonRows::new();
    for f in fills {
        rows.row()
            .text(&f.id)
            .text(&f.trade_id)
            .text(&f.order_id)
            .text(&f.user_id)
            .text(&f.market_id)
            .int(i64::from(f.outcome))
            .text(f.side.as_str())
            .int(f.price.micros())
            .int(f.size.micros())
            .int(f.fee.micros())
            .text(f.liquidity.as_str())
            .text(f.finality.as_str())
            .int(f.created_at_us);
    }
    let sql = format!("INSERT INTO fills ({FILL_COLUMNS}) {}", json_rows::select(script, &FILL_TYPES));
    script.statement(&sql).bind(rows.finish());
}

/// The orders with these (user, client order id) pairs: the idempotency check of a whole
/// batch in one statement per 256 pairs.
pub async fn by_client_ids_in(conn: &mut AnyConnection, pairs: &[(&str, &str)]) -> Result<Vec<Order>, StorageError> {
    let mut out = Vec::new();
    for list in super::in_lists(pairs) {
        // One equality per pair on the unique (user_id, client_order_id) key: both databases
        // turn the ORs into one probe of that index each (PostgreSQL a BitmapOr, SQLite a
        // MULTI-INDEX OR). A row-value IN list on the two columns made PostgreSQL walk every
        // index entry of the users instead.
        let mut params = Params::of(conn);
        let terms: Vec<String> = (0..list.len())
            .map(|_| format!("(user_id = {} AND client_order_id = {})", params.next(), params.next()))
            .collect();
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE {}", terms.join(" OR "));
        let mut q = sqlx::query(&sql);
        for (user_id, client_order_id) in &list {
            q = q.bind(*user_id).bind(*client_order_id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(order_from_row(&row)?);
        }
    }
    Ok(out)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Order>, StorageError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    sqlx::query(&sql).bind(id).fetch_optional(db.pool()).await?.as_ref().map(order_from_row).transpose()
}

pub async fn by_client_id(db: &Db, user_id: &str, client_order_id: &str) -> Result<Option<Order>, StorageError> {
    let mut conn = db.pool().acquire().await?;
    Ok(by_client_ids_in(&mut conn, &[(user_id, client_order_id)]).await?.pop())
}

/// Filters of an order listing; ids are canonical UUIDs.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub market_id: Option<String>,
    pub status: Option<OrderStatus>,
    /// Only live orders (pending, open, partially filled).
    pub live_only: bool,
}

/// A user's orders, newest first, with ids below `before` (the cursor).
pub async fn list(
    db: &Db,
    user_id: &str,
    filter: &OrderFilter,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Order>, StorageError> {
    let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1");
    let mut binds: Vec<String> = vec![user_id.to_string()];
    let mut add = |clause: &str, value: String, sql: &mut String| {
        binds.push(value);
        sql.push_str(&format!(" AND {clause} ${}", binds.len()));
    };
    if let Some(m) = &filter.market_id {
        add("market_id =", m.clone(), &mut sql);
    }
    if let Some(s) = filter.status {
        add("status =", s.as_str().to_string(), &mut sql);
    }
    if let Some(b) = before {
        add("id <", b.to_string(), &mut sql);
    }
    if filter.live_only {
        sql.push_str(&format!(" AND status IN {}", *LIVE_STATUSES));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    q.bind(limit.max(0)).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

/// Every live order on the given venue, in book priority order: what the books are rebuilt from.
pub async fn live_on_venue(db: &Db, venue: &str) -> Result<Vec<Order>, StorageError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE status IN {} AND venue = $1 ORDER BY priority",
        *LIVE_STATUSES
    );
    sqlx::query(&sql).bind(venue).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

/// The live orders of one market, in book priority order, on the caller's transaction: what an
/// instance loads when it takes the market's lease.
pub async fn live_in_market_in(conn: &mut AnyConnection, market_id: &str) -> Result<Vec<Order>, StorageError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE market_id = $1 AND status IN {} ORDER BY priority",
        *LIVE_STATUSES
    );
    sqlx::query(&sql).bind(market_id).fetch_all(conn).await?.iter().map(order_from_row).collect()
}

/// Markets with live orders on a venue (an instance starting up tries to take their leases).
pub async fn markets_with_live_orders(db: &Db, venue: &str) -> Result<Vec<String>, StorageError> {
    let sql = format!("SELECT DISTINCT market_id FROM orders WHERE status IN {} AND venue = $1", *LIVE_STATUSES);
    let rows = sqlx::query(&sql).bind(venue).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The markets where a user has live orders (cancel-all asks their owners).
pub async fn markets_of_live_orders(db: &Db, user_id: &str) -> Result<Vec<String>, StorageError> {
    let sql = format!("SELECT DISTINCT market_id FROM orders WHERE user_id = $1 AND status IN {}", *LIVE_STATUSES);
    let rows = sqlx::query(&sql).bind(user_id).fetch_all(db.pool()).await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The highest priority ever given (0 when none): new orders continue after it.
pub async fn max_priority(db: &Db) -> Result<i64, StorageError> {
    Ok(sqlx::query("SELECT COALESCE(MAX(priority), 0) FROM orders").fetch_one(db.pool()).await?.try_get(0)?)
}

/// A user's fills, newest first, with ids below `before`.
pub async fn fills(
    db: &Db,
    user_id: &str,
    market_id: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Fill>, StorageError> {
    let mut sql = format!("SELECT {FILL_COLUMNS} FROM fills WHERE user_id = $1");
    let mut binds = vec![user_id];
    if let Some(m) = market_id {
        binds.push(m);
        sql.push_str(&format!(" AND market_id = ${}", binds.len()));
    }
    if let Some(b) = before {
        binds.push(b);
        sql.push_str(&format!(" AND id < ${}", binds.len()));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", binds.len() + 1));
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    q.bind(limit.max(0)).fetch_all(db.pool()).await?.iter().map(fill_from_row).collect()
}

/// A venue's orders by the ids it gave them (for Polymarket, the order hash), on the caller's
/// transaction: how a venue's reports find the orders they are about.
pub async fn by_venue_order_ids_in(
    conn: &mut AnyConnection,
    venue: &str,
    venue_order_ids: &[&str],
) -> Result<Vec<Order>, StorageError> {
    let mut out = Vec::new();
    for list in super::in_lists(venue_order_ids) {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE venue = $1 AND venue_order_id IN ({})",
            super::in_placeholders(2, list.len())
        );
        let mut q = sqlx::query(&sql).bind(venue);
        for id in &list {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(order_from_row(&row)?);
        }
    }
    Ok(out)
}

/// The fills of these orders, oldest first, on the caller's transaction.
pub async fn fills_of_orders_in(conn: &mut AnyConnection, order_ids: &[&str]) -> Result<Vec<Fill>, StorageError> {
    let mut out = Vec::new();
    for list in super::in_lists(order_ids) {
        let sql = format!(
            "SELECT {FILL_COLUMNS} FROM fills WHERE order_id IN ({}) ORDER BY id",
            super::in_placeholders(1, list.len())
        );
        let mut q = sqlx::query(&sql);
        for id in &list {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            out.push(fill_from_row(&row)?);
        }
    }
    Ok(out)
}

/// Moves a fill from one finality to the next; `false` when it was not at `from` any more
/// (another writer got there first, and this change must not be applied twice).
pub async fn advance_fill_in(
    conn: &mut AnyConnection,
    fill_id: &str,
    from: Finality,
    to: Finality,
) -> Result<bool, StorageError> {
    let done = sqlx::query("UPDATE fills SET finality = $1 WHERE id = $2 AND finality = $3")
        .bind(to.as_str())
        .bind(fill_id)
        .bind(from.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A venue's orders that may still change: live ones, and finished ones with a fill not yet
/// final (a trade matched on the venue settles or fails later).
pub async fn unsettled_on_venue(db: &Db, venue: &str) -> Result<Vec<Order>, StorageError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE venue = $1 AND (status IN {} \
         OR id IN (SELECT order_id FROM fills WHERE finality = 'matched' AND market_id IN \
         (SELECT id FROM markets WHERE venue = $1))) ORDER BY priority",
        *LIVE_STATUSES
    );
    sqlx::query(&sql).bind(venue).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

/// A user's live orders on `venue` and what their open buys in `market_id` hold, on the
/// caller's transaction: the account state the limits of `kairos_domain::risk::check_account` read.
/// (PostgreSQL sums BIGINT into NUMERIC: cast back.)
pub async fn account_state_in(
    conn: &mut AnyConnection,
    user_id: &str,
    venue: &str,
    market_id: &str,
) -> Result<(i64, i64), StorageError> {
    let sql = format!(
        "SELECT COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN side = 'buy' AND market_id = $3 THEN reserved_micros ELSE 0 END), 0) AS BIGINT) \
         FROM orders WHERE user_id = $1 AND venue = $2 AND status IN {}",
        *LIVE_STATUSES
    );
    let row = sqlx::query(&sql).bind(user_id).bind(venue).bind(market_id).fetch_one(conn).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Every order of a venue, for the replay's comparison.
pub async fn of_venue(db: &Db, venue: &str) -> Result<Vec<Order>, StorageError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE venue = $1 ORDER BY id");
    sqlx::query(&sql).bind(venue).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

/// Every fill of a venue's orders, for the replay's comparison.
pub async fn fills_of_venue(db: &Db, venue: &str) -> Result<Vec<Fill>, StorageError> {
    let columns = FILL_COLUMNS.split(", ").map(|c| format!("f.{c}")).collect::<Vec<_>>().join(", ");
    let sql =
        format!("SELECT {columns} FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.venue = $1 ORDER BY f.id");
    sqlx::query(&sql).bind(venue).fetch_all(db.pool()).await?.iter().map(fill_from_row).collect()
}

/// A venue's live orders whose group may not trade at `now_us`: frozen or deleted.
pub async fn live_in_barred_groups(db: &Db, venue: &str, now_us: i64) -> Result<Vec<Order>, StorageError> {
    let columns = ORDER_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT {columns} FROM orders o JOIN order_groups g ON g.id = o.order_group_id \
         WHERE o.venue = $1 AND o.status IN {} AND (g.deleted_at_us IS NOT NULL OR g.frozen_until_us > $2) \
         ORDER BY o.priority",
        *LIVE_STATUSES
    );
    sqlx::query(&sql).bind(venue).bind(now_us).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

/// An order group's live orders on one venue.
pub async fn live_in_group(db: &Db, venue: &str, group_id: &str) -> Result<Vec<Order>, StorageError> {
    let sql = format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE order_group_id = $1 AND venue = $2 AND status IN {} ORDER BY priority",
        *LIVE_STATUSES
    );
    sqlx::query(&sql).bind(group_id).bind(venue).fetch_all(db.pool()).await?.iter().map(order_from_row).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn live_statuses_are_those_the_domain_calls_live() {
        assert_eq!(*super::LIVE_STATUSES, "('pending', 'open', 'partially_filled')");
    }

    #[test]
    fn the_live_order_indexes_cover_exactly_the_live_statuses() {
        let migrations = [
            include_str!("../../../migrations/20261204000007_live_order_indexes.sql"),
            include_str!("../../../migrations/20261206000001_lean_write_indexes.sql"),
        ];
        let indexes: Vec<&str> = migrations
            .iter()
            .flat_map(|m| m.lines())
            .filter(|l| l.starts_with("CREATE INDEX") && l.contains("status"))
            .collect();
        assert_eq!(indexes.len(), 3);
        for index in indexes {
            assert!(index.ends_with(&format!("WHERE status IN {};", *super::LIVE_STATUSES)), "{index}");
        }
    }
}
