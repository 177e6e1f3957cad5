//! One asset's book in integer ticks: a size per price unit on each side (0.0001 apart, so
//! 10,001 slots a side, allocated once) and the best price of each side kept as levels come
//! and go. The CLOB's hash check stays in force: after a change that carries the server's
//! hash, the book's summary hash (the recipe of `kairos_clob_client::ws::book`, written into a
//! reused buffer) must match, or the book goes stale until a fresh snapshot. A gap, a lag, a
//! tick-size change or a level that cannot be read make it stale too; a stale book quotes
//! nothing.

use sha1::{Digest, Sha1};

use crate::fixed::{PRICE_DIGITS, PRICE_UNITS, SIZE_DIGITS, write_fixed, write_u64};
use crate::frame::{Level, Side};

/// Why a book is not live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// No snapshot yet.
    AwaitingSnapshot,
    HashMismatch,
    Malformed,
    TickSizeChange,
    /// The feed had a gap or the reader lagged: changes may be missing.
    Gap,
}

/// The fields of the server's summary hash that only the REST `/book` gives (the market
/// channel never sends them); without them the hash is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashFields {
    pub min_order_size: String,
    pub tick_size: String,
    pub neg_risk: bool,
    pub last_trade_price: String,
}

pub struct TickBook {
    asset_id: String,
    market: String,
    /// Micro-shares resting at each price unit.
    bids: Box<[u64]>,
    asks: Box<[u64]>,
    best_bid: Option<u32>,
    best_ask: Option<u32>,
    /// The tick size in price units (100 for 0.01).
    tick: u32,
    timestamp_ms: u64,
    stale: Option<Stale>,
    hash_fields: Option<HashFields>,
    /// Reused for the summary hash's JSON.
    scratch: String,
}

impl std::fmt::Debug for TickBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TickBook")
            .field("asset_id", &self.asset_id)
            .field("best_bid", &self.best_bid)
            .field("best_ask", &self.best_ask)
            .field("stale", &self.stale)
            .finish_non_exhaustive()
    }
}

impl TickBook {
    pub fn new(asset_id: &str, tick: u32) -> Self {
        let slots = PRICE_UNITS as usize + 1;
        Self {
            asset_id: asset_id.to_string(),
            market: String::with_capacity(66),
            bids: vec![0; slots].into_boxed_slice(),
            asks: vec![0; slots].into_boxed_slice(),
            best_bid: None,
            best_ask: None,
            tick: tick.max(1),
            timestamp_ms: 0,
            stale: Some(Stale::AwaitingSnapshot),
            hash_fields: None,
            scratch: String::with_capacity(8 * 1024),
        }
    }

    pub fn asset_id(&self) -> &str {
        &self.asset_id
    }

    /// The market (condition id) the last snapshot named; empty before one.
    pub fn market(&self) -> &str {
        &self.market
    }

    /// `None` when live.
    pub fn stale(&self) -> Option<Stale> {
        self.stale
    }

    pub fn tick(&self) -> u32 {
        self.tick
    }

    pub fn timestamp_ms(&self) -> u64 {
        self.timestamp_ms
    }

    /// The REST-only fields of the hash: from now on, changes carrying a hash are checked.
    pub fn set_hash_fields(&mut self, fields: HashFields) {
        self.hash_fields = Some(fields);
    }

    /// The best bid (price, size), when live.
    pub fn best_bid(&self) -> Option<Level> {
        self.best_bid.filter(|_| self.stale.is_none()).map(|p| Level { price: p, size: self.bids[p as usize] })
    }

    /// The best ask (price, size), when live.
    pub fn best_ask(&self) -> Option<Level> {
        self.best_ask.filter(|_| self.stale.is_none()).map(|p| Level { price: p, size: self.asks[p as usize] })
    }

    /// The prices a level can sit at: the multiples of the tick.
    fn grid(&self) -> impl Iterator<Item = u32> + use<> {
        (0..=PRICE_UNITS).step_by(self.tick as usize)
    }

    /// Makes the book stale until the next snapshot.
    pub fn mark_stale(&mut self, why: Stale) {
        self.stale = Some(why);
    }

    /// The tick size changed: the levels' grid changed, so the book waits for a snapshot.
    pub fn tick_size_changed(&mut self, tick: u32) {
        self.tick = tick.max(1);
        self.stale = Some(Stale::TickSizeChange);
        // Levels only ever sit on the tick's grid, which is what lets a snapshot clear and the
        // hash walk the grid alone; the old grid's levels go now, once.
        self.bids.fill(0);
        self.asks.fill(0);
        if let Some(fields) = self.hash_fields.as_mut() {
            fields.tick_size.clear();
            write_fixed(&mut fields.tick_size, u64::from(self.tick), PRICE_DIGITS);
        }
    }

