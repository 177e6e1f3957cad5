//! SQL for order groups (market-maker protection). The API creates a group; the paper venue's
//! sequencer loads it with the fills that still count and writes its state changes (trip,
//! reset, deletion) in its batch's transaction; the Polymarket venue does the same on the fills
//! it learns of.

use sqlx::AnyConnection;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Db, Script, StorageError, in_lists, in_placeholders, placeholders};
use kairos_domain::order_group::{GroupFill, GroupLimits, GroupWindow, OrderGroup};
use kairos_domain::{Collateral, Price, Side, Size};

const COLUMNS: &str = "id, user_id, created_by, interval_ms, max_filled_size_micros, max_filled_notional_micros, \
    max_delta_micros, freeze_ms, frozen_until_us, window_start_us, trips, deleted_at_us, created_at_us, updated_at_us";

fn from_row(row: &AnyRow) -> Result<OrderGroup, StorageError> {
    Ok(OrderGroup {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        created_by: row.try_get("created_by")?,
        limits: GroupLimits {
            interval_ms: row.try_get("interval_ms")?,
            max_filled_size: Size::from_micros(row.try_get("max_filled_size_micros")?),
            max_filled_notional: Collateral::from_micros(row.try_get("max_filled_notional_micros")?),
            max_delta: row.try_get::<Option<i64>, _>("max_delta_micros")?.map(Size::from_micros),
        },
        freeze_ms: row.try_get("freeze_ms")?,
        frozen_until_us: row.try_get("frozen_until_us")?,
        window_start_us: row.try_get("window_start_us")?,
        trips: row.try_get("trips")?,
        deleted_at_us: row.try_get("deleted_at_us")?,
        created_at_us: row.try_get("created_at_us")?,
        updated_at_us: row.try_get("updated_at_us")?,
    })
}

pub async fn insert(db: &Db, g: &OrderGroup) -> Result<(), StorageError> {
    let sql = format!("INSERT INTO order_groups ({COLUMNS}) VALUES {}", placeholders(1, 14));
    sqlx::query(&sql)
        .bind(&g.id)
        .bind(&g.user_id)
        .bind(&g.created_by)
        .bind(g.limits.interval_ms)
        .bind(g.limits.max_filled_size.micros())
        .bind(g.limits.max_filled_notional.micros())
        .bind(g.limits.max_delta.map(Size::micros))
        .bind(g.freeze_ms)
        .bind(g.frozen_until_us)
        .bind(g.window_start_us)
        .bind(g.trips)
        .bind(g.deleted_at_us)
        .bind(g.created_at_us)
        .bind(g.updated_at_us)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A user's groups that are not deleted, oldest first.
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<OrderGroup>, StorageError> {
    let sql = format!("SELECT {COLUMNS} FROM order_groups WHERE user_id = $1 AND deleted_at_us IS NULL ORDER BY id");
    sqlx::query(&sql).bind(user_id).fetch_all(db.pool()).await?.iter().map(from_row).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<OrderGroup>, StorageError> {
    let mut conn = db.pool().acquire().await?;
    Ok(select_in(&mut conn, &[id.to_string()]).await?.pop())
}

/// The groups named, each with the window of its fills that still count at `now_us`, on the
/// caller's connection.
pub async fn load_in(
    conn: &mut AnyConnection,
    ids: &[String],
    now_us: i64,
) -> Result<Vec<(OrderGroup, GroupWindow)>, StorageError> {
    let groups = select_in(conn, ids).await?;
    with_windows_in(conn, groups, now_us).await
}

/// The groups named, by id.
async fn select_in(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<OrderGroup>, StorageError> {
    let mut groups = Vec::new();
    for list in in_lists(ids) {
        let sql = format!("SELECT {COLUMNS} FROM order_groups WHERE id IN ({})", in_placeholders(1, list.len()));
        let mut q = sqlx::query(&sql);
        for id in &list {
            q = q.bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            groups.push(from_row(&row)?);
        }
    }
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    groups.dedup_by(|a, b| a.id == b.id);
    Ok(groups)
}

/// Each group with the window of its fills that still count at `now_us`.
pub async fn with_windows_in(
    conn: &mut AnyConnection,
    groups: Vec<OrderGroup>,
    now_us: i64,
) -> Result<Vec<(OrderGroup, GroupWindow)>, StorageError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let since = groups.iter().map(|g| g.counts_from(now_us)).min().unwrap_or(now_us);
    let live: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let mut fills: Vec<(String, GroupFill)> = Vec::new();
    for list in in_lists(&live) {
        let sql = format!(
            "SELECT o.order_group_id, f.created_at_us, f.side, f.price_micros, f.size_micros \
             FROM fills f JOIN orders o ON o.id = f.order_id \
             WHERE o.order_group_id IN ({}) AND f.created_at_us >= ${} AND f.finality <> 'failed'",
            in_placeholders(1, list.len()),
            list.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for id in &list {
            q = q.bind(id);
        }
        for row in q.bind(since).fetch_all(&mut *conn).await? {
            let side: String = row.try_get(2)?;
            let side: Side = side.parse().map_err(|e: String| StorageError::Corrupt(format!("fill side: {e}")))?;
            let fill = GroupFill::new(
                row.try_get(1)?,
                side,
                Price::from_micros(row.try_get(3)?),
                Size::from_micros(row.try_get(4)?),
            );
            fills.push((row.try_get(0)?, fill));
        }
    }
    fills.sort_by_key(|(_, f)| f.at_us);
    Ok(groups
        .into_iter()
        .map(|g| {
            let mut window = GroupWindow::default();
            for (_, f) in fills.iter().filter(|(id, f)| *id == g.id && g.counts(f.at_us, now_us)) {
                window.add(*f);
            }
            (g, window)
        })
        .collect())
}

/// Writes the state of groups the caller changed (trip, reset, deletion).
pub async fn save_state_in(conn: &mut AnyConnection, groups: &[&OrderGroup]) -> Result<(), StorageError> {
    let mut script = Script::new(conn);
    save_state_to(&mut script, groups);
    script.run(conn).await
}

/// [`save_state_in`] as statements of a script the caller runs with the rest of its writes.
pub fn save_state_to(script: &mut Script<'_>, groups: &[&OrderGroup]) {
    for g in groups {
        let mut p = script.params();
        let sql = format!(
            "UPDATE order_groups SET frozen_until_us = {}, window_start_us = {}, trips = {}, deleted_at_us = {}, \
             updated_at_us = {} WHERE id = {}",
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next()
        );
        script
            .statement(&sql)
            .bind(g.frozen_until_us)
            .bind(g.window_start_us)
            .bind(g.trips)
            .bind(g.deleted_at_us)
            .bind(g.updated_at_us)
            .bind(g.id.clone());
    }
}
