//! The whole synchronous step: a frame's bytes in, the requests to send out, with no heap
//! allocation once warm. The [`Engine`] decides, the [`Outbox`] signs and writes; a place the
//! outbox could not build is forgotten by the engine at once, so the two never disagree about
//! what rests.

use crate::engine::Engine;
use crate::frame::FrameError;
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
        Ok(Self { engine, outbox })
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

    /// The feed had a gap: every book is stale and everything resting is cancelled.
    pub fn on_gap(&mut self, now_us: u64) -> &Outbox {
        self.engine.on_gap(now_us);
        self.outbox.write(self.engine.markets(), self.engine.actions(), &mut NoLaps);
        &self.outbox
    }

    /// The venue refused an order or reported it gone (cancelled, filled, expired).
    pub fn forget(&mut self, market: usize, id: u64) {
        self.engine.forget(market, id);
        self.outbox.forget(market, id);
    }

    fn forget_refused(&mut self) {
        for i in 0..self.outbox.refused().len() {
            let r = &self.outbox.refused()[i];
            let (market, id) = (r.market, r.id);
            self.engine.forget(market, id);
        }
    }
}
