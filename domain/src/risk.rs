//! Pre-trade checks: the kill switch, the market's status, and the order's price and size
//! against the market's tick and minimum (no account state); and the account limits (open
//! orders, the price band, collateral held in one market's open buys), which take the account's
//! state as each venue knows it ([`check_account`]: the paper exchange from its books, the
//! Polymarket venue from the database and the CLOB's midpoint). Pure functions, so the order
//! API, both venues and the tick-to-order hot path call the same code. Each refusal has its own
//! code. Balances are the ledger's.
//! Cancels are never refused here: nothing but authentication may block pulling quotes.

use crate::ErrorCode;
use crate::money::{Collateral, Price, Size};
use crate::{Hold, MarketStatus, TradingState};

/// What a request does, for the kill switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// A new order, or an amend that could add risk.
    Place,
    Cancel,
}

/// Why an order is refused. [`Rejection::kind`] says which HTTP answer it gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("trading is disabled by the operators")]
    TradingDisabled,
    #[error("trading is in cancel-only mode: only cancels are accepted")]
    CancelOnly,
    #[error("the market is {0}, not open")]
    MarketNotOpen(&'static str),
    #[error("price {0:?} is not a decimal number with at most 6 decimals")]
    InvalidPrice(String),
    #[error("price {price} is not a multiple of the tick {tick}; nearest valid: {below} or {above}")]
    PriceOffTick { price: String, tick: String, below: String, above: String },
    #[error("price {price} is outside [{min}, {max}]")]
    PriceOutOfRange { price: String, min: String, max: String },
    #[error("size {0:?} is not a positive decimal number with at most 6 decimals, at most 1000000 shares")]
    InvalidSize(String),
    #[error("size {size} is below the market's minimum {min}")]
    SizeBelowMinimum { size: String, min: String },
    #[error("size {size} is not a multiple of the market's size step {lot}")]
    SizeOffLot { size: String, lot: String },
    #[error("order notional {notional} is above the limit {max}")]
    NotionalTooLarge { notional: String, max: String },
}

/// The class of answer a rejection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// Cannot be parsed: 400.
    Malformed,
    /// Well-formed but a market rule refuses it: 422.
    Rule,
    /// Trading is stopped: 503.
    Unavailable,
}

impl Rejection {
    pub fn code(&self) -> ErrorCode {
        match self {
            Rejection::TradingDisabled => ErrorCode::TradingDisabled,
            Rejection::CancelOnly => ErrorCode::CancelOnly,
            Rejection::MarketNotOpen(_) => ErrorCode::MarketNotOpen,
            Rejection::InvalidPrice(_) => ErrorCode::InvalidPrice,
            Rejection::PriceOffTick { .. } => ErrorCode::PriceOffTick,
            Rejection::PriceOutOfRange { .. } => ErrorCode::PriceOutOfRange,
            Rejection::InvalidSize(_) => ErrorCode::InvalidSize,
            Rejection::SizeBelowMinimum { .. } => ErrorCode::SizeBelowMinimum,
            Rejection::SizeOffLot { .. } => ErrorCode::SizeOffLot,
            Rejection::NotionalTooLarge { .. } => ErrorCode::OrderNotionalTooLarge,
        }
    }

    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::TradingDisabled | Rejection::CancelOnly => RejectionKind::Unavailable,
            Rejection::InvalidPrice(_) | Rejection::InvalidSize(_) => RejectionKind::Malformed,
            _ => RejectionKind::Rule,
        }
    }
}

/// The kill switch. Cancels always pass.
pub fn check_trading(state: TradingState, action: OrderAction) -> Result<(), Rejection> {
    match (state, action) {
        (_, OrderAction::Cancel) | (TradingState::Enabled, OrderAction::Place) => Ok(()),
        (TradingState::CancelOnly, OrderAction::Place) => Err(Rejection::CancelOnly),
        (TradingState::Disabled, OrderAction::Place) => Err(Rejection::TradingDisabled),
    }
}

/// New orders need an open market (cancels are not checked).
pub fn check_market(status: MarketStatus) -> Result<(), Rejection> {
    match status {
        MarketStatus::Open => Ok(()),
        other => Err(Rejection::MarketNotOpen(other.as_str())),
    }
}

