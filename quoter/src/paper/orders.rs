//! From the engine's actions to the Kairos API's orders, and from the API's answers and order
//! events back to the engine, as plain functions.
//!
//! - **Both sides with collateral only.** A bid on the mirrored token is a buy of its outcome;
//!   an ask at `p` is a buy of the other outcome at `1 − p`, which the paper venue matches
//!   against buyers of the token by minting a pair. So the quoter never needs shares to quote
//!   an ask, and its inventory (in the token's shares) goes down as those buys fill.
//! - **The market's grid.** Bids are rounded down and asks up to the paper market's tick;
//!   sizes down to its size step. A quote below the market's minimum, or with no price left
//!   inside (0, 1), is not placed and the engine forgets it.
//! - **Amends.** The diff gives a cancel and a place when a quote moves; on Kairos a cancel
//!   and a place on the same side become one `PATCH /v1/orders/{id}` (price and the new total
//!   size, what already filled included), so the order keeps its id.
//! - **Fills** come from the order's cumulative `filled_size`, in its answers and on the
//!   `orders` stream; each order is known by its client order id, which an amend keeps.

use kairos_domain::{Price, format_micros, parse_micros, risk::size_lot};

use crate::diff::Action;
use crate::engine::MarketAction;
use crate::frame::Side;
use crate::paper::api::{Leg, MarketInfo, NewOrder, OrderState};
use crate::strategy::Quote;

/// Micro-units of price per price unit of the engine (0.0001).
const MICROS_PER_PRICE_UNIT: i64 = 100;
/// 1.0 in micro-units.
const ONE: i64 = 1_000_000;

/// A paper market quoted for one mirrored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperMarket {
    pub market_id: String,
    /// The outcome whose venue token id is the mirrored token.
    pub outcome: u8,
    /// The other outcome (asks are buys of it).
    pub other: u8,
    pub tick: i64,
    pub min_size: i64,
    pub lot: i64,
}

impl PaperMarket {
    /// The market's figures for `token`, if it is a binary market naming it.
    pub fn new(info: &MarketInfo, token: &str) -> Result<PaperMarket, String> {
        let outcome = info
            .outcomes
            .iter()
            .find(|o| o.external_id.as_deref() == Some(token))
            .ok_or_else(|| format!("market {} has no outcome for token {token}", info.id))?
            .index;
        let outcome = match u8::try_from(outcome) {
            Ok(o @ (0 | 1)) if info.outcomes.len() == 2 => o,
            _ => {
                return Err(format!("market {} is not binary: asks are quoted as buys of the other outcome", info.id));
            }
        };
        let tick = parse_micros(&info.tick_size).ok().filter(|t| *t > 0 && *t < ONE);
        let min_size = parse_micros(&info.min_size).ok().filter(|s| *s >= 0);
        let (Some(tick), Some(min_size)) = (tick, min_size) else {
            return Err(format!(
                "market {}: unreadable tick {:?} or minimum {:?}",
                info.id, info.tick_size, info.min_size
            ));
        };
        Ok(PaperMarket {
            market_id: info.id.clone(),
            outcome,
            other: 1 - outcome,
            tick,
            min_size,
            lot: size_lot(Price::from_micros(tick)).micros(),
        })
    }

    /// The outcome, price (micro-units, on the grid) and size (micro-shares) of the buy that
    /// expresses `quote`, or `None` when it cannot be placed here.
    pub fn order_for(&self, quote: &Quote) -> Option<(u8, i64, i64)> {
        let price = i64::from(quote.price) * MICROS_PER_PRICE_UNIT;
        let (outcome, price) = match quote.side {
            Side::Buy => (self.outcome, price - price.rem_euclid(self.tick)),
            Side::Sell => {
                // The ask rounded up is the other outcome's bid rounded down.
                let other = ONE - price;
                (self.other, other - other.rem_euclid(self.tick))
            }
        };
        let size = i64::try_from(quote.size).ok()?;
        let size = size - size.rem_euclid(self.lot);
        (price > 0 && price < ONE && size >= self.min_size.max(1)).then_some((outcome, price, size))
    }
}

