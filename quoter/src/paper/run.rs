//! `kairos-quoter run` on the `kairos` target: the engine fed by the Polymarket market channel
//! (or a recording), its decisions sent to a Kairos paper market through the public API as a
//! market maker.
//!
//! - **Start.** Every order the account left in the quoted markets (an earlier run that
//!   crashed) is cancelled, the inventory is read from the account's positions, the
//!   dead-man's switch is armed for twice the heartbeat (renewed by a task of its own, so a
//!   slow request never lets it fire), and the `orders` stream with cancel-on-disconnect must
//!   be up before anything is quoted.
//! - **Each frame.** The engine decides; [`PaperOrders::plan`] turns its actions into cancels
//!   (`POST /v1/orders/cancel`), amends (`PATCH /v1/orders/{id}`) and places
//!   (`POST /v1/orders/batch`, post-only), sent in that order; each answer goes back to the
//!   engine (a refused place is forgotten, a fill moves the inventory, an order the quoter no
//!   longer follows but that still rests is cancelled).
//! - **Holds.** The gate places nothing while any of these holds: the API refused a place or
//!   an amend for its kill switch (`trading_disabled`, `cancel_only`; tried again after
//!   [`HALT_RETRY`]), the `orders` stream is down (the API cancelled everything with it), or
//!   a cancel-all failed (retried at every heartbeat until it goes through).
//! - **Anything unknown** (a request without an answer, a leg the API could not serve, the
//!   stream lost): every order of the quoted markets is cancelled, their last fills applied,
//!   and the inventory read again from the positions.
//! - **Shutdown** cancels everything, and disarms the dead-man's switch only when that
//!   cancel went through (otherwise the switch cancels them).

use std::future::Future;
use std::time::{Duration, Instant};

use kairos_domain::TradingState;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::feed::{Feed, FeedStep};
use crate::metrics;
use crate::paper::api::{ApiError, Leg, OrderState, PaperApi};
use crate::paper::orders::{Effect, PaperOrders, Plan};
use crate::paper::stream::{self, StreamEvent};
use crate::sender::Sent;
use crate::strategy::Strategy;

/// After the API refused a place for the kill switch, places are tried again this much later.
pub const HALT_RETRY: Duration = Duration::from_secs(5);

/// How long the `orders` stream may take to come up at start.
const STREAM_READY_WITHIN: Duration = Duration::from_secs(10);

/// The API's batch limits.
const MAX_PLACES: usize = 50;
const MAX_CANCELS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PaperError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the orders stream did not come up: {0}")]
    Stream(String),
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PaperSummary {
    pub frames: u64,
    pub passes: u64,
    pub placed: u64,
    pub amended: u64,
    pub cancelled: u64,
    pub refused: u64,
    /// Order updates that moved the inventory.
    pub fills: u64,
    /// Times everything was cancelled because the state became unknown.
    pub resets: u64,
}

/// Why the gate places nothing now; see the module's "Holds".
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    /// The API's kill switch refused us, with the state it said and when.
    pub kill_switch: Option<(TradingState, Instant)>,
    pub stream_down: bool,
    pub cancel_pending: bool,
}

impl Holds {
    /// The state the risk gate is put in.
    pub fn trading(&self) -> TradingState {
        match self.kill_switch {
            Some((state, _)) => state,
            None if self.stream_down || self.cancel_pending => TradingState::CancelOnly,
            None => TradingState::Enabled,
        }
    }
}

enum Step {
    Stop,
    Nothing,
    Tick,
    Gap,
    Frame(kairos_clob_client::ws::RawFrame),
    Stream(StreamEvent),
}

/// One run's state beside the engine.
struct Quoting<'a, S> {
    engine: &'a mut Engine<S>,
    api: &'a PaperApi,
    orders: &'a mut PaperOrders,
    holds: Holds,
    summary: PaperSummary,
}

