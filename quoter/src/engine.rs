//! One step per frame: the frame's events update the books they name, and each book that
//! changed is quoted again and diffed against the orders the engine holds for it. A book that
//! goes stale (a gap, a hash mismatch, a tick-size change) wants no quotes, so its first
//! actions are the cancels of everything resting on it.
//!
//! Every place passes the [`RiskGate`] first; a refused place is dropped (and counted by the
//! gate), cancels always go. The engine's resting orders are the state its actions lead to: a
//! place is resting from the moment it is decided, a cancel is gone. The sender reconciles
//! with the venue's answers (a place the venue refused is [`Engine::forget`]-ed).

use crate::book::{HashFields, Stale, TickBook};
use crate::diff::{Action, Resting, diff};
use crate::frame::{Event, FrameError, Level, Parser};
use crate::risk::{MarketView, RiskGate};
use crate::stages::{Laps, NoLaps, Stage};
use crate::strategy::{Quotes, Strategy};

/// One quoted asset.
#[derive(Debug)]
pub struct Market {
    pub book: TickBook,
    pub resting: Vec<Resting>,
    /// Micro-shares held (negative: short).
    pub inventory: i64,
}

/// A whole book from REST, for [`Engine::resync`].
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    pub market: &'a str,
    pub timestamp_ms: u64,
    /// Price units.
    pub tick: u32,
    pub bids: &'a [Level],
    pub asks: &'a [Level],
    pub hash_fields: HashFields,
}

/// An action on the market at this index of [`Engine::markets`]. `id` is the order's local id:
/// the one cancelled, or the one a place will rest under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketAction {
    pub market: usize,
    pub id: u64,
    pub action: Action,
}

#[derive(Debug)]
pub struct Engine<S> {
    parser: Parser,
    markets: Vec<Market>,
    strategy: S,
    gate: RiskGate,
    touched: Vec<bool>,
    wanted: Quotes,
    diffed: Vec<Action>,
    actions: Vec<MarketAction>,
    next_id: u64,
}

impl<S: Strategy> Engine<S> {
    /// An engine quoting `assets` (asset id and tick size in price units) with `strategy`,
    /// every place checked by `gate`.
    pub fn new(assets: &[(&str, u32)], strategy: S, gate: RiskGate) -> Self {
        let markets = assets
            .iter()
            .map(|(id, tick)| Market { book: TickBook::new(id, *tick), resting: Vec::with_capacity(16), inventory: 0 })
            .collect::<Vec<_>>();
        let n = markets.len();
        Self {
            parser: Parser::with_capacity(256, 64),
            markets,
            strategy,
            gate,
            touched: vec![false; n],
            wanted: Quotes::default(),
            diffed: Vec::with_capacity(2 * Quotes::CAPACITY + 16),
            actions: Vec::with_capacity(64),
            next_id: 1,
        }
    }

    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    pub fn markets_mut(&mut self) -> &mut [Market] {
        &mut self.markets
    }

    /// The actions the last frame or gap decided.
    pub fn actions(&self) -> &[MarketAction] {
        &self.actions
    }

    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// The kill switch and the limits live here: operators' changes are applied to the gate.
    pub fn gate_mut(&mut self) -> &mut RiskGate {
        &mut self.gate
    }

    /// Reads one frame, received at `now_us` on a monotonic clock, and decides: the actions to
    /// take, in order (cancels of a market before its places). A malformed frame stops at the
    /// bad event and decides nothing.
    pub fn on_frame(&mut self, frame: &str, now_us: u64) -> Result<&[MarketAction], FrameError> {
        self.on_frame_timed(frame, now_us, &mut NoLaps)
    }