/// An order the quoter has on Kairos.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tracked {
    /// The number in its client order id (the local id it was placed under).
    client: u64,
    /// The engine's id for it now (an amend gives it the new quote's); `None` once the engine
    /// no longer counts on it (its cancel is sent, or its amend was refused): it stays
    /// tracked, its fills counted, until the API reports it done.
    local: Option<u64>,
    market: usize,
    /// The API's id, once the place is answered.
    order_id: Option<String>,
    quote: Quote,
    /// The order's price on Kairos (micro-units, its own outcome's) and the size it was given
    /// for the quote (micro-shares, what filled before an amend not included).
    price: i64,
    size: i64,
    /// Micro-shares filled so far.
    filled: i64,
}

/// What one pass asks of the API.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    pub cancels: Vec<String>,
    pub amends: Vec<Amend>,
    /// The market's index, the engine's local id and the order.
    pub places: Vec<(usize, u64, NewOrder)>,
    /// Places that cannot be expressed on the market (market index, local id): forgotten.
    pub dropped: Vec<(usize, u64)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.cancels.is_empty() && self.amends.is_empty() && self.places.is_empty() && self.dropped.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amend {
    pub market: usize,
    /// The engine's id for the new quote.
    pub local: u64,
    pub order_id: String,
    pub price: String,
    pub size: String,
}

/// What an answer or an event means for the engine.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effect {
    /// Inventory moves (market index, micro-shares of the token; negative: sold).
    pub inventory: Vec<(usize, i64)>,
    /// Orders the engine should no longer count as resting (market index, local id).
    pub gone: Vec<(usize, u64)>,
    /// Orders to cancel: an amend refused (the order rests as it was) or an order of this run
    /// that nothing tracks any more and that still rests (placed by a request whose answer
    /// was lost).
    pub to_cancel: Vec<String>,
}

impl Effect {
    fn merge(&mut self, other: Effect) {
        self.inventory.extend(other.inventory);
        self.gone.extend(other.gone);
        self.to_cancel.extend(other.to_cancel);
    }
}

/// The quoter's orders on Kairos, by the engine's ids.
#[derive(Debug)]
pub struct PaperOrders {
    markets: Vec<PaperMarket>,
    /// Client order ids are `kq-{run}-{n}`: unique across runs of one account.
    run: String,
    tracked: Vec<Tracked>,
}

impl PaperOrders {
    /// `run` tells this run's client order ids from an earlier run's (the start time will do).
    pub fn new(markets: Vec<PaperMarket>, run: &str) -> PaperOrders {
        PaperOrders { markets, run: run.to_string(), tracked: Vec::new() }
    }

    pub fn markets(&self) -> &[PaperMarket] {
        &self.markets
    }