/// Parses a price and returns it in ticks: exact decimal, on the tick grid, within
/// [tick, 1 − tick].
pub fn price_ticks(text: &str, tick: Price) -> Result<u32, Rejection> {
    let price = Price::parse(text).map_err(|_| Rejection::InvalidPrice(text.to_string()))?;
    let one = Price::from_micros(crate::money::MICROS_PER_UNIT);
    let out_of_range = || Rejection::PriceOutOfRange {
        price: price.to_string(),
        min: tick.to_string(),
        max: (one - tick).to_string(),
    };
    if !tick.is_positive() || one.micros() % tick.micros() != 0 {
        return Err(out_of_range());
    }
    if price < tick || price > one - tick {
        return Err(out_of_range());
    }
    if price.micros() % tick.micros() != 0 {
        let below = Price::from_micros(price.micros().div_euclid(tick.micros()) * tick.micros());
        return Err(Rejection::PriceOffTick {
            price: price.to_string(),
            tick: tick.to_string(),
            below: below.max(tick).to_string(),
            above: Price::from_micros(below.micros().saturating_add(tick.micros())).min(one - tick).to_string(),
        });
    }
    u32::try_from(price.micros() / tick.micros()).map_err(|_| Rejection::InvalidPrice(text.to_string()))
}

/// The largest order (one million shares): far above any real order, and low enough that no
/// price level's volume can overflow.
pub const MAX_ORDER_SIZE: Size = Size::from_micros(1_000_000 * 1_000_000);

/// Parses a size in shares: at least the market's minimum and at most [`MAX_ORDER_SIZE`].
pub fn parse_size(text: &str, min_size: Size) -> Result<Size, Rejection> {
    let size = Size::parse(text).map_err(|_| Rejection::InvalidSize(text.to_string()))?;
    if !size.is_positive() || size > MAX_ORDER_SIZE {
        return Err(Rejection::InvalidSize(text.to_string()));
    }
    if size < min_size {
        return Err(Rejection::SizeBelowMinimum { size: size.to_string(), min: min_size.to_string() });
    }
    Ok(size)
}

/// The size step of a market: the smallest multiple of a micro-share for which every price on
/// the tick grid gives a whole number of collateral micro-units (0.0001 share for tick 0.01),
/// so no notional is ever rounded.
pub fn size_lot(tick: Price) -> Size {
    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let one = crate::money::MICROS_PER_UNIT;
    Size::from_micros(if tick.is_positive() { one / gcd(one, tick.micros()) } else { one })
}

pub fn check_lot(size: Size, tick: Price) -> Result<(), Rejection> {
    let lot = size_lot(tick);
    if size.micros() % lot.micros() != 0 {
        return Err(Rejection::SizeOffLot { size: size.to_string(), lot: lot.to_string() });
    }
    Ok(())
}