    /// [`Engine::on_frame`], telling `laps` as each stage ends (the bench's breakdown).
    pub fn on_frame_timed(
        &mut self,
        frame: &str,
        now_us: u64,
        laps: &mut impl Laps,
    ) -> Result<&[MarketAction], FrameError> {
        self.actions.clear();
        self.touched.fill(false);
        let Self { parser, markets, touched, .. } = self;
        let find = |markets: &[Market], asset: &str| markets.iter().position(|m| m.book.asset_id() == asset);
        parser.parse(frame, |event| {
            laps.lap(Stage::Parse);
            match event {
                Event::Book { asset_id, market, timestamp_ms, bids, asks, .. } => {
                    if let Some(i) = find(markets, asset_id) {
                        markets[i].book.apply_snapshot(market, timestamp_ms, bids, asks);
                        touched[i] = true;
                    }
                }
                Event::PriceChange { timestamp_ms, changes, .. } => {
                    for c in changes.iter() {
                        if let Some(i) = find(markets, c.asset_id) {
                            markets[i].book.apply_change(c.side, c.level, timestamp_ms, c.hash);
                            touched[i] = true;
                        }
                    }
                }
                Event::TickSizeChange { asset_id, new_tick } => {
                    if let Some(i) = find(markets, asset_id) {
                        markets[i].book.tick_size_changed(new_tick);
                        touched[i] = true;
                    }
                }
                Event::LastTradePrice { .. } | Event::BestBidAsk { .. } | Event::Other { .. } => {}
            }
            laps.lap(Stage::Book);
        })?;
        laps.lap(Stage::Parse);
        for i in 0..self.markets.len() {
            if self.touched[i] {
                self.requote(i, now_us, laps);
            }
        }
        Ok(&self.actions)
    }

    /// Marks every book stale (the feed had a gap or the reader lagged) and decides the
    /// cancels that follows.
    pub fn on_gap(&mut self, now_us: u64) -> &[MarketAction] {
        self.actions.clear();
        for i in 0..self.markets.len() {
            self.markets[i].book.mark_stale(Stale::Gap);
            self.requote(i, now_us, &mut NoLaps);
        }
        &self.actions
    }

    /// Replaces market `i`'s book with `snapshot` (a resync from REST: its tick, its levels and
    /// the fields its hash needs, which only REST gives) and quotes the market again.
    pub fn resync(&mut self, i: usize, snapshot: &Snapshot<'_>, now_us: u64) -> &[MarketAction] {
        self.actions.clear();
        let Some(market) = self.markets.get_mut(i) else { return &self.actions };
        if market.book.tick() != snapshot.tick {
            market.book.tick_size_changed(snapshot.tick);
        }
        market.book.set_hash_fields(snapshot.hash_fields.clone());
        market.book.apply_snapshot(snapshot.market, snapshot.timestamp_ms, snapshot.bids, snapshot.asks);
        self.requote(i, now_us, &mut NoLaps);
        &self.actions
    }

    /// Drops a resting order the venue refused or reported gone.
    pub fn forget(&mut self, market: usize, id: u64) {
        if let Some(m) = self.markets.get_mut(market) {
            m.resting.retain(|r| r.id != id);
        }
    }

