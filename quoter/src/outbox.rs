//! The engine's actions as requests ready for the socket: the cancels of a pass in one
//! `DELETE /orders` (by order hash), its places signed and sent as `POST /order` (one) or
//! `POST /orders` (up to the CLOB's 15 per request), each with its L2 headers, all appended to
//! one reused buffer. The order hash of every order placed is kept by local id, so a later
//! cancel names it.
//!
//! A place that cannot be built (a price off a new tick grid, say) is not sent; it is listed
//! in [`Outbox::refused`] so the engine forgets it.

use std::ops::Range;

use kairos_clob_client::eth::B256;

use crate::clock::{Salts, ServerClock};
use crate::diff::Action;
use crate::engine::{Market, MarketAction};
use crate::order::{BuildError, OrderSigner, Stamp, Token};
use crate::stages::{Laps, Stage};
use crate::wire::RequestWriter;

/// The CLOB's limit of orders per `POST /orders`.
pub const MAX_POST_BATCH: usize = 15;

/// An order the outbox placed or cancelled: its market, local id and order hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRef {
    pub market: usize,
    pub id: u64,
    pub hash: B256,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Cancel,
    Place,
    /// `POST /v1/heartbeats`: no orders.
    Heartbeat,
}

/// One request of a pass: its bytes in [`Outbox::bytes`] and its orders in
/// [`Outbox::cancelled`] or [`Outbox::placed`] (by `kind`), in the order the body lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub kind: RequestKind,
    pub bytes: Range<usize>,
    pub orders: Range<usize>,
}

/// A place that was not sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub market: usize,
    pub id: u64,
    pub error: BuildError,
}

#[derive(Debug)]
pub struct Outbox {
    signer: OrderSigner,
    writer: RequestWriter,
    /// By market index, as the engine's.
    tokens: Vec<Token>,
    /// By market index: the order hash of each order placed and not yet cancelled, by local id.
    hashes: Vec<Vec<(u64, B256)>>,
    clock: ServerClock,
    salts: Salts,
    body: String,
    bytes: Vec<u8>,
    requests: Vec<Request>,
    placed: Vec<OrderRef>,
    cancelled: Vec<OrderRef>,
    refused: Vec<Refused>,
}