    /// A `book` snapshot replaces both sides; a level off the tick grid makes it stale.
    pub fn apply_snapshot(&mut self, market: &str, timestamp_ms: u64, bids: &[Level], asks: &[Level]) -> Option<Stale> {
        // Every level is on the grid: clearing it clears the book (101 slots a side at 0.01
        // rather than 10,001).
        for p in self.grid() {
            self.bids[p as usize] = 0;
            self.asks[p as usize] = 0;
        }
        self.best_bid = None;
        self.best_ask = None;
        self.market.clear();
        self.market.push_str(market);
        self.timestamp_ms = timestamp_ms;
        for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
            for l in levels {
                if !l.price.is_multiple_of(self.tick) {
                    self.stale = Some(Stale::Malformed);
                    return self.stale;
                }
                self.set(side, *l);
            }
        }
        self.stale = None;
        None
    }

    /// One level change (size 0 removes it), then the hash check when `hash` is given and the
    /// hash's REST fields are known. Ignored while stale.
    pub fn apply_change(&mut self, side: Side, level: Level, timestamp_ms: u64, hash: &str) -> Option<Stale> {
        if self.stale.is_some() {
            return self.stale;
        }
        if level.price > PRICE_UNITS || !level.price.is_multiple_of(self.tick) {
            self.stale = Some(Stale::Malformed);
            return self.stale;
        }
        self.set(side, level);
        self.timestamp_ms = timestamp_ms;
        if !hash.is_empty() && self.hash_fields.is_some() && !self.hash_matches(hash) {
            self.stale = Some(Stale::HashMismatch);
        }
        self.stale
    }

    fn set(&mut self, side: Side, Level { price, size }: Level) {
        let p = price as usize;
        match side {
            Side::Buy => {
                self.bids[p] = size;
                if size > 0 {
                    self.best_bid = Some(self.best_bid.map_or(price, |b| b.max(price)));
                } else if self.best_bid == Some(price) {
                    let tick = self.tick;
                    self.best_bid = (1..=price / tick).map(|k| price - k * tick).find(|q| self.bids[*q as usize] > 0);
                }
            }
            Side::Sell => {
                self.asks[p] = size;
                if size > 0 {
                    self.best_ask = Some(self.best_ask.map_or(price, |a| a.min(price)));
                } else if self.best_ask == Some(price) {
                    let tick = self.tick as usize;
                    self.best_ask =
                        (price + self.tick..=PRICE_UNITS).step_by(tick).find(|q| self.asks[*q as usize] > 0);
                }
            }
        }
    }

    /// Whether the server's `hash` is the summary hash of the book as held.
    fn hash_matches(&mut self, hash: &str) -> bool {
        let Some(fields) = self.hash_fields.as_ref() else { return true };
        let out = &mut self.scratch;
        out.clear();
        out.push_str("{\"market\":\"");
        out.push_str(&self.market);
        out.push_str("\",\"asset_id\":\"");
        out.push_str(&self.asset_id);
        out.push_str("\",\"timestamp\":\"");
        write_u64(out, self.timestamp_ms);
        out.push_str("\",\"hash\":\"\",\"bids\":[");
        // Each side from the far end towards the touch, as the REST book lists them.
        let tick = self.tick as usize;
        let bids = (0..=PRICE_UNITS).step_by(tick).filter(|p| self.bids[*p as usize] > 0);
        write_levels(out, bids, &self.bids);
        out.push_str("],\"asks\":[");
        let asks = (0..PRICE_UNITS + 1).step_by(tick).rev().filter(|p| self.asks[*p as usize] > 0);
        write_levels(out, asks, &self.asks);
        out.push_str("],\"min_order_size\":\"");
        out.push_str(&fields.min_order_size);
        out.push_str("\",\"tick_size\":\"");
        out.push_str(&fields.tick_size);
        out.push_str("\",\"neg_risk\":");
        out.push_str(if fields.neg_risk { "true" } else { "false" });
        out.push_str(",\"last_trade_price\":\"");
        out.push_str(&fields.last_trade_price);
        out.push_str("\"}");
        let digest = Sha1::digest(out.as_bytes());
        let theirs = hash.as_bytes();
        theirs.len() == 40
            && digest.iter().enumerate().all(|(i, b)| {
                let hex = |n: u8| if n < 10 { b'0' + n } else { b'a' + n - 10 };
                theirs[2 * i].eq_ignore_ascii_case(&hex(b >> 4)) && theirs[2 * i + 1].eq_ignore_ascii_case(&hex(b & 15))
            })
    }
}