/// Runs until `shutdown` completes or the feed ends, then cancels everything.
pub async fn run<S: Strategy>(
    engine: &mut Engine<S>,
    api: &PaperApi,
    orders: &mut PaperOrders,
    feed: &mut Feed,
    heartbeat_every: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<PaperSummary, PaperError> {
    let mut q = Quoting { engine, api, orders, holds: Holds::default(), summary: PaperSummary::default() };
    q.cancel_everything().await?;
    q.read_inventory().await?;
    let dead_man_ms = dead_man_ms(heartbeat_every);
    api.heartbeat(dead_man_ms).await?;
    let beating = tokio::spawn(keep_beating(api.clone(), heartbeat_every, dead_man_ms));
    let mut events = stream::follow(api.clone());
    if let Err(e) = wait_ready(&mut events).await {
        beating.abort();
        return Err(e);
    }
    tracing::info!(markets = q.orders.markets().len(), dead_man_ms, "quoting on Kairos");
    let started = Instant::now();
    let since_start =
        |at: Instant| u64::try_from(at.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
    let mut tick = tokio::time::interval(heartbeat_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        let step = tokio::select! {
            biased;
            () = &mut shutdown => Step::Stop,
            _ = tick.tick() => Step::Tick,
            event = events.recv() => event.map_or(Step::Stop, Step::Stream),
            next = feed.next_step() => match next {
                FeedStep::End => Step::Stop,
                FeedStep::Frame(frame) => Step::Frame(frame),
                FeedStep::Gap => Step::Gap,
                FeedStep::Nothing => Step::Nothing,
            },
        };
        match step {
            Step::Stop => break,
            Step::Nothing => {}
            Step::Tick => {
                if q.holds.kill_switch.is_some_and(|(_, at)| at.elapsed() >= HALT_RETRY) {
                    q.holds.kill_switch = None;
                }
                if q.holds.cancel_pending {
                    q.reset().await;
                }
                q.apply_holds();
            }
            Step::Stream(StreamEvent::Order(order)) => {
                let effect = q.orders.on_order(&order);
                q.apply(effect).await;
            }
            Step::Stream(StreamEvent::Ready) => {
                tracing::info!("orders stream back: quoting again");
                q.holds.stream_down = false;
                // Fills while it was down are in the positions.
                if let Err(e) = q.read_inventory().await {
                    tracing::warn!(error = %e, "positions unreadable; cancelling everything");
                    q.reset().await;
                }
                q.apply_holds();
            }
            Step::Stream(StreamEvent::Lost(reason)) => {
                // The API cancelled everything with the connection. Nothing is placed until
                // the stream is back.
                tracing::warn!(%reason, "orders stream lost: the API cancelled our orders; pausing");
                q.holds.stream_down = true;
                q.reset().await;
                q.apply_holds();
            }
            Step::Gap => {
                let actions = q.engine.on_gap(since_start(Instant::now())).to_vec();
                let plan = q.orders.plan(&actions);
                if let Err(e) = q.execute(plan).await {
                    tracing::warn!(error = %e, "a request failed without an answer; cancelling everything");
                    q.reset().await;
                }
            }
            Step::Frame(frame) => {
                q.summary.frames += 1;
                let actions = match q.engine.on_frame(&frame.text, since_start(frame.read_at)) {
                    Ok(actions) => actions.to_vec(),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable frame; skipped");
                        continue;
                    }
                };
                let plan = q.orders.plan(&actions);
                if plan.is_empty() {
                    continue;
                }
                let decided = frame.read_at.elapsed();
                q.summary.passes += 1;
                match q.execute(plan).await {
                    Ok(mut sent) => {
                        sent.tick_to_order = Some(decided);
                        metrics::record_pass(&sent);
                        metrics::record_refusals(q.engine.gate());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a request failed without an answer; cancelling everything");
                        q.reset().await;
                    }
                }
            }
        }
    }
    tracing::info!("stopping: cancelling every order");
    beating.abort();
    let cancelled = q.cancel_everything().await;
    for m in q.engine.markets_mut() {
        m.resting.clear();
    }
    match &cancelled {
        Ok(()) => {
            if let Err(e) = api.heartbeat(0).await {
                tracing::warn!(error = %e, "could not disarm the dead-man's switch");
            }
        }
        Err(e) => tracing::error!(error = %e, "cancel-all failed: the dead-man's switch stays armed and cancels them"),
    }
    cancelled?;
    Ok(q.summary)
}

/// The dead-man's switch fires after two missed heartbeats (within the API's 1 s to 600 s).
pub fn dead_man_ms(heartbeat_every: Duration) -> u64 {
    u64::try_from(heartbeat_every.as_millis().saturating_mul(2)).unwrap_or(600_000).clamp(1_000, 600_000)
}

/// Renews the dead-man's switch every `every` until aborted.
async fn keep_beating(api: PaperApi, every: Duration, dead_man_ms: u64) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = api.heartbeat(dead_man_ms).await {
            tracing::warn!(error = %e, "dead-man's switch heartbeat failed");
        }
    }
}