impl Outbox {
    /// `tokens` by market index, as the engine's markets; each must already have its domain
    /// in `signer` ([`OrderSigner::add_token`]).
    pub fn new(
        signer: OrderSigner,
        writer: RequestWriter,
        tokens: Vec<Token>,
        clock: ServerClock,
        salts: Salts,
    ) -> Self {
        let hashes = tokens.iter().map(|_| Vec::with_capacity(16)).collect();
        Self {
            signer,
            writer,
            tokens,
            hashes,
            clock,
            salts,
            body: String::with_capacity(MAX_POST_BATCH * 1_100),
            bytes: Vec::with_capacity(MAX_POST_BATCH * 1_100 + 2_048),
            requests: Vec::with_capacity(8),
            placed: Vec::with_capacity(2 * MAX_POST_BATCH),
            cancelled: Vec::with_capacity(2 * MAX_POST_BATCH),
            refused: Vec::with_capacity(8),
        }
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The venue's clock moved against ours (measured again by the runtime).
    pub fn set_clock(&mut self, clock: ServerClock) {
        self.clock = clock;
    }

    /// The requests of the last pass, their bytes back to back in [`Outbox::bytes`].
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn placed(&self) -> &[OrderRef] {
        &self.placed
    }

    pub fn cancelled(&self) -> &[OrderRef] {
        &self.cancelled
    }

    pub fn refused(&self) -> &[Refused] {
        &self.refused
    }

    /// The order hash of a resting order, by market and local id.
    pub fn hash_of(&self, market: usize, id: u64) -> Option<B256> {
        self.hashes.get(market)?.iter().find(|(i, _)| *i == id).map(|(_, h)| *h)
    }

    /// Stops tracking an order the venue refused or reported gone.
    pub fn forget(&mut self, market: usize, id: u64) {
        if let Some(hashes) = self.hashes.get_mut(market) {
            hashes.retain(|(i, _)| *i != id);
        }
    }

    /// Writes the requests for `actions` (decided on `markets`), replacing the last pass's.
    pub fn write(&mut self, markets: &[Market], actions: &[MarketAction], laps: &mut impl Laps) {
        self.bytes.clear();
        self.requests.clear();
        self.placed.clear();
        self.cancelled.clear();
        self.refused.clear();
        if actions.is_empty() {
            return;
        }
        let now_ms = self.clock.now_ms();
        let now_s = now_ms / 1_000;
        self.write_cancels(actions, now_s);
        self.write_places(markets, actions, now_ms, laps);
    }

    /// Writes one `DELETE /cancel-all` (every order of the account, whichever process placed
    /// it) and stops tracking every order: what shutdown and the kill switch send.
    pub fn write_cancel_all(&mut self) {
        self.bytes.clear();
        self.requests.clear();
        self.placed.clear();
        self.cancelled.clear();
        self.refused.clear();
        for (market, hashes) in self.hashes.iter_mut().enumerate() {
            self.cancelled.extend(hashes.drain(..).map(|(id, hash)| OrderRef { market, id, hash }));
        }
        let now_s = self.clock.now_ms() / 1_000;
        self.writer.write(&mut self.bytes, "DELETE", "/cancel-all", b"", now_s);
        self.requests.push(Request {
            kind: RequestKind::Cancel,
            bytes: 0..self.bytes.len(),
            orders: 0..self.cancelled.len(),
        });
    }

    /// Writes one `POST /v1/heartbeats` carrying the id the last accepted beat returned (empty
    /// for the first): the CLOB cancels every order of the account when none is accepted for
    /// 10 s, so a quoter that dies takes its quotes with it.
    pub fn write_heartbeat(&mut self, heartbeat_id: &str) {
        self.bytes.clear();
        self.requests.clear();
        self.placed.clear();
        self.cancelled.clear();
        self.refused.clear();
        self.body.clear();
        self.body.push_str("{\"heartbeat_id\":");
        self.body.push_str(&serde_json::to_string(heartbeat_id).unwrap_or_else(|_| "\"\"".to_string()));
        self.body.push('}');
        let now_s = self.clock.now_ms() / 1_000;
        self.writer.write(&mut self.bytes, "POST", "/v1/heartbeats", self.body.as_bytes(), now_s);
        self.requests.push(Request { kind: RequestKind::Heartbeat, bytes: 0..self.bytes.len(), orders: 0..0 });
    }

    /// The market and local id of the order with this hash, while it is tracked.
    pub fn order_of(&self, hash: &B256) -> Option<(usize, u64)> {
        self.hashes
            .iter()
            .enumerate()
            .find_map(|(market, hashes)| hashes.iter().find(|(_, h)| h == hash).map(|(id, _)| (market, *id)))
    }

    fn write_cancels(&mut self, actions: &[MarketAction], now_s: u64) {
        self.body.clear();
        self.body.push('[');
        for a in actions {
            if !matches!(a.action, Action::Cancel(_)) {
                continue;
            }
            // An order never sent (refused when built) has no hash and nothing to cancel.
            let Some(hashes) = self.hashes.get_mut(a.market) else { continue };
            let Some(at) = hashes.iter().position(|(id, _)| *id == a.id) else { continue };
            let (_, hash) = hashes.swap_remove(at);
            if !self.cancelled.is_empty() {
                self.body.push(',');
            }
            self.body.push('"');
            kairos_clob_client::eth::push_hex(&mut self.body, hash.as_slice());
            self.body.push('"');
            self.cancelled.push(OrderRef { market: a.market, id: a.id, hash });
        }
        if self.cancelled.is_empty() {
            return;
        }
        self.body.push(']');
        let start = self.bytes.len();
        self.writer.write(&mut self.bytes, "DELETE", "/orders", self.body.as_bytes(), now_s);
        self.requests.push(Request {
            kind: RequestKind::Cancel,
            bytes: start..self.bytes.len(),
            orders: 0..self.cancelled.len(),
        });
    }

    fn write_places(&mut self, markets: &[Market], actions: &[MarketAction], now_ms: u64, laps: &mut impl Laps) {
        let mut batch_start = 0;
        self.body.clear();
        for a in actions {
            let Action::Place(quote) = a.action else { continue };
            let (Some(token), Some(market)) = (self.tokens.get(a.market), markets.get(a.market)) else {
                continue;
            };
            let in_batch = self.placed.len() - batch_start;
            let before = self.body.len();
            self.body.push(if in_batch == 0 { '[' } else { ',' });
            let stamp = Stamp { salt: self.salts.next_salt(), timestamp_ms: now_ms };
            match self.signer.write_order(&mut self.body, token, &quote, market.book.tick(), stamp, laps) {
                Ok(hash) => {
                    self.placed.push(OrderRef { market: a.market, id: a.id, hash });
                    if let Some(hashes) = self.hashes.get_mut(a.market) {
                        hashes.push((a.id, hash));
                    }
                }
                Err(error) => {
                    self.body.truncate(before);
                    self.refused.push(Refused { market: a.market, id: a.id, error });
                }
            }
            if self.placed.len() - batch_start == MAX_POST_BATCH {
                self.flush_places(batch_start, now_ms / 1_000);
                batch_start = self.placed.len();
                laps.lap(Stage::Wire);
            }
        }
        if self.placed.len() > batch_start {
            self.flush_places(batch_start, now_ms / 1_000);
            laps.lap(Stage::Wire);
        }
    }

    /// Sends the batch in `body` (`[env,…` without its `]`): one order alone as `POST /order`.
    fn flush_places(&mut self, batch_start: usize, now_s: u64) {
        let count = self.placed.len() - batch_start;
        let start = self.bytes.len();
        if count == 1 {
            self.writer.write(&mut self.bytes, "POST", "/order", &self.body.as_bytes()[1..], now_s);
        } else {
            self.body.push(']');
            self.writer.write(&mut self.bytes, "POST", "/orders", self.body.as_bytes(), now_s);
        }
        self.body.clear();
        self.requests.push(Request {
            kind: RequestKind::Place,
            bytes: start..self.bytes.len(),
            orders: batch_start..self.placed.len(),
        });
    }
}
