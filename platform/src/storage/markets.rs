//! SQL for `markets` and `outcomes`.

use std::collections::HashMap;

use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row as _, Transaction};

use super::{Db, StorageError, parse_column};
use kairos_domain::{Market, MarketProtocol, NewMarket, Outcome, Price, Size, new_id, now_us};

const MARKET_COLUMNS: &str = "id, venue, external_id, slug, question, description, status, \
     tick_size_micros, min_size_micros, end_time_us, venue_protocol, resolved_outcome, is_sample, created_at_us, \
     updated_at_us";

/// What an import did with one market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Inserts a market with its outcomes, or, when the venue already has a market with the same
/// external id, updates it in place (so importing the same file twice changes nothing).
/// Returns the stored market.
pub async fn upsert(db: &Db, new: &NewMarket) -> Result<(Market, Upserted), StorageError> {
    new.validate().map_err(|e| StorageError::Invalid(e.to_string()))?;
    let mut tx = db.pool().begin().await?;
    let existing: Option<String> = match &new.external_id {
        Some(ext) => sqlx::query("SELECT id FROM markets WHERE venue = $1 AND external_id = $2")
            .bind(new.venue.as_str())
            .bind(ext.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?,
        None => None,
    };
    let now = now_us();
    let (id, upserted) = match existing {
        Some(id) => {
            update(&mut tx, &id, new, now).await?;
            (id, Upserted::Updated)
        }
        None => {
            let id = new_id();
            insert(&mut tx, &id, new, now).await?;
            (id, Upserted::Created)
        }
    };
    tx.commit().await?;
    let market = get(db, &id).await?.ok_or_else(|| StorageError::Corrupt(format!("market {id} vanished")))?;
    Ok((market, upserted))
}

async fn insert(tx: &mut Transaction<'_, Any>, id: &str, m: &NewMarket, now: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO markets (id, venue, external_id, slug, question, description, status, \
         tick_size_micros, min_size_micros, end_time_us, venue_protocol, resolved_outcome, is_sample, created_at_us, \
         updated_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $13)",
    )
    .bind(id)
    .bind(m.venue.as_str())
    .bind(m.external_id.as_deref())
    .bind(m.slug.as_str())
    .bind(m.question.as_str())
    .bind(m.description.as_str())
    .bind(m.status.as_str())
    .bind(m.tick_size.micros())
    .bind(m.min_size.micros())
    .bind(m.end_time_us)
    .bind(m.protocol.map(MarketProtocol::as_str))
    .bind(i64::from(m.is_sample))
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_or(e, "a market with this venue and external id exists"))?;
    for o in &m.outcomes {
        sqlx::query("INSERT INTO outcomes (market_id, idx, label, external_id) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(i64::from(o.index))
            .bind(o.label.as_str())
            .bind(o.external_id.as_deref())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn update(tx: &mut Transaction<'_, Any>, id: &str, m: &NewMarket, now: i64) -> Result<(), StorageError> {
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM outcomes WHERE market_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    if usize::try_from(count).ok() != Some(m.outcomes.len()) {
        return Err(StorageError::Conflict(format!(
            "market {:?} has {count} outcomes stored and {} in the import; outcomes cannot change",
            m.slug,
            m.outcomes.len()
        )));
    }
    sqlx::query(
        "UPDATE markets SET slug = $2, question = $3, description = $4, status = $5, tick_size_micros = $6, \
         min_size_micros = $7, end_time_us = $8, venue_protocol = $9, updated_at_us = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(m.slug.as_str())
    .bind(m.question.as_str())
    .bind(m.description.as_str())
    .bind(m.status.as_str())
    .bind(m.tick_size.micros())
    .bind(m.min_size.micros())
    .bind(m.end_time_us)
    .bind(m.protocol.map(MarketProtocol::as_str))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    for o in &m.outcomes {
        sqlx::query("UPDATE outcomes SET label = $3, external_id = $4 WHERE market_id = $1 AND idx = $2")
            .bind(id)
            .bind(i64::from(o.index))
            .bind(o.label.as_str())
            .bind(o.external_id.as_deref())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One market with its outcomes.
pub async fn get(db: &Db, id: &str) -> Result<Option<Market>, StorageError> {
    get_in(&mut *db.pool().acquire().await?, id).await
}

async fn get_in(conn: &mut AnyConnection, id: &str) -> Result<Option<Market>, StorageError> {
    let sql = format!("SELECT {MARKET_COLUMNS} FROM markets WHERE id = $1");
    let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let mut market = market_from_row(&row)?;
    let rows = sqlx::query("SELECT market_id, idx, label, external_id FROM outcomes WHERE market_id = $1 ORDER BY idx")
        .bind(id)
        .fetch_all(conn)
        .await?;
    for r in &rows {
        market.outcomes.push(outcome_from_row(r)?.1);
    }
    Ok(Some(market))
}

/// Every market with its outcomes, in id (creation) order. The API's market catalog is built
/// from this; two statements, however many markets.
pub async fn all(db: &Db) -> Result<Vec<Market>, StorageError> {
    let sql = format!("SELECT {MARKET_COLUMNS} FROM markets ORDER BY id");
    let rows = sqlx::query(&sql).fetch_all(db.pool()).await?;
    let mut markets = rows.iter().map(market_from_row).collect::<Result<Vec<_>, _>>()?;
    let index: HashMap<String, usize> = markets.iter().enumerate().map(|(i, m)| (m.id.clone(), i)).collect();
    let rows = sqlx::query("SELECT market_id, idx, label, external_id FROM outcomes ORDER BY market_id, idx")
        .fetch_all(db.pool())
        .await?;
    for r in &rows {
        let (market_id, outcome) = outcome_from_row(r)?;
        // An outcome inserted after the markets were read belongs to a market this read
        // does not have; the next read picks both up.
        if let Some(&i) = index.get(&market_id) {
            markets[i].outcomes.push(outcome);
        }
    }
    markets.retain(|m| !m.outcomes.is_empty());
    Ok(markets)
}

/// (number of markets, latest `updated_at_us`): changes whenever a market is added or changed,
/// so a cache can tell cheaply whether to reload.
pub async fn fingerprint(db: &Db) -> Result<(i64, i64), StorageError> {
    let row = sqlx::query("SELECT COUNT(*), COALESCE(MAX(updated_at_us), 0) FROM markets").fetch_one(db.pool()).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

fn market_from_row(r: &AnyRow) -> Result<Market, StorageError> {
    let resolved: Option<i64> = r.try_get("resolved_outcome")?;
    Ok(Market {
        id: r.try_get("id")?,
        venue: parse_column(&r.try_get::<String, _>("venue")?, "markets.venue")?,
        external_id: r.try_get("external_id")?,
        slug: r.try_get("slug")?,
        question: r.try_get("question")?,
        description: r.try_get("description")?,
        status: parse_column(&r.try_get::<String, _>("status")?, "markets.status")?,
        tick_size: Price::from_micros(r.try_get("tick_size_micros")?),
        min_size: Size::from_micros(r.try_get("min_size_micros")?),
        end_time_us: r.try_get("end_time_us")?,
        protocol: r
            .try_get::<Option<String>, _>("venue_protocol")?
            .map(|p| parse_column(&p, "markets.venue_protocol"))
            .transpose()?,
        resolved_outcome: resolved
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StorageError::Corrupt("markets.resolved_outcome out of range".to_string()))?,
        is_sample: r.try_get::<i64, _>("is_sample")? != 0,
        outcomes: Vec::new(),
        created_at_us: r.try_get("created_at_us")?,
        updated_at_us: r.try_get("updated_at_us")?,
    })
}

fn outcome_from_row(r: &AnyRow) -> Result<(String, Outcome), StorageError> {
    let idx: i64 = r.try_get("idx")?;
    let index = u32::try_from(idx).map_err(|_| StorageError::Corrupt("outcomes.idx out of range".to_string()))?;
    Ok((r.try_get("market_id")?, Outcome { index, label: r.try_get("label")?, external_id: r.try_get("external_id")? }))
}

fn conflict_or(e: sqlx::Error, message: &str) -> StorageError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict(message.to_string()),
        _ => StorageError::Query(e),
    }
}

/// Markets count, for seeding an empty database.
pub async fn count(db: &Db) -> Result<i64, StorageError> {
    Ok(fingerprint(db).await?.0)
}

/// Moves a market from status `from` to `to` (suspend, resume) on the caller's connection;
/// returns the market before and after, or `None` when it is missing or no longer in `from`
/// (the update is conditional, so a concurrent change is never overwritten).
pub async fn set_status_in(
    conn: &mut AnyConnection,
    id: &str,
    from: kairos_domain::MarketStatus,
    to: kairos_domain::MarketStatus,
) -> Result<Option<(Market, Market)>, StorageError> {
    let Some(before) = get_in(&mut *conn, id).await? else { return Ok(None) };
    let done = sqlx::query("UPDATE markets SET status = $3, updated_at_us = $4 WHERE id = $1 AND status = $2")
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now_us())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    let after = get_in(conn, id).await?.ok_or_else(|| StorageError::Corrupt(format!("market {id} vanished")))?;
    Ok(Some((before, after)))
}

/// Marks a market resolved with its winning outcome, on the caller's transaction; false when
/// it is missing or already resolved.
pub async fn resolve_in(conn: &mut AnyConnection, id: &str, winning_outcome: u32) -> Result<bool, StorageError> {
    let done = sqlx::query(
        "UPDATE markets SET status = 'resolved', resolved_outcome = $2, updated_at_us = $3 WHERE id = $1 AND status <> 'resolved'",
    )
    .bind(id)
    .bind(i64::from(winning_outcome))
    .bind(now_us())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
