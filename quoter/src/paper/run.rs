//! `kairos-quoter run` on the `kairos` target: the engine fed by the Polymarket market channel
//! (or a recording), its decisions sent to a Kairos paper market through the public API as a
//! market maker.
//!
//! - **Start.** Every order the account left in the quoted markets (an earlier run that
//!   crashed) is cancelled, the dead-man's switch is armed for twice the heartbeat, and the
//!   `orders` stream with cancel-on-disconnect must be up before anything is quoted.
//! - **Each frame.** The engine decides; [`PaperOrders::plan`] turns its actions into cancels
//!   (`POST /v1/orders/cancel`), amends (`PATCH /v1/orders/{id}`) and places
//!   (`POST /v1/orders/batch`, post-only), sent in that order; each answer goes back to the
//!   engine (a refused place is forgotten, a fill moves the inventory).
//! - **The kill switch.** A place refused with `trading_disabled` or `cancel_only` puts the
//!   risk gate in the same state at once: no further place is even built. It tries again after
//!   [`HALT_RETRY`].
//! - **Anything unknown** (a request without an answer, the stream lost): every order of the
//!   quoted markets is cancelled and the engine starts from nothing resting.
//! - **Shutdown** cancels everything and disarms the dead-man's switch.

use std::future::Future;
use std::time::{Duration, Instant};

use kairos_domain::TradingState;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::feed::{Feed, FeedStep};
use crate::metrics;
use crate::paper::api::{ApiError, Leg, PaperApi};
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
    pub heartbeats: u64,
    /// Times everything was cancelled because the state became unknown.
    pub resets: u64,
}

