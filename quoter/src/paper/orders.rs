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
        if info.outcomes.len() != 2 || outcome > 1 {
            return Err(format!("market {} is not binary: asks are quoted as buys of the other outcome", info.id));
        }
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
    /// The engine's id for it now (an amend gives it the new quote's).
    local: u64,
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
    /// The engine's local id and the order.
    pub places: Vec<(u64, NewOrder)>,
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
    /// Orders that rest no more (market index, local id).
    pub gone: Vec<(usize, u64)>,
}

impl Effect {
    fn merge(&mut self, other: Effect) {
        self.inventory.extend(other.inventory);
        self.gone.extend(other.gone);
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

    /// Orders tracked now (placed or being placed).
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

    /// The requests for `actions` (one pass of the engine): cancels, amends (a cancel and a
    /// place of the same market and side) and places. Cancels leave the tracking at once.
    pub fn plan(&mut self, actions: &[MarketAction]) -> Plan {
        let mut plan = Plan::default();
        let mut cancelled: Vec<Tracked> = Vec::new();
        for a in actions {
            if let Action::Cancel(id) = a.action
                && let Some(at) = self.tracked.iter().position(|t| t.market == a.market && t.local == id)
            {
                cancelled.push(self.tracked.remove(at));
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
            let same_side = cancelled
                .iter()
                .position(|c| c.market == a.market && c.quote.side == quote.side && c.order_id.is_some());
            if let Some(at) = same_side {
                let old = cancelled.remove(at);
                if (old.price, old.size) == (price, size) {
                    // The quote moved inside one tick of the market's grid: nothing to send.
                    self.tracked.push(Tracked { local: a.id, quote, ..old });
                    continue;
                }
                let order_id = old.order_id.clone().unwrap_or_default();
                plan.amends.push(Amend {
                    local: a.id,
                    order_id: order_id.clone(),
                    price: format_micros(price),
                    size: format_micros(size.saturating_add(old.filled)),
                });
                self.tracked.push(Tracked { local: a.id, quote, price, size, ..old });
                continue;
            }
            plan.places.push((
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
                local: a.id,
                market: a.market,
                order_id: None,
                quote,
                price,
                size,
                filled: 0,
            });
        }
        plan.cancels = cancelled.into_iter().filter_map(|c| c.order_id).collect();
        for (market, id) in &plan.dropped {
            self.tracked.retain(|t| !(t.market == *market && t.local == *id));
        }
        plan
    }

    /// The answer to the place of `local`: its id, or the order forgotten when refused.
    pub fn on_placed(&mut self, local: u64, leg: Leg) -> Effect {
        match leg {
            Leg::Placed(order) => self.on_order(&order),
            Leg::Refused(e) => {
                tracing::warn!(local, error = %e, "place refused");
                self.drop_local(local)
            }
        }
    }

    /// The answer to the amend giving the order the quote `local`. A refused amend leaves the
    /// order as it was: the caller cancels it.
    pub fn on_amended(&mut self, local: u64, answer: Result<OrderState, crate::paper::api::ApiError>) -> Effect {
        match answer {
            Ok(order) => self.on_order(&order),
            Err(e) => {
                // The order still rests as it was (or is gone meanwhile): the engine forgets
                // the new quote, and the order stays tracked, its fills counted, until the
                // cancel the caller sends for it is seen.
                tracing::debug!(local, error = %e, "amend refused");
                let mut effect = Effect::default();
                if let Some(t) = self.tracked.iter().find(|t| t.local == local) {
                    effect.gone.push((t.market, local));
                }
                effect
            }
        }
    }

    /// An order of ours as the API describes it (an answer or an `orders` event): the fills
    /// it adds and whether it rests no more. An order not (or no longer) tracked moves
    /// nothing: its cancel was already decided.
    pub fn on_order(&mut self, order: &OrderState) -> Effect {
        let mut effect = Effect::default();
        let Some(n) = self.client_number(&order.client_order_id) else { return effect };
        let Some(at) = self.tracked.iter().position(|t| t.client == n) else { return effect };
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
            effect.gone.push((t.market, t.local));
            self.tracked.remove(at);
        }
        effect
    }

    /// Applies several effects in one.
    pub fn on_orders<'a>(&mut self, orders: impl IntoIterator<Item = &'a OrderState>) -> Effect {
        let mut all = Effect::default();
        for o in orders {
            all.merge(self.on_order(o));
        }
        all
    }

    /// Everything cancelled at once (the kill switch, a gap in the stream, shutdown).
    pub fn clear(&mut self) {
        self.tracked.clear();
    }