fn write_levels(out: &mut String, prices: impl Iterator<Item = u32>, sizes: &[u64]) {
    for (i, p) in prices.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"price\":\"");
        write_fixed(out, u64::from(p), PRICE_DIGITS);
        out.push_str("\",\"size\":\"");
        write_fixed(out, sizes[p as usize], SIZE_DIGITS);
        out.push_str("\"}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_clob_client::ws::book::{BookMeta, LocalBook};
    use kairos_clob_client::ws::messages::{BookEvent, Level as TextLevel, PriceChange};

    fn l(price: u32, size: u64) -> Level {
        Level { price, size }
    }

    #[test]
    fn best_prices_follow_levels_coming_and_going() {
        let mut b = TickBook::new("1", 100);
        assert_eq!(b.best_bid(), None);
        assert_eq!(b.apply_change(Side::Buy, l(4_800, 1), 1, ""), Some(Stale::AwaitingSnapshot), "no snapshot yet");
        assert_eq!(b.apply_snapshot("0x1", 1, &[l(4_700, 5), l(4_800, 3)], &[l(5_200, 7), l(5_300, 1)]), None);
        assert_eq!((b.best_bid(), b.best_ask()), (Some(l(4_800, 3)), Some(l(5_200, 7))));
        b.apply_change(Side::Buy, l(4_900, 2), 2, "");
        assert_eq!(b.best_bid(), Some(l(4_900, 2)));
        b.apply_change(Side::Buy, l(4_900, 0), 3, "");
        b.apply_change(Side::Buy, l(4_800, 0), 3, "");
        assert_eq!(b.best_bid(), Some(l(4_700, 5)), "the next level down");
        b.apply_change(Side::Sell, l(5_200, 0), 4, "");
        assert_eq!(b.best_ask(), Some(l(5_300, 1)));
        b.apply_change(Side::Sell, l(5_300, 0), 4, "");
        assert_eq!(b.best_ask(), None, "an empty side");
        assert_eq!(b.apply_change(Side::Sell, l(5_250, 1), 5, ""), Some(Stale::Malformed), "off the 0.01 grid");
        assert_eq!(b.best_bid(), None, "a stale book shows nothing");
        b.apply_snapshot("0x1", 6, &[l(4_700, 5)], &[]);
        b.tick_size_changed(10);
        assert_eq!(b.stale(), Some(Stale::TickSizeChange));
        assert_eq!(b.apply_snapshot("0x1", 7, &[l(4_710, 5)], &[]), None, "on the new grid");
    }

    /// The hash against clob-client's `LocalBook`, which keeps the server's strings: the same
    /// book, the same changes, the same hash (computed by `LocalBook`, checked here).
    #[test]
    fn the_hash_check_agrees_with_clob_client_s_book() {
        let meta = BookMeta {
            min_order_size: "5".into(),
            tick_size: "0.01".into(),
            neg_risk: false,
            last_trade_price: "0.49".into(),
        };
        let text = |p: &str, s: &str| TextLevel { price: p.into(), size: s.into() };
        let mut theirs = LocalBook::new("77");
        theirs.meta = meta.clone();
        theirs.apply_snapshot(&BookEvent {
            asset_id: "77".into(),
            market: "0xabc".into(),
            bids: vec![text("0.47", "12.5"), text("0.48", "30")],
            asks: vec![text("0.53", "1"), text("0.52", "200.000001")],
            timestamp: "1000".into(),
            hash: String::new(),
        });
        let change = PriceChange {
            asset_id: "77".into(),
            price: "0.49".into(),
            size: "4".into(),
            side: "BUY".into(),
            hash: String::new(),
            best_bid: String::new(),
            best_ask: String::new(),
        };
        theirs.apply_change(&change, "1001");
        let expected = theirs.hash();

        let mut ours = TickBook::new("77", 100);
        ours.set_hash_fields(HashFields {
            min_order_size: meta.min_order_size,
            tick_size: meta.tick_size,
            neg_risk: meta.neg_risk,
            last_trade_price: meta.last_trade_price,
        });
        ours.apply_snapshot(
            "0xabc",
            1000,
            &[l(4_700, 12_500_000), l(4_800, 30_000_000)],
            &[l(5_300, 1_000_000), l(5_200, 200_000_001)],
        );
        assert_eq!(ours.apply_change(Side::Buy, l(4_900, 4_000_000), 1001, &expected), None, "the hash matches");
        let wrong = "0".repeat(40);
        assert_eq!(ours.apply_change(Side::Buy, l(4_900, 5_000_000), 1002, &wrong), Some(Stale::HashMismatch));
        assert_eq!(ours.best_bid(), None);
    }
}
