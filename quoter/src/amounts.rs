//! A quote's order amounts in integers, by the rules of `clob-client`'s default `exact`
//! mode (the official Rust client's): the price on the tick grid within [tick, 1 − tick],
//! the size in whole lots of 0.01 shares, and price × size exact in micro-units.
//!
//! With prices in 0.0001 units and sizes in micro-shares the rules need no decimals: `lots`
//! hundredths of a share at `price` ten-thousandths cost `lots × price` micro-units of
//! collateral, and are `lots × 10_000` micro-shares. The quoter refuses a size that is not
//! whole lots rather than truncate it, so the size it believes resting is the size sent.

use crate::fixed::PRICE_UNITS;
use crate::frame::Side;
use crate::strategy::Quote;

/// Micro-shares per lot (0.01 share, the CLOB's size precision).
pub const LOT_MICROS: u64 = 10_000;

/// The tick sizes the CLOB uses, in price units.
pub const TICKS: [u32; 6] = [1_000, 100, 50, 25, 10, 1];

/// `makerAmount` and `takerAmount` in micro-units: collateral and shares, in the order the
/// side gives (a BUY makes collateral and takes shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    pub maker: u64,
    pub taker: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("tick {0} (0.0001 units) is not one of the CLOB's tick sizes")]
    UnknownTick(u32),
    #[error("price {price} (0.0001 units) is not on the {tick} grid within [tick, 1 - tick]")]
    Price { price: u32, tick: u32 },
    #[error("size {0} micro-shares is not a positive whole number of 0.01-share lots")]
    Size(u64),
}

/// The amounts of a limit order for `quote` on a book with tick `tick` (price units).
pub fn limit_amounts(quote: &Quote, tick: u32) -> Result<Amounts, AmountError> {
    if !TICKS.contains(&tick) {
        return Err(AmountError::UnknownTick(tick));
    }
    let price = quote.price;
    if price < tick || price > PRICE_UNITS - tick || !price.is_multiple_of(tick) {
        return Err(AmountError::Price { price, tick });
    }
    if quote.size == 0 || !quote.size.is_multiple_of(LOT_MICROS) {
        return Err(AmountError::Size(quote.size));
    }
    let lots = quote.size / LOT_MICROS;
    // Cannot overflow: lots ≤ u64::MAX / 10^4 and price < 10^4.
    let collateral = lots.saturating_mul(u64::from(price));
    let shares = quote.size;
    Ok(match quote.side {
        Side::Buy => Amounts { maker: collateral, taker: shares },
        Side::Sell => Amounts { maker: shares, taker: collateral },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_clob_client::rounding::{AmountSide, OrderKind, exact};

    fn decimal(units: u64, digits: u32) -> String {
        let p = 10u64.pow(digits);
        let frac = format!("{:0w$}", units % p, w = digits as usize);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() { format!("{}", units / p) } else { format!("{}.{frac}", units / p) }
    }

    fn tick_text(tick: u32) -> String {
        decimal(u64::from(tick), 4)
    }

    /// Every tick, prices across the grid and sizes from one lot to millions of shares:
    /// the same amounts as `clob-client`'s `exact` mode, given the same decimals as text.
    #[test]
    fn agrees_with_the_exact_mode_of_clob_client() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut checked = 0;
        for tick in TICKS {
            for _ in 0..2_000 {
                let steps = PRICE_UNITS / tick - 1;
                let price = tick * (1 + (next() % u64::from(steps)) as u32);
                let size = LOT_MICROS * (1 + next() % 500_000_000);
                for side in [Side::Buy, Side::Sell] {
                    let ours = limit_amounts(&Quote { side, price, size }, tick).expect("amounts");
                    let amount_side = if side == Side::Buy { AmountSide::Buy } else { AmountSide::Sell };
                    let theirs = exact::amounts(
                        OrderKind::Limit,
                        amount_side,
                        &tick_text(tick),
                        &decimal(u64::from(price), 4),
                        &decimal(size, 6),
                    )
                    .expect("clob-client builds it");
                    assert_eq!((ours.maker, ours.taker), theirs, "tick {tick} price {price} size {size} {side:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 24_000);
    }

    #[test]
    fn refuses_what_the_venue_would_refuse_or_round() {
        let q = |price, size| Quote { side: Side::Buy, price, size };
        assert_eq!(limit_amounts(&q(5_000, 1_000_000), 200), Err(AmountError::UnknownTick(200)));
        assert_eq!(limit_amounts(&q(5_050, 1_000_000), 100), Err(AmountError::Price { price: 5_050, tick: 100 }));
        assert_eq!(limit_amounts(&q(0, 1_000_000), 100), Err(AmountError::Price { price: 0, tick: 100 }));
        assert_eq!(limit_amounts(&q(9_950, 1_000_000), 100), Err(AmountError::Price { price: 9_950, tick: 100 }));
        assert_eq!(limit_amounts(&q(9_900, 1_000_000), 100), Ok(Amounts { maker: 990_000, taker: 1_000_000 }));
        assert_eq!(limit_amounts(&q(5_000, 1_005_000), 100), Err(AmountError::Size(1_005_000)), "half a lot");
        assert_eq!(limit_amounts(&q(5_000, 0), 100), Err(AmountError::Size(0)));
        // The largest size at the highest price still fits: lots ≤ 2^64 / 10^4 and price < 10^4.
        let most = u64::MAX / 10_000 * 10_000;
        assert_eq!(limit_amounts(&q(9_999, most), 1), Ok(Amounts { maker: most / 10_000 * 9_999, taker: most }));
    }
}