    /// Orders tracked now (placed, being placed, or being cancelled).
    pub fn len(&self) -> usize {
        self.tracked.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    fn client_order_id(&self, n: u64) -> String {
        format!("kq-{}-{n}", self.run)
    }

    fn client_number(&self, client_order_id: &str) -> Option<u64> {
        client_order_id.strip_prefix("kq-")?.strip_prefix(self.run.as_str())?.strip_prefix('-')?.parse().ok()
    }

    fn by_local(&self, market: usize, local: u64) -> Option<usize> {
        self.tracked.iter().position(|t| t.market == market && t.local == Some(local))
    }

    /// The requests for `actions` (one pass of the engine): cancels, amends (a cancel and a
    /// place of the same market and side) and places.
    pub fn plan(&mut self, actions: &[MarketAction]) -> Plan {
        let mut plan = Plan::default();
        // The orders the engine cancels: detached now, cancelled unless a place amends them.
        let mut cancelled: Vec<usize> = Vec::new();
        for a in actions {
            if let Action::Cancel(id) = a.action
                && let Some(at) = self.by_local(a.market, id)
            {
                self.tracked[at].local = None;
                cancelled.push(at);
            }
        }
        for a in actions {
            let Action::Place(quote) = a.action else { continue };
            let Some(market) = self.markets.get(a.market) else {
                plan.dropped.push((a.market, a.id));
                continue;
            };
            let Some((outcome, price, size)) = market.order_for(&quote) else {
                plan.dropped.push((a.market, a.id));
                continue;
            };
            let same_side = cancelled.iter().position(|&i| {
                let c = &self.tracked[i];
                c.market == a.market && c.quote.side == quote.side && c.order_id.is_some()
            });
            if let Some(k) = same_side {
                let t = &mut self.tracked[cancelled.remove(k)];
                let unchanged = (t.price, t.size) == (price, size);
                t.local = Some(a.id);
                t.quote = quote;
                if unchanged {
                    // The quote moved inside one tick of the market's grid: nothing to send.
                    continue;
                }
                plan.amends.push(Amend {
                    market: a.market,
                    local: a.id,
                    order_id: t.order_id.clone().unwrap_or_default(),
                    price: format_micros(price),
                    size: format_micros(size.saturating_add(t.filled)),
                });
                (t.price, t.size) = (price, size);
                continue;
            }
            plan.places.push((
                a.market,
                a.id,
                NewOrder {
                    market_id: market.market_id.clone(),
                    outcome,
                    side: "buy",
                    price: format_micros(price),
                    size: format_micros(size),
                    post_only: true,
                    client_order_id: self.client_order_id(a.id),
                },
            ));
            self.tracked.push(Tracked {
                client: a.id,
                local: Some(a.id),
                market: a.market,
                order_id: None,
                quote,
                price,
                size,
                filled: 0,
            });
        }
        plan.cancels = cancelled.iter().filter_map(|&i| self.tracked[i].order_id.clone()).collect();
        // Never answered, so never known to the API by id: nothing to follow.
        self.tracked.retain(|t| t.local.is_some() || t.order_id.is_some());
        for (market, id) in &plan.dropped {
            self.tracked.retain(|t| !(t.market == *market && t.local == Some(*id)));
        }
        plan
    }

    /// The answer to the place of `local`: its id, or the order forgotten when refused.
    pub fn on_placed(&mut self, market: usize, local: u64, leg: Leg) -> Effect {
        match leg {
            Leg::Placed(order) => self.on_order(&order),
            Leg::Refused(e) => {
                tracing::warn!(local, error = %e, "place refused");
                let mut effect = Effect::default();
                if let Some(at) = self.by_local(market, local) {
                    self.tracked.remove(at);
                    effect.gone.push((market, local));
                }
                effect
            }
        }
    }

    /// The answer to the amend giving the order the quote `local`. A refused amend leaves the
    /// order as it was (or it is gone meanwhile): the engine forgets the new quote, and the
    /// order is detached and cancelled.
    pub fn on_amended(
        &mut self,
        market: usize,
        local: u64,
        answer: Result<OrderState, crate::paper::api::ApiError>,
    ) -> Effect {
        match answer {
            Ok(order) => self.on_order(&order),
            Err(e) => {
                tracing::debug!(local, error = %e, "amend refused");
                let mut effect = Effect::default();
                if let Some(at) = self.by_local(market, local) {
                    let t = &mut self.tracked[at];
                    t.local = None;
                    effect.gone.push((market, local));
                    effect.to_cancel.extend(t.order_id.clone());
                }
                effect
            }
        }
    }

    /// An order of ours as the API describes it (an answer or an `orders` event): the fills
    /// it adds and whether it rests no more. An order of this run that nothing tracks but
    /// that still rests is to be cancelled; another run's is none of this run's business.
    pub fn on_order(&mut self, order: &OrderState) -> Effect {
        let mut effect = Effect::default();
        let Some(n) = self.client_number(&order.client_order_id) else { return effect };
        let Some(at) = self.tracked.iter().position(|t| t.client == n) else {
            if !order.is_done() {
                effect.to_cancel.push(order.id.clone());
            }
            return effect;
        };
        let t = &mut self.tracked[at];
        if t.order_id.is_none() {
            t.order_id = Some(order.id.clone());
        }
        let filled = parse_micros(&order.filled_size).unwrap_or(t.filled);
        if filled > t.filled {
            let new = filled - t.filled;
            t.filled = filled;
            effect.inventory.push((t.market, if t.quote.side == Side::Buy { new } else { -new }));
        }
        if order.is_done() {
            if let Some(local) = t.local {
                effect.gone.push((t.market, local));
            }
            self.tracked.remove(at);
        }
        effect
    }

    /// Applies several orders' states in one.
    pub fn on_orders<'a>(&mut self, orders: impl IntoIterator<Item = &'a OrderState>) -> Effect {
        let mut all = Effect::default();
        for o in orders {
            all.merge(self.on_order(o));
        }
        all
    }

