//! Deterministic replay of the paper venue: runs the durable order log ([`super::log`]) through
//! the same matching code, batch by batch in commit order, and compares what it derives with
//! what the database holds: every order's final state (so every book), every fill, and the net
//! ledger movement of everything matching wrote.
//!
//! Each instance that wrote batches gets an exchange of its own, as it had live: a market taken
//! over moves, with its live orders, to the instance that loaded it; a rebuild starts that
//! instance's exchange afresh. The inputs a batch read from the database (balances, client
//! order ids already taken, order groups) come from its record, so the replay needs nothing
//! else. Resolution payouts are left out of the ledger comparison: they follow from positions
//! the comparison covers, and `ledger verify` checks them.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use kairos_domain::order_group::GroupWindow;
use kairos_domain::{Fill, Order, Venue, order::parse_share_asset};
use kairos_matching::exchange::{Batch, Exchange, MarketChange, MarketLoad, MarketRules};
use kairos_platform::storage::{Db, StorageError, ledger, orders, paper_log};

use super::log;
use super::sequencer::{Request, engine_step};

/// What to replay and compare.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Compare only this market's orders, fills and shares (everything is still replayed: a
    /// group's trip in one market cancels its orders in others).
    pub market: Option<String>,
    /// Replay only batches up to this time (UTC epoch µs) and compare what the database held
    /// by then: orders last changed by then and fills made by then. The ledger is compared
    /// only without it (its entries are not stamped with their batch's time).
    pub until_us: Option<i64>,
}

/// How many mismatches a report lists (it counts them all).
const LISTED: usize = 100;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub markets: usize,
    /// Orders placed by the log's requests.
    pub orders: usize,
    pub fills: usize,
    pub batches: usize,
    pub ledger_compared: bool,
    pub mismatch_count: usize,
    /// The first mismatches, in the order found (the first names the first difference).
    pub mismatches: Vec<String>,
    pub seconds: f64,
    /// Placed orders replayed per second of matching (reading the log included).
    pub orders_per_second: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("paper log batch {batch}: unreadable record: {why}")]
    Record { batch: i64, why: String },
}

/// The replay's state: one exchange per instance, which one holds each market, and what the
/// log derived so far.
#[derive(Debug, Default)]
pub struct Replay {
    exchanges: HashMap<String, Exchange>,
    holder: HashMap<String, String>,
    /// Every market an engine loaded.
    markets: std::collections::HashSet<String>,
    /// Live orders of markets no engine holds now (dropped, or their engine rebuilt), until one
    /// loads them.
    limbo: HashMap<String, Vec<Order>>,
    /// Every order's latest state, by id.
    pub orders: HashMap<String, Order>,
    pub fills: Vec<Fill>,
    /// Net movement per (account, asset), resolution payouts left out.
    pub nets: BTreeMap<(String, String), i64>,
    pub placed: usize,
    pub batches: usize,
    pub found: Findings,
}

/// The mismatches found: all counted, the first [`LISTED`] kept.
#[derive(Debug, Default)]
pub struct Findings {
    pub listed: Vec<String>,
    pub count: usize,
}

impl Findings {
    fn push(&mut self, what: String) {
        self.count += 1;
        if self.listed.len() < LISTED {
            self.listed.push(what);
        }
    }
}