enum Step {
    Stop,
    Nothing,
    Heartbeat,
    Gap,
    Frame(kairos_clob_client::ws::RawFrame),
    Stream(StreamEvent),
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
    let mut summary = PaperSummary::default();
    cancel_everything(api, orders).await?;
    let dead_man_ms = dead_man_ms(heartbeat_every);
    api.heartbeat(dead_man_ms).await?;
    let mut events = stream::follow(api.clone());
    wait_ready(&mut events).await?;
    tracing::info!(markets = orders.markets().len(), dead_man_ms, "quoting on Kairos");
    let started = Instant::now();
    let since_start =
        |at: Instant| u64::try_from(at.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
    let mut heartbeat = tokio::time::interval(heartbeat_every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut halted_at: Option<Instant> = None;
    let mut stream_up = true;
    tokio::pin!(shutdown);
    loop {
        let step = tokio::select! {
            biased;
            () = &mut shutdown => Step::Stop,
            _ = heartbeat.tick() => Step::Heartbeat,
            event = events.recv() => match event {
                Some(e) => Step::Stream(e),
                None => Step::Stop,
            },
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
            Step::Heartbeat => {
                summary.heartbeats += 1;
                if let Err(e) = api.heartbeat(dead_man_ms).await {
                    tracing::warn!(error = %e, "dead-man's switch heartbeat failed");
                }
                if halted_at.is_some_and(|at| at.elapsed() >= HALT_RETRY) && stream_up {
                    halted_at = None;
                    engine.gate_mut().trading = TradingState::Enabled;
                }
            }
            Step::Stream(StreamEvent::Order(order)) => {
                let effect = orders.on_order(&order);
                summary.fills += apply(engine, &effect);
            }
            Step::Stream(StreamEvent::Ready) => {
                tracing::info!("orders stream back: quoting again");
                stream_up = true;
                if halted_at.is_none() {
                    engine.gate_mut().trading = TradingState::Enabled;
                }
            }
            Step::Stream(StreamEvent::Lost(reason)) => {
                // The API cancelled everything with the connection; fills in between are
                // unknown. Nothing is placed until the stream is back.
                tracing::warn!(%reason, "orders stream lost: the API cancelled our orders; pausing");
                stream_up = false;
                engine.gate_mut().trading = TradingState::CancelOnly;
                reset(engine, api, orders, &mut summary).await;
            }
            Step::Gap => {
                let actions = engine.on_gap(since_start(Instant::now())).to_vec();
                let plan = orders.plan(&actions);
                if execute(engine, api, orders, plan, &mut summary, &mut halted_at).await.is_err() {
                    reset(engine, api, orders, &mut summary).await;
                }
            }
            Step::Frame(frame) => {
                summary.frames += 1;
                let actions = match engine.on_frame(&frame.text, since_start(frame.read_at)) {
                    Ok(actions) => actions.to_vec(),
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable frame; skipped");
                        continue;
                    }
                };
                let plan = orders.plan(&actions);
                if plan.is_empty() {
                    continue;
                }
                let decided = frame.read_at.elapsed();
                summary.passes += 1;
                match execute(engine, api, orders, plan, &mut summary, &mut halted_at).await {
                    Ok(mut sent) => {
                        sent.tick_to_order = Some(decided);
                        metrics::record_pass(&sent);
                        metrics::record_refusals(engine.gate());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a request failed without an answer; cancelling everything");
                        reset(engine, api, orders, &mut summary).await;
                    }
                }
            }
        }
    }
    tracing::info!("stopping: cancelling every order");
    let cancelled = cancel_everything(api, orders).await;
    for m in engine.markets_mut() {
        m.resting.clear();
    }
    if let Err(e) = api.heartbeat(0).await {
        tracing::warn!(error = %e, "could not disarm the dead-man's switch");
    }
    cancelled?;
    Ok(summary)
}

/// The dead-man's switch fires after two missed heartbeats (within the API's 1 s to 600 s).
pub fn dead_man_ms(heartbeat_every: Duration) -> u64 {
    u64::try_from(heartbeat_every.as_millis().saturating_mul(2)).unwrap_or(600_000).clamp(1_000, 600_000)
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

/// Sends one pass's requests: cancels, amends, then places in batches. A request without an
/// answer is an error (what the API did is unknown); refusals are applied and counted.
async fn execute<S: Strategy>(
    engine: &mut Engine<S>,
    api: &PaperApi,
    orders: &mut PaperOrders,
    plan: Plan,
    summary: &mut PaperSummary,
    halted_at: &mut Option<Instant>,
) -> Result<Sent, ApiError> {
    let mut sent = Sent::default();
    for (market, id) in &plan.dropped {
        engine.forget(*market, *id);
    }
    for ids in plan.cancels.chunks(MAX_CANCELS) {
        sent.requests += 1;
        let not_cancelled = api.cancel(ids).await?;
        summary.cancelled += (ids.len() - not_cancelled.len()) as u64;
        sent.not_cancelled += not_cancelled.len();
    }
    let mut unamended: Vec<String> = Vec::new();
    for amend in plan.amends {
        sent.requests += 1;
        let answer = api.amend(&amend.order_id, &amend.price, &amend.size).await;
        if let Err(ApiError::Transport(_)) = &answer {
            return Err(answer.err().unwrap_or(ApiError::Transport(String::new())));
        }
        if let Some(state) = answer.as_ref().err().and_then(halted_by) {
            halt(engine, halted_at, state);
        }
        let ok = answer.is_ok();
        summary.amended += u64::from(ok);
        summary.refused += u64::from(!ok);
        if !ok {
            unamended.push(amend.order_id.clone());
        }
        let effect = orders.on_amended(amend.local, answer);
        summary.fills += apply(engine, &effect);
    }
    // An order whose amend was refused still rests at its old price: the cancel the amend
    // replaced is sent after all.
    if !unamended.is_empty() {
        sent.requests += 1;
        let not_cancelled = api.cancel(&unamended).await?;
        summary.cancelled += (unamended.len() - not_cancelled.len()) as u64;
    }
    for batch in plan.places.chunks(MAX_PLACES) {
        sent.requests += 1;
        let new: Vec<_> = batch.iter().map(|(_, o)| o.clone()).collect();
        let legs = api.place_batch(&new).await?;
        for ((local, _), leg) in batch.iter().zip(legs) {
            match &leg {
                Leg::Placed(o) if !o.is_done() => sent.resting += 1,
                Leg::Placed(_) => sent.matched += 1,
                Leg::Refused(e) => {
                    sent.refused += 1;
                    if let Some(state) = halted_by(e) {
                        halt(engine, halted_at, state);
                    }
                }
            }
            let effect = orders.on_placed(*local, leg);
            summary.fills += apply(engine, &effect);
        }
    }
    summary.placed += sent.resting as u64;
    summary.refused += sent.refused as u64;
    Ok(sent)
}

/// The trading state a refusal says the API's kill switch is in, if that is why.
fn halted_by(e: &ApiError) -> Option<TradingState> {
    match e.code()? {
        "trading_disabled" => Some(TradingState::Disabled),
        "cancel_only" => Some(TradingState::CancelOnly),
        _ => None,
    }
}

/// The kill switch stops new orders at once: the gate refuses every place from now on.
fn halt<S: Strategy>(engine: &mut Engine<S>, halted_at: &mut Option<Instant>, state: TradingState) {
    if engine.gate().trading == TradingState::Enabled {
        tracing::warn!(state = state.as_str(), "the API's kill switch refuses places: stopping new orders");
    }
    engine.gate_mut().trading = state;
    *halted_at = Some(Instant::now());
}

/// Applies an answer's fills and departures to the engine; returns the fills applied.
fn apply<S: Strategy>(engine: &mut Engine<S>, effect: &Effect) -> u64 {
    for (market, shares) in &effect.inventory {
        if let Some(m) = engine.markets_mut().get_mut(*market) {
            m.inventory = m.inventory.saturating_add(*shares);
        }
    }
    for (market, id) in &effect.gone {
        engine.forget(*market, *id);
    }
    effect.inventory.len() as u64
}

/// What the API holds is unknown: cancel everything and start from nothing resting.
async fn reset<S: Strategy>(
    engine: &mut Engine<S>,
    api: &PaperApi,
    orders: &mut PaperOrders,
    summary: &mut PaperSummary,
) {
    summary.resets += 1;
    for m in engine.markets_mut() {
        m.resting.clear();
    }
    if let Err(e) = cancel_everything(api, orders).await {
        tracing::error!(error = %e, "cancel-all failed; the dead-man's switch cancels the rest");
    }
}

async fn cancel_everything(api: &PaperApi, orders: &mut PaperOrders) -> Result<(), ApiError> {
    orders.clear();
    let markets: Vec<String> = orders.markets().iter().map(|m| m.market_id.clone()).collect();
    for market in markets {
        let n = api.cancel_all(&market).await?;
        if n > 0 {
            tracing::info!(market, cancelled = n, "cancelled the account's orders");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dead_man_s_switch_fires_after_two_missed_heartbeats_within_the_api_s_range() {
        use std::time::Duration;
        assert_eq!(super::dead_man_ms(Duration::from_millis(5_000)), 10_000);
        assert_eq!(super::dead_man_ms(Duration::from_millis(100)), 1_000);
        assert_eq!(super::dead_man_ms(Duration::from_secs(3_600)), 600_000);
    }
}
