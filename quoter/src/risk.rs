//! The pre-trade gate every place passes before it is signed: the platform's kill switch
//! (`Disabled` and `CancelOnly` refuse places; cancels always pass), the notional limit (both
//! through `kairos_domain::risk`, the checks the order API and the venues run), and what only
//! a quoter needs: a per-market position limit counting the resting orders on the side that
//! would add to it, a price band around the book's touch, a maximum order rate, and never
//! crossing the engine's own resting orders. Each refusal is counted by reason.

use kairos_domain::TradingState;
use kairos_domain::money::{Collateral, Price, Size};
use kairos_domain::risk::{OrderAction, check_notional, check_trading};

use crate::diff::Resting;
use crate::fixed::PRICE_UNITS;
use crate::frame::Side;
use crate::strategy::Quote;

/// Why the gate refused a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TradingDisabled,
    CancelOnly,
    Notional,
    Position,
    PriceBand,
    Rate,
    SelfCross,
}

impl Refusal {
    pub const ALL: [Refusal; 7] = [
        Refusal::TradingDisabled,
        Refusal::CancelOnly,
        Refusal::Notional,
        Refusal::Position,
        Refusal::PriceBand,
        Refusal::Rate,
        Refusal::SelfCross,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::TradingDisabled => "trading_disabled",
            Refusal::CancelOnly => "cancel_only",
            Refusal::Notional => "notional",
            Refusal::Position => "position",
            Refusal::PriceBand => "price_band",
            Refusal::Rate => "rate",
            Refusal::SelfCross => "self_cross",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskLimits {
    /// Largest position either way, counting resting orders that would add to it (micro-shares).
    pub max_position: i64,
    /// Largest price × size of one order; zero for none.
    pub max_notional: Collateral,
    /// How far (price units) a quote may sit from the touch on its own side of the book.
    pub price_band: u32,
    /// Places allowed per second (a bucket of this size refilled continuously).
    pub max_orders_per_s: u32,
}

/// What the gate needs to know of the market a place is for.
#[derive(Debug, Clone, Copy)]
pub struct MarketView<'a> {
    pub inventory: i64,
    pub resting: &'a [Resting],
    pub best_bid: Option<u32>,
    pub best_ask: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct RiskGate {
    pub limits: RiskLimits,
    pub trading: TradingState,
    /// Order-rate tokens, in thousandths of an order.
    tokens_milli: u64,
    refilled_at_us: u64,
    refusals: [u64; Refusal::ALL.len()],
}

impl RiskGate {
    pub fn new(limits: RiskLimits, trading: TradingState) -> Self {
        let full = u64::from(limits.max_orders_per_s) * 1_000;
        Self { limits, trading, tokens_milli: full, refilled_at_us: 0, refusals: [0; Refusal::ALL.len()] }
    }

    /// How many places were refused for `why`.
    pub fn refused(&self, why: Refusal) -> u64 {
        self.refusals[why as usize]
    }

    /// Checks a place at `now_us` (a monotonic clock); an accepted place spends a rate token.
    pub fn check_place(&mut self, quote: &Quote, market: &MarketView<'_>, now_us: u64) -> Result<(), Refusal> {
        let checked = self.check(quote, market, now_us);
        if let Err(why) = checked {
            self.refusals[why as usize] += 1;
        }
        checked
    }

    fn check(&mut self, q: &Quote, m: &MarketView<'_>, now_us: u64) -> Result<(), Refusal> {
        check_trading(self.trading, OrderAction::Place).map_err(|_| match self.trading {
            TradingState::CancelOnly => Refusal::CancelOnly,
            _ => Refusal::TradingDisabled,
        })?;
        // Price units of 0.0001 are 100 micro-units of price.
        let price = Price::from_micros(i64::from(q.price) * 100);
        let size = Size::from_micros(i64::try_from(q.size).map_err(|_| Refusal::Notional)?);
        check_notional(price, size, self.limits.max_notional).map_err(|_| Refusal::Notional)?;
        let size = i64::try_from(q.size).map_err(|_| Refusal::Position)?;
        // Resting sizes come from the strategy's settings; one too large to add up is refused
        // rather than wrapped into a small exposure.
        let adding = m
            .resting
            .iter()
            .filter(|r| r.quote.side == q.side)
            .try_fold(0i64, |sum, r| i64::try_from(r.quote.size).ok().and_then(|s| sum.checked_add(s)))
            .ok_or(Refusal::Position)?;
        let exposure = match q.side {
            Side::Buy => m.inventory.saturating_add(adding).saturating_add(size),
            Side::Sell => m.inventory.saturating_sub(adding).saturating_sub(size),
        };
        if exposure.saturating_abs() > self.limits.max_position {
            return Err(Refusal::Position);
        }
        let band = self.limits.price_band;
        let in_band = match q.side {
            Side::Buy => {
                m.best_bid.is_some_and(|b| q.price.saturating_add(band) >= b && q.price <= b.saturating_add(band))
            }
            Side::Sell => {
                m.best_ask.is_some_and(|a| q.price <= a.saturating_add(band) && q.price.saturating_add(band) >= a)
            }
        };
        if !in_band || q.price == 0 || q.price >= PRICE_UNITS {
            return Err(Refusal::PriceBand);
        }
        let crosses = m.resting.iter().any(|r| match (q.side, r.quote.side) {
            (Side::Buy, Side::Sell) => q.price >= r.quote.price,
            (Side::Sell, Side::Buy) => q.price <= r.quote.price,
            _ => false,
        });
        if crosses {
            return Err(Refusal::SelfCross);
        }
        self.refill(now_us);
        if self.tokens_milli < 1_000 {
            return Err(Refusal::Rate);
        }
        self.tokens_milli -= 1_000;
        Ok(())
    }

    fn refill(&mut self, now_us: u64) {
        let full = u64::from(self.limits.max_orders_per_s) * 1_000;
        let elapsed = now_us.saturating_sub(self.refilled_at_us);
        // max_orders_per_s orders (×1000) per 1e6 µs.
        let earned = elapsed.saturating_mul(u64::from(self.limits.max_orders_per_s)) / 1_000;
        self.tokens_milli = self.tokens_milli.saturating_add(earned).min(full);
        self.refilled_at_us = now_us;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::SIZE_UNITS;

    fn limits() -> RiskLimits {
        RiskLimits {
            max_position: 100 * SIZE_UNITS as i64,
            max_notional: Collateral::from_micros(50 * 1_000_000),
            price_band: 500,
            max_orders_per_s: 2,
        }
    }

    fn q(side: Side, price: u32, shares: u64) -> Quote {
        Quote { side, price, size: shares * SIZE_UNITS }
    }

    fn view(resting: &[Resting]) -> MarketView<'_> {
        MarketView { inventory: 0, resting, best_bid: Some(4_800), best_ask: Some(5_200) }
    }

    #[test]
    fn each_limit_refuses_with_its_reason_and_is_counted() {
        let mut gate = RiskGate::new(limits(), TradingState::Enabled);
        assert_eq!(gate.check_place(&q(Side::Buy, 4_800, 10), &view(&[]), 0), Ok(()));
        // 0.48 × 200 = 96 USDC > 50.
        assert_eq!(gate.check_place(&q(Side::Buy, 4_800, 200), &view(&[]), 0), Err(Refusal::Notional));
        // 90 shares resting on the bid plus 20 more is past 100.
        let resting = [Resting { id: 1, quote: q(Side::Buy, 4_700, 90) }];
        let big = RiskLimits { max_notional: Collateral::from_micros(0), ..limits() };
        let mut loose = RiskGate::new(big, TradingState::Enabled);
        assert_eq!(loose.check_place(&q(Side::Buy, 4_800, 20), &view(&resting), 0), Err(Refusal::Position));
        assert_eq!(loose.check_place(&q(Side::Sell, 5_200, 20), &view(&resting), 0), Ok(()), "a sell reduces it");
        // Resting sizes too large to add up refuse rather than wrap into a small exposure.
        let huge = [
            Resting { id: 3, quote: Quote { side: Side::Buy, price: 4_700, size: i64::MAX as u64 } },
            Resting { id: 4, quote: Quote { side: Side::Buy, price: 4_700, size: i64::MAX as u64 } },
        ];
        assert_eq!(loose.check_place(&q(Side::Buy, 4_800, 1), &view(&huge), 0), Err(Refusal::Position));
        let beyond = [Resting { id: 5, quote: Quote { side: Side::Buy, price: 4_700, size: u64::MAX } }];
        assert_eq!(loose.check_place(&q(Side::Buy, 4_800, 1), &view(&beyond), 0), Err(Refusal::Position));
        assert_eq!(gate.check_place(&q(Side::Buy, 4_200, 1), &view(&[]), 0), Err(Refusal::PriceBand), "6 cents off");
        let ask = [Resting { id: 2, quote: q(Side::Sell, 4_900, 1) }];
        assert_eq!(gate.check_place(&q(Side::Buy, 4_900, 1), &view(&ask), 0), Err(Refusal::SelfCross));
        assert_eq!(gate.refused(Refusal::Notional), 1);
        assert_eq!(gate.refused(Refusal::PriceBand), 1);
        assert_eq!(gate.refused(Refusal::SelfCross), 1);
    }

    #[test]
    fn the_rate_refills_with_time_and_the_kill_switch_stops_places() {
        let mut gate = RiskGate::new(limits(), TradingState::Enabled);
        let bid = q(Side::Buy, 4_800, 1);
        assert_eq!(gate.check_place(&bid, &view(&[]), 0), Ok(()));
        assert_eq!(gate.check_place(&bid, &view(&[]), 0), Ok(()));
        assert_eq!(gate.check_place(&bid, &view(&[]), 100), Err(Refusal::Rate), "two a second");
        assert_eq!(gate.check_place(&bid, &view(&[]), 500_100), Ok(()), "half a second earns one");
        gate.trading = TradingState::CancelOnly;
        assert_eq!(gate.check_place(&bid, &view(&[]), 5_000_000), Err(Refusal::CancelOnly));
        gate.trading = TradingState::Disabled;
        assert_eq!(gate.check_place(&bid, &view(&[]), 5_000_000), Err(Refusal::TradingDisabled));
        assert_eq!(gate.refused(Refusal::Rate), 1);
    }
}