impl Replay {
    /// Applies one logged batch.
    pub fn apply(&mut self, row: &paper_log::Row, record: log::Read) {
        self.batches += 1;
        let instance = row.instance.clone();
        let (fees, limits) = (record.fees, record.limits);
        if record.journal.fresh || !self.exchanges.contains_key(&instance) {
            // A new engine: what the old one held waits for whoever loads it next.
            if let Some(mut old) = self.exchanges.insert(instance.clone(), Exchange::new(fees, limits, 0)) {
                let markets: Vec<String> = old.markets().map(|(id, _)| id.to_string()).collect();
                for m in markets {
                    self.limbo.insert(m.clone(), old.take_market(&m));
                    self.holder.remove(&m);
                }
            }
        }
        for change in &record.journal.markets {
            match change {
                MarketChange::Forgotten(m) => {
                    if self.holder.get(m) == Some(&instance) {
                        let orders = self.exchanges.get_mut(&instance).map(|e| e.take_market(m)).unwrap_or_default();
                        self.limbo.insert(m.clone(), orders);
                        self.holder.remove(m);
                    }
                }
                MarketChange::Loaded(load) => self.load(row, &instance, load),
            }
        }
        let Some(ex) = self.exchanges.get_mut(&instance) else { return };
        ex.set_settings(fees, limits);
        for (group, fills) in record.journal.groups {
            ex.put_group(group, GroupWindow::of(fills));
        }
        let mut batch = Batch::new(row.at_us);
        batch.balances = record.balances.into_iter().map(|(u, a, v)| ((u, a), v)).collect();
        for (user, client_id, order_id) in record.client_ids {
            if let Some(o) = self.orders.get(&order_id) {
                batch.known.insert(order_id.clone(), o.clone());
            }
            batch.client_ids.insert((user, client_id), order_id);
        }
        ex.pull_barred(&mut batch);
        let mut refusals = Vec::new();
        for (i, step) in record.steps.into_iter().enumerate() {
            self.placed += usize::from(matches!(step.request, Request::Place(_)));
            let accepted = match &step.request {
                Request::Resolve { market_id, .. } => {
                    // Its checks read the market's row; the log says how they ended.
                    if step.accepted {
                        ex.cancel_market(market_id, &mut batch);
                        ex.close_market(market_id);
                    }
                    step.accepted
                }
                other => engine_step(ex, other, &mut batch).is_ok(),
            };
            if accepted != step.accepted {
                let word = |a: bool| if a { "accepted" } else { "refused" };
                refusals.push(format!(
                    "batch {} request {i}: {} live, {} in the replay ({:?})",
                    row.batch,
                    word(step.accepted),
                    word(accepted),
                    step.request
                ));
            }
        }
        if record.expire {
            ex.expire(&mut batch);
        }
        for r in refusals {
            self.found.push(r);
        }
        if !batch.faults.is_empty() {
            self.found.push(format!(
                "batch {}: the engine met broken invariants: {}",
                row.batch,
                batch.faults.join("; ")
            ));
        }
        let Some(ex) = self.exchanges.get(&instance) else { return };
        for id in &batch.changed {
            if let Some(o) = ex.current(id, &batch) {
                self.orders.insert(id.clone(), o);
            }
        }
        for t in batch.transfers.iter().filter(|t| t.kind != "settle") {
            for p in &t.postings {
                *self.nets.entry((p.account.to_string(), t.asset.clone())).or_insert(0) += p.amount_micros;
            }
        }
        self.fills.extend(batch.fills);
    }

    /// Puts a market where the live engine loaded it, with the live orders it had then: those
    /// left behind by an engine that dropped it, or taken from the instance that held it.
    fn load(&mut self, row: &paper_log::Row, instance: &str, load: &MarketLoad) {
        let moved = match self.limbo.remove(&load.id) {
            Some(orders) => orders,
            None => match self.holder.get(&load.id) {
                Some(prev) => self.exchanges.get_mut(prev).map(|e| e.take_market(&load.id)).unwrap_or_default(),
                None => Vec::new(),
            },
        };
        self.holder.insert(load.id.clone(), instance.to_string());
        self.markets.insert(load.id.clone());
        let Some(ex) = self.exchanges.get_mut(instance) else { return };
        if load.resolved {
            ex.close_market(&load.id);
            return;
        }
        let rules = match MarketRules::new(&load.id, load.tick, load.outcomes) {
            Ok(rules) => rules,
            Err(e) => {
                // The live engine could not trade it either; its orders stay where they were.
                self.found.push(format!("batch {}: {e}", row.batch));
                self.limbo.insert(load.id.clone(), moved);
                return;
            }
        };
        ex.add_market(rules);
        for order in moved {
            let id = order.id.clone();
            if let Err(refusal) = ex.restore(order) {
                self.found.push(format!("batch {}: order {id} cannot enter its book again: {refusal}", row.batch));
            }
        }
    }