    /// Forgets every order (after a cancel-all whose answer was applied).
    pub fn clear(&mut self) {
        self.tracked.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::api::{ApiError, OutcomeInfo};

    fn info() -> MarketInfo {
        MarketInfo {
            id: "m-1".into(),
            status: "open".into(),
            tick_size: "0.01".into(),
            min_size: "1".into(),
            outcomes: vec![
                OutcomeInfo { index: 0, external_id: Some("123".into()) },
                OutcomeInfo { index: 1, external_id: None },
            ],
        }
    }

    fn place(id: u64, side: Side, price: u32, size: u64) -> MarketAction {
        MarketAction { market: 0, id, action: Action::Place(Quote { side, price, size }) }
    }

    fn cancel(id: u64) -> MarketAction {
        MarketAction { market: 0, id, action: Action::Cancel(id) }
    }

    fn state(client: u64, id: &str, status: &str, filled: &str) -> OrderState {
        OrderState {
            id: id.into(),
            client_order_id: format!("kq-r-{client}"),
            status: status.into(),
            filled_size: filled.into(),
            reason: None,
        }
    }

    #[test]
    fn bids_buy_the_token_and_asks_buy_the_other_outcome_on_the_market_grid() {
        let m = PaperMarket::new(&info(), "123").expect("market");
        assert_eq!((m.outcome, m.other, m.tick, m.min_size, m.lot), (0, 1, 10_000, 1_000_000, 100));
        let q = |side, price, size| Quote { side, price, size };
        // 0.4875 bid: down to 0.48. 0.5125 ask: up to 0.52, a buy of NO at 0.48.
        assert_eq!(m.order_for(&q(Side::Buy, 4_875, 10_000_000)), Some((0, 480_000, 10_000_000)));
        assert_eq!(m.order_for(&q(Side::Sell, 5_125, 10_000_000)), Some((1, 480_000, 10_000_000)));
        // Below the minimum, no price left, or an ask at 1.0.
        assert_eq!(m.order_for(&q(Side::Buy, 4_800, 990_000)), None);
        assert_eq!(m.order_for(&q(Side::Buy, 50, 10_000_000)), None);
        assert_eq!(m.order_for(&q(Side::Sell, 9_950, 10_000_000)), None);
        let mut not_binary = info();
        not_binary.outcomes.push(OutcomeInfo { index: 2, external_id: None });
        assert!(PaperMarket::new(&not_binary, "123").is_err());
        assert!(PaperMarket::new(&info(), "999").is_err());
    }

    #[test]
    fn a_moved_quote_is_an_amend_fills_move_inventory_and_done_orders_are_forgotten() {
        let m = PaperMarket::new(&info(), "123").expect("market");
        let mut orders = PaperOrders::new(vec![m], "r");
        let plan = orders.plan(&[place(1, Side::Buy, 4_800, 10_000_000), place(2, Side::Sell, 5_200, 10_000_000)]);
        assert_eq!(plan.places.len(), 2);
        assert!(plan.cancels.is_empty() && plan.amends.is_empty());
        let (_, _, ask) = &plan.places[1];
        assert_eq!((ask.outcome, ask.price.as_str(), ask.size.as_str()), (1, "0.48", "10"));
        assert_eq!(ask.client_order_id, "kq-r-2");
        let placed = orders.on_placed(0, 1, Leg::Placed(state(1, "o-1", "open", "0")));
        assert_eq!(placed, Effect::default());
        orders.on_placed(0, 2, Leg::Placed(state(2, "o-2", "open", "0")));

        // 4 shares of the bid fill: +4 of the token.
        let fill = orders.on_order(&state(1, "o-1", "partially_filled", "4"));
        assert_eq!(fill.inventory, [(0, 4_000_000)]);
        assert_eq!(orders.on_order(&state(1, "o-1", "partially_filled", "4")), Effect::default(), "counted once");

        // The bid moves: a cancel and a place on the buy side become one amend, total size
        // including what filled.
        let plan = orders.plan(&[cancel(1), place(3, Side::Buy, 4_900, 10_000_000)]);
        assert!(plan.cancels.is_empty() && plan.places.is_empty());
        assert_eq!(
            plan.amends,
            [Amend { market: 0, local: 3, order_id: "o-1".into(), price: "0.49".into(), size: "14".into() }]
        );
        orders.on_amended(0, 3, Ok(state(1, "o-1", "partially_filled", "4")));
        // The ask (a NO buy) fills in full: -10 of the token, and it rests no more.
        let done = orders.on_order(&state(2, "o-2", "filled", "10"));
        assert_eq!(done, Effect { inventory: vec![(0, -10_000_000)], gone: vec![(0, 2)], to_cancel: vec![] });
        // The amended bid fills 10 more (14 in all): the engine knows it by its new id.
        let rest = orders.on_order(&state(1, "o-1", "filled", "14"));
        assert_eq!(rest, Effect { inventory: vec![(0, 10_000_000)], gone: vec![(0, 3)], to_cancel: vec![] });
        assert!(orders.is_empty());

        // A cancel with no place beside it is a cancel, and the order is followed until the
        // API says it is done: a fill that raced the cancel still counts.
        let plan = orders.plan(&[place(4, Side::Buy, 4_800, 10_000_000), place(5, Side::Sell, 5_200, 10_000_000)]);
        assert_eq!(plan.places.len(), 2);
        orders.on_placed(0, 4, Leg::Placed(state(4, "o-4", "open", "0")));
        let refused = Leg::Refused(ApiError::Refused { status: 403, code: "cancel_only".into(), message: "".into() });
        assert_eq!(orders.on_placed(0, 5, refused).gone, [(0, 5)]);
        let plan = orders.plan(&[cancel(4)]);
        assert_eq!(plan.cancels, ["o-4"]);
        assert_eq!(orders.len(), 1);
        let raced = orders.on_order(&state(4, "o-4", "cancelled", "2"));
        assert_eq!(raced, Effect { inventory: vec![(0, 2_000_000)], gone: vec![], to_cancel: vec![] });
        assert!(orders.is_empty());

        // A refused amend: the engine forgets the new quote, the order (still resting as it
        // was) is to be cancelled and its last fills still count.
        orders.plan(&[place(6, Side::Buy, 4_800, 10_000_000)]);
        orders.on_placed(0, 6, Leg::Placed(state(6, "o-6", "open", "0")));
        let plan = orders.plan(&[cancel(6), place(7, Side::Buy, 4_700, 10_000_000)]);
        assert_eq!(plan.amends.len(), 1);
        let gone = ApiError::Refused { status: 503, code: "cancel_only".into(), message: "".into() };
        let refused = orders.on_amended(0, 7, Err(gone));
        assert_eq!(refused, Effect { inventory: vec![], gone: vec![(0, 7)], to_cancel: vec!["o-6".into()] });
        let late = orders.on_order(&state(6, "o-6", "cancelled", "1"));
        assert_eq!(late, Effect { inventory: vec![(0, 1_000_000)], gone: vec![], to_cancel: vec![] });

        // An ask moving inside one tick of the grid (0.4850 and 0.4900 both ask 0.49) sends
        // nothing; the order is known by the new id.
        let plan = orders.plan(&[place(9, Side::Sell, 4_850, 10_000_000)]);
        orders.on_placed(0, 9, Leg::Placed(state(9, "o-9", "open", "0")));
        assert_eq!(plan.places[0].2.price, "0.51");
        let plan = orders.plan(&[cancel(9), place(10, Side::Sell, 4_900, 10_000_000)]);
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(orders.on_order(&state(9, "o-9", "cancelled", "0")).gone, [(0, 10)]);

        // Another run's order is left alone; one of this run that nothing tracks but rests
        // (its place's answer was lost) is cancelled; an unplaceable quote is dropped.
        let other = OrderState { client_order_id: "kq-old-7".into(), ..state(7, "x", "open", "0") };
        assert_eq!(orders.on_order(&other), Effect::default());
        assert_eq!(orders.on_order(&state(99, "o-99", "open", "0")).to_cancel, ["o-99"]);
        assert_eq!(orders.on_order(&state(98, "o-98", "cancelled", "0")), Effect::default());
        let plan = orders.plan(&[place(8, Side::Buy, 4_800, 10_000)]);
        assert_eq!(plan.dropped, [(0, 8)]);
        assert!(orders.is_empty());
    }
}
