//! The whole synchronous step: a frame's bytes in, the requests to send out, with no heap
//! allocation once warm. The [`Engine`] decides, the [`Outbox`] signs and writes; a place the
//! outbox could not build is forgotten by the engine at once, so the two never disagree about
//! what rests.

use kairos_clob_client::eth::B256;

use crate::engine::{Engine, Snapshot};
use crate::frame::FrameError;
use crate::frame::Side;
use crate::outbox::Outbox;
use crate::stages::{Laps, NoLaps};
use crate::strategy::Strategy;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error("the engine quotes {engine} markets but the outbox has {outbox} tokens")]
    MarketCount { engine: usize, outbox: usize },
    #[error("market {index}: the engine's asset {asset} is not the outbox's token {token}")]
    TokenMismatch { index: usize, asset: String, token: String },
}

#[derive(Debug)]
pub struct Pipeline<S> {
    engine: Engine<S>,
    outbox: Outbox,
    /// Micro-shares matched so far of orders partly filled, by local id.
    matched: Vec<(u64, u64)>,
}

impl<S: Strategy> Pipeline<S> {
    /// The outbox's tokens must be the engine's assets, in the same order (the market
    /// channel's asset id is the token id in decimal).
    pub fn new(engine: Engine<S>, outbox: Outbox) -> Result<Self, PipelineError> {
        let (assets, tokens) = (engine.markets(), outbox.tokens());
        if assets.len() != tokens.len() {
            return Err(PipelineError::MarketCount { engine: assets.len(), outbox: tokens.len() });
        }
        for (index, (m, t)) in assets.iter().zip(tokens).enumerate() {
            if m.book.asset_id() != t.id.decimal() {
                return Err(PipelineError::TokenMismatch {
                    index,
                    asset: m.book.asset_id().to_string(),
                    token: t.id.decimal().to_string(),
                });
            }
        }
        Ok(Self { engine, outbox, matched: Vec::with_capacity(16) })
    }

    pub fn engine(&self) -> &Engine<S> {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut Engine<S> {
        &mut self.engine
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn outbox_mut(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// One frame, received at `now_us` on a monotonic clock: the requests to send are in
    /// the returned outbox ([`Outbox::requests`], [`Outbox::bytes`]).
    pub fn on_frame(&mut self, frame: &str, now_us: u64) -> Result<&Outbox, FrameError> {
        self.on_frame_timed(frame, now_us, &mut NoLaps)
    }

    /// [`Pipeline::on_frame`], telling `laps` as each stage ends.
    pub fn on_frame_timed(&mut self, frame: &str, now_us: u64, laps: &mut impl Laps) -> Result<&Outbox, FrameError> {
        self.engine.on_frame_timed(frame, now_us, laps)?;
        self.outbox.write(self.engine.markets(), self.engine.actions(), laps);
        self.forget_refused();
        Ok(&self.outbox)
    }

    /// Market `i`'s book replaced from REST (see [`Engine::resync`]), then quoted again.
    pub fn on_resync(&mut self, i: usize, snapshot: &Snapshot<'_>, now_us: u64) -> &Outbox {
        self.engine.resync(i, snapshot, now_us);
        self.outbox.write(self.engine.markets(), self.engine.actions(), &mut NoLaps);
        self.forget_refused();
        &self.outbox
    }

    /// The feed had a gap: every book is stale and everything resting is cancelled.
    pub fn on_gap(&mut self, now_us: u64) -> &Outbox {
        self.engine.on_gap(now_us);
        self.outbox.write(self.engine.markets(), self.engine.actions(), &mut NoLaps);
        &self.outbox
    }

    /// Shutdown or the kill switch: every order of the account is cancelled at once
    /// (`DELETE /cancel-all`) and none is believed resting any more.
    pub fn cancel_all(&mut self) -> &Outbox {
        for market in self.engine.markets_mut() {
            market.resting.clear();
        }
        self.matched.clear();
        self.outbox.write_cancel_all();
        &self.outbox
    }

    /// The venue says the order with `hash` has `size_matched` micro-shares matched in all
    /// (the user channel's cumulative figure): the new part moves the inventory, and an order
    /// matched in full no longer rests. Returns the micro-shares newly matched; an order not
    /// (or no longer) tracked moves nothing.
    pub fn on_order_matched(&mut self, hash: &B256, size_matched: u64) -> u64 {
        let Some((market, id)) = self.outbox.order_of(hash) else { return 0 };
        let Some(m) = self.engine.markets_mut().get_mut(market) else { return 0 };
        let Some(at) = m.resting.iter().position(|r| r.id == id) else { return 0 };
        let known = self.matched.iter().find(|(i, _)| *i == id).map_or(0, |(_, n)| *n);
        let new = size_matched.saturating_sub(known).min(m.resting[at].quote.size.saturating_sub(known));
        if new == 0 {
            return 0;
        }
        let shares = i64::try_from(new).unwrap_or(i64::MAX);
        m.inventory = match m.resting[at].quote.side {
            Side::Buy => m.inventory.saturating_add(shares),
            Side::Sell => m.inventory.saturating_sub(shares),
        };
        let total = known + new;
        if total >= m.resting[at].quote.size {
            self.forget(market, id);
        } else if let Some(entry) = self.matched.iter_mut().find(|(i, _)| *i == id) {
            entry.1 = total;
        } else {
            self.matched.push((id, total));
        }
        new
    }

    /// The venue refused an order or reported it gone (cancelled, filled, expired).
    pub fn forget(&mut self, market: usize, id: u64) {
        self.engine.forget(market, id);
        self.outbox.forget(market, id);
        self.matched.retain(|(i, _)| *i != id);
    }

    fn forget_refused(&mut self) {
        for i in 0..self.outbox.refused().len() {
            let r = &self.outbox.refused()[i];
            let (market, id) = (r.market, r.id);
            self.engine.forget(market, id);
        }
    }
}