    /// Compares what the replay derived with what the database holds.
    async fn compare(&mut self, db: &Db, options: &Options) -> Result<bool, StorageError> {
        let in_scope = |market: &str| options.market.as_deref().is_none_or(|m| m == market);
        let until = options.until_us.unwrap_or(i64::MAX);
        // Orders: every paper order the database holds was placed by the log, and ended the same.
        let stored = orders::of_venue(db, Venue::Paper.as_str()).await?;
        let mut seen = std::collections::HashSet::new();
        for o in stored.iter().filter(|o| in_scope(&o.market_id) && o.updated_at_us <= until) {
            seen.insert(o.id.clone());
            match self.orders.get(&o.id) {
                None => self.found.push(format!("order {}: in the database, never placed by the log", o.id)),
                Some(r) => {
                    if let Some(diff) = order_difference(o, r) {
                        self.found.push(format!("order {}: {diff}", o.id));
                    }
                }
            }
        }
        if options.until_us.is_none() {
            let mut missing: Vec<&String> = self
                .orders
                .values()
                .filter(|o| in_scope(&o.market_id) && !seen.contains(&o.id))
                .map(|o| &o.id)
                .collect();
            missing.sort();
            for id in missing {
                self.found.push(format!("order {id}: placed by the log, not in the database"));
            }
        }
        // Fills: per order, the same (price, size, fee, liquidity, time).
        let key = |f: &Fill| (f.price.micros(), f.size.micros(), f.fee.micros(), f.liquidity.as_str(), f.created_at_us);
        let mut theirs: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for f in orders::fills_of_venue(db, Venue::Paper.as_str()).await? {
            if in_scope(&f.market_id) && f.created_at_us <= until {
                theirs.entry(f.order_id.clone()).or_default().push(key(&f));
            }
        }
        let mut ours: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for f in self.fills.iter().filter(|f| in_scope(&f.market_id)) {
            ours.entry(f.order_id.clone()).or_default().push(key(f));
        }
        for list in theirs.values_mut().chain(ours.values_mut()) {
            list.sort();
        }
        let ids: std::collections::BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
        let mut differences = Vec::new();
        for id in ids {
            let (a, b) = (theirs.get(id), ours.get(id));
            if a != b {
                differences.push(format!(
                    "fills of order {id}: the database has {:?}, the replay {:?}",
                    a.cloned().unwrap_or_default(),
                    b.cloned().unwrap_or_default()
                ));
            }
        }
        for d in differences {
            self.found.push(d);
        }
        // The ledger: what matching moved, per account and asset.
        if options.until_us.is_some() {
            return Ok(false);
        }
        let share_in_scope =
            |asset: &str| options.market.is_none() || parse_share_asset(asset).is_some_and(|(m, _)| in_scope(m));
        let mut stored_nets: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (account, asset, amount) in ledger::venue_trading_nets(db, Venue::Paper.as_str()).await? {
            if amount != 0 && share_in_scope(&asset) {
                stored_nets.insert((account, asset), amount);
            }
        }
        let derived: BTreeMap<(String, String), i64> =
            self.nets.iter().filter(|(k, v)| **v != 0 && share_in_scope(&k.1)).map(|(k, v)| (k.clone(), *v)).collect();
        let keys: std::collections::BTreeSet<&(String, String)> = stored_nets.keys().chain(derived.keys()).collect();
        let mut differences = Vec::new();
        for k in keys {
            let (a, b) = (stored_nets.get(k).copied().unwrap_or(0), derived.get(k).copied().unwrap_or(0));
            if a != b {
                differences.push(format!("ledger {} {}: the database moved {a}, the replay {b}", k.0, k.1));
            }
        }
        for d in differences {
            self.found.push(d);
        }
        Ok(true)
    }
}

/// How a stored order differs from the replay's, in words; `None` when they agree.
fn order_difference(stored: &Order, replayed: &Order) -> Option<String> {
    let fields = [
        ("status", stored.status.as_str().to_string(), replayed.status.as_str().to_string()),
        ("filled", stored.filled.to_string(), replayed.filled.to_string()),
        ("fees", stored.fees.to_string(), replayed.fees.to_string()),
        ("reserved_micros", stored.reserved_micros.to_string(), replayed.reserved_micros.to_string()),
        ("price", stored.price.to_string(), replayed.price.to_string()),
        ("size", stored.size.to_string(), replayed.size.to_string()),
        ("reason", format!("{:?}", stored.reason), format!("{:?}", replayed.reason)),
        ("updated_at_us", stored.updated_at_us.to_string(), replayed.updated_at_us.to_string()),
    ];
    fields
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(field, a, b)| format!("{field} is {a} in the database, {b} in the replay"))
}

/// Replays the whole log (up to `until_us`) and compares.
pub async fn run(db: &Db, options: &Options) -> Result<Report, ReplayError> {
    let started = Instant::now();
    let mut replay = Replay::default();
    let mut after = i64::MIN;
    loop {
        let page = paper_log::page(db, after, 2_000).await?;
        let Some(last) = page.last() else { break };
        after = last.batch;
        for row in &page {
            if options.until_us.is_some_and(|u| row.at_us > u) {
                continue;
            }
            let record: log::Read = serde_json::from_str(&row.record)
                .map_err(|e| ReplayError::Record { batch: row.batch, why: e.to_string() })?;
            replay.apply(row, record);
        }
    }
    let matching = started.elapsed().as_secs_f64();
    let ledger_compared = replay.compare(db, options).await?;
    let markets = replay.markets.len();
    Ok(Report {
        markets,
        orders: replay.placed,
        fills: replay.fills.len(),
        batches: replay.batches,
        ledger_compared,
        mismatch_count: replay.found.count,
        mismatches: replay.found.listed,
        seconds: started.elapsed().as_secs_f64(),
        orders_per_second: if matching > 0.0 { replay.placed as f64 / matching } else { 0.0 },
    })
}