async fn wait_ready(events: &mut mpsc::Receiver<StreamEvent>) -> Result<(), PaperError> {
    let ready = tokio::time::timeout(STREAM_READY_WITHIN, async {
        let mut last = String::from("no answer");
        loop {
            match events.recv().await {
                Some(StreamEvent::Ready) => return Ok(()),
                Some(StreamEvent::Lost(reason)) => {
                    tracing::warn!(%reason, "orders stream not up yet");
                    last = reason;
                }
                Some(StreamEvent::Order(_)) => {}
                None => return Err(last),
            }
        }
    })
    .await;
    match ready {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(PaperError::Stream(reason)),
        Err(_) => Err(PaperError::Stream(format!("not ready within {STREAM_READY_WITHIN:?}"))),
    }
}

/// The trading state a refusal says the API's kill switch is in, if that is why.
fn halted_by(e: &ApiError) -> Option<TradingState> {
    match e.code()? {
        "trading_disabled" => Some(TradingState::Disabled),
        "cancel_only" => Some(TradingState::CancelOnly),
        _ => None,
    }
}

impl<S: Strategy> Quoting<'_, S> {
    /// Sends one pass's requests: cancels, amends, then places in batches. A request without
    /// an answer is an error (what the API did is unknown); refusals are applied and counted.
    async fn execute(&mut self, plan: Plan) -> Result<Sent, ApiError> {
        let mut sent = Sent::default();
        for (market, id) in &plan.dropped {
            self.engine.forget(*market, *id);
        }
        sent.requests += self.cancel(&plan.cancels).await?;
        let mut refused_amends = Effect::default();
        for amend in plan.amends {
            sent.requests += 1;
            let answer = match self.api.amend(&amend.order_id, &amend.price, &amend.size).await {
                Err(e @ (ApiError::Transport(_) | ApiError::Unreadable { .. })) => return Err(e),
                answer => answer,
            };
            match &answer {
                Ok(_) => self.summary.amended += 1,
                Err(e) => {
                    self.summary.refused += 1;
                    self.halt_if_kill_switch(e);
                }
            }
            let effect = self.orders.on_amended(amend.market, amend.local, answer);
            refused_amends.to_cancel.extend(effect.to_cancel.iter().cloned());
            self.apply_local(&effect);
        }
        // An order whose amend was refused still rests as it was: its cancel goes now.
        sent.requests += self.cancel(&refused_amends.to_cancel).await?;
        for batch in plan.places.chunks(MAX_PLACES) {
            sent.requests += 1;
            let new: Vec<_> = batch.iter().map(|(_, _, o)| o.clone()).collect();
            let legs = self.api.place_batch(&new).await?;
            for ((market, local, _), leg) in batch.iter().zip(legs) {
                match &leg {
                    Leg::Placed(o) if !o.is_done() => sent.resting += 1,
                    Leg::Placed(_) => sent.matched += 1,
                    Leg::Refused(e) => {
                        sent.refused += 1;
                        self.halt_if_kill_switch(e);
                    }
                }
                let effect = self.orders.on_placed(*market, *local, leg);
                self.apply(effect).await;
            }
        }
        self.summary.placed += sent.resting as u64;
        self.summary.refused += sent.refused as u64;
        Ok(sent)
    }

    /// Cancels `ids` in batches; their last fills are applied. Returns the requests sent.
    async fn cancel(&mut self, ids: &[String]) -> Result<usize, ApiError> {
        let mut requests = 0;
        for chunk in ids.chunks(MAX_CANCELS) {
            requests += 1;
            let cancelled = self.api.cancel(chunk).await?;
            self.summary.cancelled += cancelled.orders.len() as u64;
            let effect = self.orders.on_orders(&cancelled.orders);
            self.apply_local(&effect);
        }
        Ok(requests)
    }

    /// Applies an answer's fills and departures, and cancels what it says to.
    async fn apply(&mut self, effect: Effect) {
        self.apply_local(&effect);
        if !effect.to_cancel.is_empty() {
            tracing::warn!(orders = ?effect.to_cancel, "cancelling orders of ours nothing follows");
            if let Err(e) = self.cancel(&effect.to_cancel).await {
                tracing::warn!(error = %e, "that cancel failed; cancelling everything");
                self.reset().await;
            }
        }
    }

    fn apply_local(&mut self, effect: &Effect) {
        for (market, shares) in &effect.inventory {
            if let Some(m) = self.engine.markets_mut().get_mut(*market) {
                m.inventory = m.inventory.saturating_add(*shares);
            }
        }
        self.summary.fills += effect.inventory.len() as u64;
        for (market, id) in &effect.gone {
            self.engine.forget(*market, *id);
        }
    }

    /// The kill switch stops new orders at once: the gate refuses every place from now on.
    fn halt_if_kill_switch(&mut self, e: &ApiError) {
        let Some(state) = halted_by(e) else { return };
        if self.holds.kill_switch.is_none() {
            tracing::warn!(state = state.as_str(), "the API's kill switch refuses places: stopping new orders");
        }
        self.holds.kill_switch = Some((state, Instant::now()));
        self.apply_holds();
    }

    fn apply_holds(&mut self) {
        self.engine.gate_mut().trading = self.holds.trading();
    }

    /// What the API holds is unknown: cancel everything and start from nothing resting. A
    /// failed cancel-all holds new orders until one goes through.
    async fn reset(&mut self) {
        self.summary.resets += 1;
        for m in self.engine.markets_mut() {
            m.resting.clear();
        }
        let done = match self.cancel_everything().await {
            Ok(()) => self.read_inventory().await,
            Err(e) => Err(e),
        };
        self.holds.cancel_pending = match done {
            Ok(()) => false,
            Err(e) => {
                tracing::error!(error = %e, "cancel-all failed; placing nothing until it goes through");
                true
            }
        };
        self.apply_holds();
    }

    /// Cancels every order of the account in the quoted markets, applying their last fills.
    async fn cancel_everything(&mut self) -> Result<(), ApiError> {
        let markets: Vec<String> = self.orders.markets().iter().map(|m| m.market_id.clone()).collect();
        for market in markets {
            let cancelled: Vec<OrderState> = self.api.cancel_all(&market).await?;
            if !cancelled.is_empty() {
                tracing::info!(market, cancelled = cancelled.len(), "cancelled the account's orders");
            }
            let effect = self.orders.on_orders(&cancelled);
            self.apply_local(&effect);
        }
        self.orders.clear();
        Ok(())
    }

    /// Sets each market's inventory from the account's positions: shares of the mirrored
    /// token's outcome minus shares of the other.
    async fn read_inventory(&mut self) -> Result<(), ApiError> {
        for i in 0..self.orders.markets().len() {
            let market = self.orders.markets()[i].clone();
            let positions = self.api.positions(&market.market_id).await?;
            let held = |outcome: u8| {
                positions.iter().filter(|(o, _)| *o == u32::from(outcome)).map(|(_, size)| *size).sum::<i64>()
            };
            if let Some(m) = self.engine.markets_mut().get_mut(i) {
                m.inventory = held(market.outcome).saturating_sub(held(market.other));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dead_man_s_switch_fires_after_two_missed_heartbeats_within_the_api_s_range() {
        assert_eq!(dead_man_ms(Duration::from_millis(5_000)), 10_000);
        assert_eq!(dead_man_ms(Duration::from_millis(100)), 1_000);
        assert_eq!(dead_man_ms(Duration::from_secs(3_600)), 600_000);
    }

    #[test]
    fn the_gate_places_nothing_while_any_hold_stands() {
        let mut holds = Holds::default();
        assert_eq!(holds.trading(), TradingState::Enabled);
        holds.stream_down = true;
        assert_eq!(holds.trading(), TradingState::CancelOnly);
        holds = Holds { cancel_pending: true, ..Holds::default() };
        assert_eq!(holds.trading(), TradingState::CancelOnly);
        holds.kill_switch = Some((TradingState::Disabled, Instant::now()));
        assert_eq!(holds.trading(), TradingState::Disabled);
    }
}
