//! Whether the paper venue's orders and the ledger tell the same story: every collateral and
//! share reservation in the ledger is held by live orders, to the micro-unit, and the books
//! that the live orders make (what a restart rebuilds). `kairos-api orders verify` prints it
//! and the crash test compares it with the books a restarted server serves.

use std::collections::BTreeMap;

use kairos_domain::money::MICROS_PER_UNIT;
use kairos_domain::order::share_asset;
use kairos_domain::{Price, Side, Size, Venue};
use kairos_platform::storage::ledger::COLLATERAL;
use kairos_platform::storage::{Db, StorageError, ledger, markets, orders};
use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct ConsistencyReport {
    pub live_orders: usize,
    /// Book levels per market and book (`"<market>/<book>"`), as decimal strings, best first.
    pub books: BTreeMap<String, BookLevels>,
    pub problems: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct BookLevels {
    pub bids: Vec<(String, String)>,
    pub asks: Vec<(String, String)>,
}

/// One side of a book: price → size, in micro-units.
type LevelMap = BTreeMap<Price, Size>;

pub async fn check(db: &Db) -> Result<ConsistencyReport, StorageError> {
    let live = orders::live_on_venue(db, Venue::Paper.as_str()).await?;
    let mut report = ConsistencyReport { live_orders: live.len(), ..ConsistencyReport::default() };
    // Reservations the orders hold, per (user reserved account, asset).
    let mut held: BTreeMap<(String, String), i64> = BTreeMap::new();
    // Levels per (market, book): price in book terms → size.
    let mut levels: BTreeMap<(String, usize), (LevelMap, LevelMap)> = BTreeMap::new();
    let mut binary: BTreeMap<String, bool> = BTreeMap::new();
    for o in &live {
        let asset = match o.side {
            Side::Buy => COLLATERAL.to_string(),
            Side::Sell => share_asset(&o.market_id, o.outcome),
        };
        *held.entry((ledger::reserved(&o.user_id).to_string(), asset)).or_default() += o.reserved_micros;
        if !binary.contains_key(&o.market_id) {
            let is_binary = markets::get(db, &o.market_id).await?.is_some_and(|m| m.outcomes.len() == 2);
            binary.insert(o.market_id.clone(), is_binary);
        }
        let is_binary = binary[&o.market_id];
        let (book, mirrored) = if is_binary { (0, o.outcome == 1) } else { (o.outcome as usize, false) };
        let (price, bid) = if mirrored {
            (Price::from_micros(MICROS_PER_UNIT) - o.price, o.side == Side::Sell)
        } else {
            (o.price, o.side == Side::Buy)
        };
        let entry = levels.entry((o.market_id.clone(), book)).or_default();
        let side = if bid { &mut entry.0 } else { &mut entry.1 };
        *side.entry(price).or_default() += o.remaining();
    }
    for (account, asset, balance) in ledger::all_balances(db).await? {
        if !matches!(account.user(), Some((_, ledger::Bucket::Reserved))) {
            continue;
        }
        let account = account.to_string();
        let expected = held.remove(&(account.clone(), asset.clone())).unwrap_or(0);
        if balance != expected {
            report.problems.push(format!("{account} {asset}: ledger holds {balance}, live orders hold {expected}"));
        }
    }
    for ((account, asset), expected) in held {
        if expected != 0 {
            report.problems.push(format!("{account} {asset}: live orders hold {expected}, the ledger nothing"));
        }
    }
    for ((market, book), (bids, asks)) in levels {
        let fmt = |it: Vec<(&Price, &Size)>| it.into_iter().map(|(p, s)| (p.to_string(), s.to_string())).collect();
        report.books.insert(
            format!("{market}/{book}"),
            BookLevels { bids: fmt(bids.iter().rev().collect()), asks: fmt(asks.iter().collect()) },
        );
    }
    Ok(report)
}