    fn drop_local(&mut self, local: u64) -> Effect {
        let mut effect = Effect::default();
        if let Some(at) = self.tracked.iter().position(|t| t.local == local) {
            effect.gone.push((self.tracked[at].market, local));
            self.tracked.remove(at);
        }
        effect
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
        let (_, ask) = &plan.places[1];
        assert_eq!((ask.outcome, ask.price.as_str(), ask.size.as_str()), (1, "0.48", "10"));
        assert_eq!(ask.client_order_id, "kq-r-2");
        let placed = orders.on_placed(1, Leg::Placed(state(1, "o-1", "open", "0")));
        assert_eq!(placed, Effect::default());
        orders.on_placed(2, Leg::Placed(state(2, "o-2", "open", "0")));

        // 4 shares of the bid fill: +4 of the token.
        let fill = orders.on_order(&state(1, "o-1", "partially_filled", "4"));
        assert_eq!(fill.inventory, [(0, 4_000_000)]);
        assert_eq!(orders.on_order(&state(1, "o-1", "partially_filled", "4")), Effect::default(), "counted once");

        // The bid moves: a cancel and a place on the buy side become one amend, total size
        // including what filled.
        let plan = orders.plan(&[cancel(1), place(3, Side::Buy, 4_900, 10_000_000)]);
        assert!(plan.cancels.is_empty() && plan.places.is_empty());
        assert_eq!(plan.amends, [Amend { local: 3, order_id: "o-1".into(), price: "0.49".into(), size: "14".into() }]);
        orders.on_amended(3, Ok(state(1, "o-1", "partially_filled", "4")));
        // The ask (a NO buy) fills in full: -10 of the token, and it rests no more.
        let done = orders.on_order(&state(2, "o-2", "filled", "10"));
        assert_eq!(done, Effect { inventory: vec![(0, -10_000_000)], gone: vec![(0, 2)] });
        // The amended bid fills 10 more (14 in all): the engine knows it by its new id.
        let rest = orders.on_order(&state(1, "o-1", "filled", "14"));
        assert_eq!(rest, Effect { inventory: vec![(0, 10_000_000)], gone: vec![(0, 3)] });
        assert!(orders.is_empty());

        // A cancel with no place beside it is a cancel; a refused place is forgotten; a
        // failed amend forgets the new quote.
        let plan = orders.plan(&[place(4, Side::Buy, 4_800, 10_000_000), place(5, Side::Sell, 5_200, 10_000_000)]);
        assert_eq!(plan.places.len(), 2);
        orders.on_placed(4, Leg::Placed(state(4, "o-4", "open", "0")));
        let refused = Leg::Refused(ApiError::Refused { status: 403, code: "cancel_only".into(), message: "".into() });
        assert_eq!(orders.on_placed(5, refused).gone, [(0, 5)]);
        let plan = orders.plan(&[cancel(4)]);
        assert_eq!(plan.cancels, ["o-4"]);
        assert!(orders.is_empty());
        orders.plan(&[place(6, Side::Buy, 4_800, 10_000_000)]);
        orders.on_placed(6, Leg::Placed(state(6, "o-6", "open", "0")));
        let plan = orders.plan(&[cancel(6), place(7, Side::Buy, 4_700, 10_000_000)]);
        assert_eq!(plan.amends.len(), 1);
        let gone = ApiError::Refused { status: 409, code: "order_not_open".into(), message: "".into() };
        assert_eq!(orders.on_amended(7, Err(gone)).gone, [(0, 7)]);
        assert_eq!(orders.len(), 1, "tracked until its cancel is seen");
        let late = orders.on_order(&state(6, "o-6", "cancelled", "1"));
        assert_eq!(late, Effect { inventory: vec![(0, 1_000_000)], gone: vec![(0, 7)] }, "a last fill still counts");
        // An ask moving inside one tick of the grid (0.4850 and 0.4900 both ask 0.49) sends
        // nothing; the order is known by the new id.
        let plan = orders.plan(&[place(9, Side::Sell, 4_850, 10_000_000)]);
        orders.on_placed(9, Leg::Placed(state(9, "o-9", "open", "0")));
        assert_eq!(plan.places[0].1.price, "0.51");
        let plan = orders.plan(&[cancel(9), place(10, Side::Sell, 4_900, 10_000_000)]);
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(orders.on_order(&state(9, "o-9", "cancelled", "0")).gone, [(0, 10)]);
        // Another run's order, or an unplaceable quote.
        assert_eq!(
            orders.on_order(&OrderState { client_order_id: "kq-old-7".into(), ..state(7, "x", "filled", "1") }),
            Effect::default()
        );
        let plan = orders.plan(&[place(8, Side::Buy, 4_800, 10_000)]);
        assert_eq!(plan.dropped, [(0, 8)]);
        assert!(orders.is_empty());
    }
}
