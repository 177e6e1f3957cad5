//! A local order book kept from the market channel, and the CLOB's order-book hash.
//!
//! The hash is py-clob-client's "server-compatible" recipe: SHA-1 over the compact JSON of
//! `{market, asset_id, timestamp, hash: "", bids, asks, min_order_size, tick_size, neg_risk,
//! last_trade_price}` in that key order. The market channel's `book` and `price_change` events
//! do not carry the last four fields, so the book keeps them from its last REST snapshot.
//! No public source states that the websocket's hashes use this same recipe; a mismatch makes
//! the book ask for a REST resync, so a differing recipe costs extra `/book` calls, never a
//! wrong book.

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use crate::http::types::Book;
use crate::rounding::micros;
use crate::ws::messages::{BookEvent, Level, PriceChange};

/// The fields of a book summary that the hash covers besides the levels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookMeta {
    pub min_order_size: String,
    pub tick_size: String,
    pub neg_risk: bool,
    pub last_trade_price: String,
}

/// The hash of a book summary, as the server computes it.
pub fn summary_hash(
    market: &str,
    asset_id: &str,
    timestamp: &str,
    bids: &[Level],
    asks: &[Level],
    meta: &BookMeta,
) -> String {
    // serde_json's `preserve_order` is not enabled here, so the object is written by hand in
    // the server's key order.
    let levels = |v: &[Level]| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_string());
    let s = |v: &str| serde_json::Value::String(v.to_string()).to_string();
    let json = format!(
        "{{\"market\":{},\"asset_id\":{},\"timestamp\":{},\"hash\":\"\",\"bids\":{},\"asks\":{},\"min_order_size\":{},\"tick_size\":{},\"neg_risk\":{},\"last_trade_price\":{}}}",
        s(market),
        s(asset_id),
        s(timestamp),
        levels(bids),
        levels(asks),
        s(&meta.min_order_size),
        s(&meta.tick_size),
        meta.neg_risk,
        s(&meta.last_trade_price),
    );
    hex_lower(&Sha1::digest(json.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What applying a change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Applied, and the hash (if the server sent one) matches.
    Ok,
    /// No snapshot since the last reset (start, gap or tick-size change): ignored.
    AwaitingSnapshot,
    /// Applied, but the server's hash differs from ours: the book needs a REST resync.
    HashMismatch { ours: String, theirs: String },
    /// A level we could not read: the book needs a resync.
    Malformed,
}

/// One asset's book.
#[derive(Debug, Clone, Default)]
pub struct LocalBook {
    pub market: String,
    pub asset_id: String,
    pub timestamp: String,
    /// Price key → level, for each side.
    bids: BTreeMap<u64, Level>,
    asks: BTreeMap<u64, Level>,
    pub meta: BookMeta,
    ready: bool,
}

impl LocalBook {
    pub fn new(asset_id: impl Into<String>) -> Self {
        Self { asset_id: asset_id.into(), ..Self::default() }
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Forgets the levels until the next snapshot: after a gap, or when the tick size changes
    /// (the levels' grid changed).
    pub fn reset(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.ready = false;
    }

    /// Bids best (highest) first.
    pub fn bids(&self) -> Vec<Level> {
        self.bids.values().rev().cloned().collect()
    }

    /// Asks best (lowest) first.
    pub fn asks(&self) -> Vec<Level> {
        self.asks.values().cloned().collect()
    }

    fn fill(side: &mut BTreeMap<u64, Level>, levels: &[Level]) -> bool {
        side.clear();
        for l in levels {
            let Some(key) = micros(&l.price) else { return false };
            side.insert(key, l.clone());
        }
        true
    }

    /// A websocket snapshot.
    pub fn apply_snapshot(&mut self, e: &BookEvent) -> Applied {
        self.market = e.market.clone();
        self.timestamp = e.timestamp.clone();
        if !(Self::fill(&mut self.bids, &e.bids) && Self::fill(&mut self.asks, &e.asks)) {
            self.reset();
            return Applied::Malformed;
        }
        self.ready = true;
        Applied::Ok
    }

    /// A REST `/book` answer: levels and the fields the hash needs.
    pub fn apply_rest(&mut self, b: &Book, meta: BookMeta) -> Applied {
        self.meta = meta;
        let e = BookEvent {
            asset_id: b.asset_id.clone(),
            market: b.market.clone(),
            bids: b.bids.iter().map(|l| Level { price: l.price.clone(), size: l.size.clone() }).collect(),
            asks: b.asks.iter().map(|l| Level { price: l.price.clone(), size: l.size.clone() }).collect(),
            timestamp: b.timestamp.clone(),
            hash: b.hash.clone(),
        };
        self.apply_snapshot(&e)
    }

    /// One level change, then the hash check when the server sent a hash.
    pub fn apply_change(&mut self, c: &PriceChange, timestamp: &str) -> Applied {
        if !self.ready {
            return Applied::AwaitingSnapshot;
        }
        let Some(key) = micros(&c.price) else {
            self.reset();
            return Applied::Malformed;
        };
        let side = if c.side.eq_ignore_ascii_case("BUY") { &mut self.bids } else { &mut self.asks };
        if micros(&c.size) == Some(0) {
            side.remove(&key);
        } else {
            side.insert(key, Level { price: c.price.clone(), size: c.size.clone() });
        }
        self.timestamp = timestamp.to_string();
        if c.hash.is_empty() {
            return Applied::Ok;
        }
        let ours = self.hash();
        if ours == c.hash {
            Applied::Ok
        } else {
            self.ready = false;
            Applied::HashMismatch { ours, theirs: c.hash.clone() }
        }
    }

    /// The summary hash of the book as we hold it (levels in the REST order: bids and asks
    /// each from the far side of the book towards the touch).
    pub fn hash(&self) -> String {
        let bids: Vec<Level> = self.bids.values().cloned().collect();
        let asks: Vec<Level> = self.asks.values().rev().cloned().collect();
        summary_hash(&self.market, &self.asset_id, &self.timestamp, &bids, &asks, &self.meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(p: &str, s: &str) -> Level {
        Level { price: p.into(), size: s.into() }
    }

    #[test]
    fn the_official_vector_hashes_alike() {
        // py-clob-client-v2 1.2.1, tests/test_utilities.py::test_generate_orderbook_summary_hash.
        let meta = BookMeta {
            min_order_size: "100".into(),
            tick_size: "0.01".into(),
            neg_risk: false,
            last_trade_price: "0.5".into(),
        };
        let bids = [level("0.3", "100"), level("0.4", "100")];
        let asks = [level("0.6", "100"), level("0.7", "100")];
        assert_eq!(
            summary_hash("0xaabbcc", "100", "123456789", &bids, &asks, &meta),
            "0458ea5755c9f73d64a14636fa5c36ed460ec394"
        );
    }

    #[test]
    fn changes_keep_the_book_and_its_hash() {
        let mut book = LocalBook::new("100");
        let change = PriceChange {
            asset_id: "100".into(),
            price: "0.4".into(),
            size: "0".into(),
            side: "BUY".into(),
            hash: String::new(),
            best_bid: String::new(),
            best_ask: String::new(),
        };
        assert_eq!(book.apply_change(&change, "1"), Applied::AwaitingSnapshot);
        let snapshot = BookEvent {
            asset_id: "100".into(),
            market: "0xaabbcc".into(),
            bids: vec![level("0.3", "100"), level("0.4", "100")],
            asks: vec![level("0.7", "100"), level("0.6", "100")],
            timestamp: "1".into(),
            hash: String::new(),
        };
        assert_eq!(book.apply_snapshot(&snapshot), Applied::Ok);
        assert_eq!(book.bids()[0], level("0.4", "100"));
        assert_eq!(book.asks()[0], level("0.6", "100"));
        assert_eq!(book.apply_change(&change, "2"), Applied::Ok);
        assert_eq!(book.bids(), vec![level("0.3", "100")]);
        let mut add = change.clone();
        add.price = "0.35".into();
        add.size = "7".into();
        add.hash = "wrong".into();
        assert!(matches!(book.apply_change(&add, "3"), Applied::HashMismatch { .. }));
        assert!(!book.is_ready(), "a mismatch waits for a resync");
        let mut bad = change;
        bad.price = "0.3x".into();
        book.apply_snapshot(&snapshot);
        assert_eq!(book.apply_change(&bad, "4"), Applied::Malformed);
    }
}