    fn requote(&mut self, i: usize, now_us: u64, laps: &mut impl Laps) {
        self.wanted.clear();
        let market = &mut self.markets[i];
        self.strategy.quotes(&market.book, market.inventory, &mut self.wanted);
        laps.lap(Stage::Strategy);
        diff(&market.resting, &self.wanted, &mut self.diffed);
        laps.lap(Stage::Diff);
        // Cancels come first in `diffed`, so the gate sees the book as it will be.
        for action in &self.diffed {
            let id = match *action {
                Action::Cancel(id) => {
                    market.resting.retain(|r| r.id != id);
                    id
                }
                Action::Place(quote) => {
                    let view = MarketView {
                        inventory: market.inventory,
                        resting: &market.resting,
                        best_bid: market.book.best_bid().map(|l| l.price),
                        best_ask: market.book.best_ask().map(|l| l.price),
                    };
                    if self.gate.check_place(&quote, &view, now_us).is_err() {
                        continue;
                    }
                    let id = self.next_id;
                    market.resting.push(Resting { id, quote });
                    self.next_id += 1;
                    id
                }
            };
            self.actions.push(MarketAction { market: i, id, action: *action });
        }
        laps.lap(Stage::Risk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::SIZE_UNITS;
    use crate::frame::Side;
    use crate::risk::{Refusal, RiskLimits};
    use crate::strategy::{Fair, Quote, SpreadQuoter, SpreadSettings};
    use kairos_domain::TradingState;
    use kairos_domain::money::Collateral;

    fn gate() -> RiskGate {
        let limits = RiskLimits {
            max_position: 1_000 * SIZE_UNITS as i64,
            max_notional: Collateral::from_micros(0),
            price_band: 1_000,
            max_orders_per_s: 1_000,
        };
        RiskGate::new(limits, TradingState::Enabled)
    }

    fn engine() -> Engine<SpreadQuoter> {
        let strategy = SpreadQuoter::new(SpreadSettings {
            fair: Fair::Mid,
            half_spread: 200,
            size: 5 * SIZE_UNITS,
            skew_per_share_micros: 0,
            max_inventory: i64::MAX,
        });
        Engine::new(&[("A", 100), ("B", 100)], strategy, gate())
    }

    const BOOK_A: &str = r#"{"event_type":"book","asset_id":"A","market":"0x1","bids":[{"price":"0.45","size":"100"}],"asks":[{"price":"0.55","size":"100"}],"timestamp":"1","hash":""}"#;

    #[test]
    fn a_snapshot_quotes_a_change_requotes_and_a_gap_cancels() {
        let mut e = engine();
        let placed: Vec<MarketAction> = e.on_frame(BOOK_A, 1).expect("frame").to_vec();
        assert_eq!(
            placed,
            [
                MarketAction {
                    market: 0,
                    id: 1,
                    action: Action::Place(Quote { side: Side::Buy, price: 4_800, size: 5 * SIZE_UNITS })
                },
                MarketAction {
                    market: 0,
                    id: 2,
                    action: Action::Place(Quote { side: Side::Sell, price: 5_200, size: 5 * SIZE_UNITS })
                },
            ]
        );
        // The same book again: nothing to do.
        assert!(e.on_frame(BOOK_A, 1).expect("frame").is_empty());
        // The bid moves up two ticks: the mid moves one; both quotes are replaced.
        let change = r#"{"event_type":"price_change","market":"0x1","timestamp":"2","price_changes":[{"asset_id":"A","price":"0.47","size":"10","side":"BUY","hash":""}]}"#;
        let moved = e.on_frame(change, 2).expect("frame").to_vec();
        assert_eq!(moved.len(), 4, "two cancels, two places: {moved:?}");
        assert!(matches!(moved[0].action, Action::Cancel(_)) && matches!(moved[1].action, Action::Cancel(_)));
        assert_eq!(e.markets()[0].resting.len(), 2);
        // A change for an asset not quoted is ignored; a gap cancels everything.
        let other = r#"{"event_type":"price_change","market":"0x1","timestamp":"3","price_changes":[{"asset_id":"Z","price":"0.47","size":"10","side":"BUY"}]}"#;
        assert!(e.on_frame(other, 3).expect("frame").is_empty());
        let cancels = e.on_gap(3).to_vec();
        assert_eq!(cancels.len(), 2);
        assert!(cancels.iter().all(|a| matches!(a.action, Action::Cancel(_)) && a.market == 0));
        assert!(e.markets()[0].resting.is_empty());
        // Stale until a snapshot: changes decide nothing.
        assert!(e.on_frame(change, 2).expect("frame").is_empty());
        assert!(e.on_frame("{broken", 4).is_err());
        assert_eq!(e.on_frame(BOOK_A, 1).expect("frame").len(), 2, "quoting again after the snapshot");

        // The kill switch: the gap's cancels go out, no place does, and each refusal counts.
        e.gate_mut().trading = TradingState::CancelOnly;
        let pulled = e.on_gap(5).to_vec();
        assert_eq!(pulled.len(), 2);
        assert!(e.on_frame(BOOK_A, 6).expect("frame").is_empty(), "no places while cancel-only");
        assert_eq!(e.gate().refused(Refusal::CancelOnly), 2);
        assert!(e.markets()[0].resting.is_empty());
    }
}