/// The order's notional (price × size) against the limit; zero means no limit.
pub fn check_notional(price: Price, size: Size, max: Collateral) -> Result<(), Rejection> {
    let notional = crate::money::notional(price, size).map_err(|_| Rejection::InvalidSize(size.to_string()))?;
    if max.is_positive() && notional > max {
        return Err(Rejection::NotionalTooLarge { notional: notional.to_string(), max: max.to_string() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: fn(i64) -> Price = Price::from_micros;
    const S: fn(i64) -> Size = Size::from_micros;
    const C: fn(i64) -> Collateral = Collateral::from_micros;

    #[test]
    fn the_kill_switch_never_blocks_cancels() {
        for state in [TradingState::Enabled, TradingState::CancelOnly, TradingState::Disabled] {
            assert_eq!(check_trading(state, OrderAction::Cancel), Ok(()));
        }
        assert_eq!(check_trading(TradingState::Enabled, OrderAction::Place), Ok(()));
        assert_eq!(check_trading(TradingState::CancelOnly, OrderAction::Place), Err(Rejection::CancelOnly));
        let refused = check_trading(TradingState::Disabled, OrderAction::Place).expect_err("disabled");
        assert_eq!((refused.code().as_str(), refused.kind()), ("trading_disabled", RejectionKind::Unavailable));
    }

    #[test]
    fn markets_must_be_open() {
        assert_eq!(check_market(MarketStatus::Open), Ok(()));
        assert_eq!(check_market(MarketStatus::Suspended).map_err(|e| e.code().as_str()), Err("market_not_open"));
    }

    #[test]
    fn prices_are_exact_and_on_the_grid() {
        assert_eq!(price_ticks("0.29", P(10_000)), Ok(29));
        assert_eq!(price_ticks("0.2925", P(2_500)), Ok(117));
        assert_eq!(price_ticks("0.01", P(10_000)), Ok(1));
        assert_eq!(price_ticks("0.99", P(10_000)), Ok(99));
        let off = price_ticks("0.295", P(10_000)).expect_err("off tick");
        assert_eq!(off.code().as_str(), "price_off_tick");
        assert_eq!(off.to_string(), "price 0.295 is not a multiple of the tick 0.01; nearest valid: 0.29 or 0.3");
        assert_eq!(off.kind(), RejectionKind::Rule);
        for out in ["0", "1", "1.5", "-0.01"] {
            assert_eq!(price_ticks(out, P(10_000)).map_err(|e| e.code().as_str()), Err("price_out_of_range"), "{out}");
        }
        for bad in ["", "abc", "0.1234567", "1e-2", "NaN"] {
            let e = price_ticks(bad, P(10_000)).expect_err("malformed");
            assert_eq!((e.code().as_str(), e.kind()), ("invalid_price", RejectionKind::Malformed), "{bad}");
        }
    }

    #[test]
    fn sizes_meet_the_minimum() {
        assert_eq!(parse_size("2603.7", S(1_000_000)), Ok(S(2_603_700_000)));
        assert_eq!(parse_size("0.5", S(1_000_000)).map_err(|e| e.code().as_str()), Err("size_below_minimum"));
        assert_eq!(parse_size("0", S(1)).map_err(|e| e.code().as_str()), Err("invalid_size"));
        assert_eq!(parse_size("-1", S(1)).map_err(|e| e.code().as_str()), Err("invalid_size"));
        assert_eq!(parse_size("1000000.000001", S(1)).map_err(|e| e.code().as_str()), Err("invalid_size"));
        assert_eq!(
            price_ticks("9223372036854.775807", P(10_000)).map_err(|e| e.code().as_str()),
            Err("price_out_of_range")
        );
    }

    #[test]
    fn sizes_step_by_the_lot_and_notionals_are_capped() {
        assert_eq!(size_lot(P(10_000)), S(100));
        assert_eq!(size_lot(P(1_000)), S(1_000));
        assert_eq!(check_lot(S(1_000_100), P(10_000)), Ok(()));
        assert_eq!(check_lot(S(1_000_050), P(10_000)).map_err(|e| e.code().as_str()), Err("size_off_lot"));
        assert_eq!(check_notional(P(500_000), S(2_000_000), C(1_000_000)), Ok(()));
        assert_eq!(
            check_notional(P(500_000), S(2_000_002), C(1_000_000)).map_err(|e| e.code().as_str()),
            Err("order_notional_too_large")
        );
        assert_eq!(check_notional(P(500_000), S(i64::MAX), C(0)), Ok(()), "0 is no limit");
    }

    proptest! {
        /// Every price on the grid parses back to its tick; no price off the grid does.
        #[test]
        fn grid_prices_round_trip(tick_index in 0usize..4, ticks in 1u32..10_000) {
            let tick = [100_000i64, 10_000, 1_000, 100][tick_index];
            let max = u32::try_from(1_000_000 / tick).expect("ticks") - 1;
            let t = ticks.min(max).max(1);
            let text = crate::format_micros(i64::from(t) * tick);
            prop_assert_eq!(price_ticks(&text, P(tick)), Ok(t));
            let off = crate::format_micros(i64::from(t) * tick + 1);
            prop_assert!(price_ticks(&off, P(tick)).is_err());
        }
    }
}

/// Limits that need the account's state; zero turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct AccountLimits {
    pub max_open_orders: u32,
    /// How far from the reference price a limit order may be.
    pub price_band: Price,
    /// Collateral a user may hold in open buys of one market.
    pub max_market_exposure: Collateral,
}

/// What the account holds now, as the venue knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountState {
    /// The account's live orders on this venue.
    pub open_orders: u32,
    /// What its open buys in the order's market hold.
    pub market_buys_held: Collateral,
    /// The market's reference price for the order's outcome (mid, else last trade), when known.
    pub reference_price: Option<Price>,
}

/// The order as it would stand after the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountOrder {
    pub is_limit: bool,
    pub price: Price,
    /// What it would hold: collateral for a buy, shares for a sell.
    pub hold: Hold,
    /// For an amend: what the resting order holds now (already counted, and replaced).
    pub replaces_hold: Option<Hold>,
}

