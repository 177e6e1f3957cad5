//! The local books of a market subscription: fed by its events, checked against the
//! server's hashes, and resynced from REST `/book` when a hash disagrees, a level cannot be
//! read, the tick size changes, or the subscription had a gap or lagged.

use std::collections::HashMap;

use crate::http::ClobClient;
use crate::http::ClobError;
use crate::ws::book::{Applied, BookMeta, LocalBook};
use crate::ws::connection::WsEvent;
use crate::ws::messages::MarketEvent;

/// Why a book was fetched from REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resync {
    /// The first connection: the hash needs fields only REST gives.
    Start,
    HashMismatch,
    Malformed,
    TickSizeChange,
    Gap,
    Lagged,
}

#[derive(Debug)]
pub struct Books {
    books: HashMap<String, LocalBook>,
    client: ClobClient,
    /// Every resync done, in order, for metrics and tests.
    pub resyncs: Vec<(String, Resync)>,
}

impl Books {
    pub fn new(client: ClobClient, asset_ids: &[String]) -> Self {
        let books = asset_ids.iter().map(|a| (a.clone(), LocalBook::new(a.clone()))).collect();
        Self { books, client, resyncs: Vec::new() }
    }

    pub fn get(&self, asset_id: &str) -> Option<&LocalBook> {
        self.books.get(asset_id).filter(|b| b.is_ready())
    }

    /// Applies one subscription event; resyncs what it has to before returning.
    pub async fn handle(&mut self, event: &WsEvent<MarketEvent>) -> Result<(), ClobError> {
        let mut stale: Vec<(String, Resync)> = Vec::new();
        match event {
            WsEvent::Message(MarketEvent::Book(b)) => {
                if let Some(book) = self.books.get_mut(&b.asset_id)
                    && book.apply_snapshot(b) == Applied::Malformed
                {
                    stale.push((b.asset_id.clone(), Resync::Malformed));
                }
            }
            WsEvent::Message(MarketEvent::PriceChange(e)) => {
                for c in &e.price_changes {
                    let Some(book) = self.books.get_mut(&c.asset_id) else { continue };
                    match book.apply_change(c, &e.timestamp) {
                        Applied::Ok | Applied::AwaitingSnapshot => {}
                        Applied::HashMismatch { .. } => stale.push((c.asset_id.clone(), Resync::HashMismatch)),
                        Applied::Malformed => stale.push((c.asset_id.clone(), Resync::Malformed)),
                    }
                }
            }
            WsEvent::Message(MarketEvent::TickSizeChange(e)) => {
                self.client.set_tick_size(&e.asset_id, &e.new_tick_size);
                if let Some(book) = self.books.get_mut(&e.asset_id) {
                    book.reset();
                    book.meta.tick_size = e.new_tick_size.clone();
                    stale.push((e.asset_id.clone(), Resync::TickSizeChange));
                }
            }
            WsEvent::Connected => stale.extend(
                self.books
                    .iter()
                    .filter(|(_, b)| b.meta == BookMeta::default())
                    .map(|(a, _)| (a.clone(), Resync::Start)),
            ),
            WsEvent::Gap => stale.extend(self.books.keys().map(|a| (a.clone(), Resync::Gap))),
            WsEvent::Lagged { .. } => stale.extend(self.books.keys().map(|a| (a.clone(), Resync::Lagged))),
            _ => {}
        }
        stale.sort_by(|a, b| a.0.cmp(&b.0));
        stale.dedup_by(|a, b| a.0 == b.0);
        for (asset_id, why) in stale {
            self.resync(&asset_id).await?;
            self.resyncs.push((asset_id, why));
        }
        Ok(())
    }

    /// Replaces the book with the REST one, which also brings the fields the hash needs.
    pub async fn resync(&mut self, asset_id: &str) -> Result<(), ClobError> {
        let rest = self.client.book(asset_id).await?;
        let meta = BookMeta {
            min_order_size: rest.min_order_size.clone(),
            tick_size: rest.tick_size.clone(),
            neg_risk: rest.neg_risk,
            last_trade_price: rest.last_trade_price.clone(),
        };
        let book = self.books.entry(asset_id.to_string()).or_insert_with(|| LocalBook::new(asset_id));
        book.apply_rest(&rest, meta);
        Ok(())
    }
}