/// The collateral part of a hold: only buys add to a market's exposure.
fn collateral_of(hold: Hold) -> Collateral {
    match hold {
        Hold::Collateral(c) => c,
        Hold::Shares(_) => Collateral::ZERO,
    }
}

/// Why the account limits refuse an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum LimitBreach {
    #[error("at most {0} open orders per account")]
    TooManyOpenOrders(u32),
    #[error("price is more than {band} from the reference price {reference}")]
    OutsidePriceBand { band: String, reference: String },
    #[error("open buys in this market would hold {would} collateral; the limit is {limit}")]
    ExposureLimit { would: String, limit: String },
}

impl LimitBreach {
    pub fn code(&self) -> ErrorCode {
        match self {
            LimitBreach::TooManyOpenOrders(_) => ErrorCode::TooManyOpenOrders,
            LimitBreach::OutsidePriceBand { .. } => ErrorCode::PriceOutsideBand,
            LimitBreach::ExposureLimit { .. } => ErrorCode::ExposureLimit,
        }
    }
}

/// The account limits, applied alike to a new order and to an amend (the order as it would
/// stand; an amend is not a new open order, and its own hold is replaced, not added).
pub fn check_account(limits: &AccountLimits, order: &AccountOrder, state: &AccountState) -> Result<(), LimitBreach> {
    let amend = order.replaces_hold.is_some();
    if !amend && limits.max_open_orders > 0 && state.open_orders >= limits.max_open_orders {
        return Err(LimitBreach::TooManyOpenOrders(limits.max_open_orders));
    }
    if limits.price_band.is_positive()
        && order.is_limit
        && let Some(reference) = state.reference_price
        && (order.price - reference).abs() > limits.price_band
    {
        return Err(LimitBreach::OutsidePriceBand {
            band: limits.price_band.to_string(),
            reference: reference.to_string(),
        });
    }
    if let Hold::Collateral(hold) = order.hold
        && limits.max_market_exposure.is_positive()
    {
        // Beyond i64 is beyond any limit: the breach then names the largest amount.
        let would = state
            .market_buys_held
            .checked_sub(order.replaces_hold.map(collateral_of).unwrap_or(Collateral::ZERO))
            .and_then(|held| held.checked_add(hold))
            .unwrap_or(Collateral::from_micros(i64::MAX));
        if would > limits.max_market_exposure {
            return Err(LimitBreach::ExposureLimit {
                would: would.to_string(),
                limit: limits.max_market_exposure.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod account_tests {
    use super::*;

    #[test]
    fn account_limits_treat_an_amend_as_the_order_it_would_become() {
        let c = |m| Hold::Collateral(Collateral::from_micros(m));
        let limits = AccountLimits {
            max_open_orders: 2,
            price_band: Price::from_micros(100_000),
            max_market_exposure: Collateral::from_micros(20_000_000),
        };
        let state = AccountState {
            open_orders: 2,
            market_buys_held: Collateral::from_micros(5_000_000),
            reference_price: Some(Price::from_micros(500_000)),
        };
        let new = AccountOrder { is_limit: true, price: Price::from_micros(500_000), hold: c(1), replaces_hold: None };
        assert_eq!(check_account(&limits, &new, &state), Err(LimitBreach::TooManyOpenOrders(2)));
        let amend = AccountOrder { replaces_hold: Some(c(5_000_000)), ..new };
        assert_eq!(check_account(&limits, &AccountOrder { hold: c(20_000_000), ..amend }, &state), Ok(()));
        assert!(matches!(
            check_account(&limits, &AccountOrder { hold: c(20_000_001), ..amend }, &state),
            Err(LimitBreach::ExposureLimit { .. })
        ));
        assert!(matches!(
            check_account(&limits, &AccountOrder { price: Price::from_micros(300_000), ..amend }, &state),
            Err(LimitBreach::OutsidePriceBand { .. })
        ));
        let no_reference = AccountState { reference_price: None, ..state };
        assert_eq!(
            check_account(&limits, &AccountOrder { price: Price::from_micros(10_000), ..amend }, &no_reference),
            Ok(())
        );
        let sell = AccountOrder { hold: Hold::Shares(Size::from_micros(1_000_000_000)), ..amend };
        assert_eq!(check_account(&limits, &sell, &state), Ok(()), "a sell holds shares, not collateral");
    }
}
