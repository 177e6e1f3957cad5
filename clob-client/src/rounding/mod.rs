//! Order amounts (makerAmount, takerAmount in 1e-6 units) from price and size.
//!
//! Two modes: [`exact`] (the default, integer decimal arithmetic, agreeing with the official
//! Rust client) and [`python`], an opt-in mode that reproduces the official Python
//! client's binary floating point bit for bit, float surprises included, for users who need
//! order hashes identical to that client's.

pub mod exact;
pub mod python;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountSide {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Limit,
    /// For BUY the amount is collateral, for SELL shares; the price is the worst acceptable.
    Market,
}

/// (makerAmount, takerAmount) in 1e-6 units.
pub type Amounts = (u64, u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundingError {
    #[error("unsupported tick size {0:?}; expected 0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001")]
    UnknownTick(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("invalid price ({price}), min: {min} - max: {max}")]
    PriceOutOfRange { price: String, min: String, max: String },
    #[error("price {price} has more decimals than the tick {tick} ({decimals})")]
    PriceTooPrecise { price: String, tick: String, decimals: u32 },
    #[error("price {price} is not on the {tick} grid; nearest valid: {below} or {above}")]
    PriceOffTick { price: String, tick: String, below: String, above: String },
    #[error("size {0} rounds down to zero at 2 decimals")]
    SizeRoundsToZero(String),
    #[error("collateral amount {0} has more than 6 decimals")]
    AmountTooPrecise(String),
    #[error("the amount does not fit in 64 bits")]
    TooLarge,
}

/// A plain decimal (`"0.45"`, `".5"`, `"12"`) in units of 10^-6, as the CLOB's prices and sizes
/// are written; `None` for anything else, more than 6 decimals included.
pub fn micros(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if frac.len() > 6 || whole.is_empty() && frac.is_empty() || !digits(whole) || !digits(frac) {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac_value: u64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    whole.checked_mul(1_000_000)?.checked_add(frac_value * 10u64.pow(6 - frac.len() as u32))
}

#[cfg(test)]
mod micros_tests {
    use super::micros;

    #[test]
    fn plain_decimals_only() {
        assert_eq!(micros("0.5"), Some(500_000));
        assert_eq!(micros(".05"), Some(50_000));
        assert_eq!(micros("1"), Some(1_000_000));
        assert!(micros("0.1") < micros("0.10001"));
        for bad in ["abc", "0.1234567", "+5", "-1", "", ".", "1e3"] {
            assert_eq!(micros(bad), None, "{bad}");
        }
    }
}

/// The two ticks the CLOB added in 2026 (py-clob-client-v2 1.0.2, "support for CLOB tick sizes
/// 0.005 and 0.0025"): both modes take them, and both official-client fixture sets cover them.
#[cfg(test)]
mod new_tick_tests {
    use super::{AmountSide, OrderKind, exact, python};

    #[test]
    fn the_half_cent_and_quarter_cent_ticks_work_in_both_modes() {
        let cases = [
            ("0.005", "0.555", "21.04", (11_677_200, 21_040_000)),
            ("0.005", "0.005", "10", (50_000, 10_000_000)),
            ("0.0025", "0.5525", "10", (5_525_000, 10_000_000)),
            ("0.0025", "0.9975", "3", (2_992_500, 3_000_000)),
        ];
        for (tick, price, size, (maker, taker)) in cases {
            for (mode, result) in [
                ("exact", exact::amounts(OrderKind::Limit, AmountSide::Buy, tick, price, size)),
                ("python", python::amounts(OrderKind::Limit, AmountSide::Buy, tick, price, size)),
            ] {
                assert_eq!(result, Ok((maker, taker)), "{mode} BUY {size} @ {price} on {tick}");
            }
            let sell = exact::amounts(OrderKind::Limit, AmountSide::Sell, tick, price, size);
            assert_eq!(sell, Ok((taker, maker)), "SELL {size} @ {price} on {tick}");
        }
        // Off the grid: the exact mode refuses and names the neighbours.
        let off = exact::amounts(OrderKind::Limit, AmountSide::Buy, "0.0025", "0.5510", "1").expect_err("off grid");
        assert_eq!(off.to_string(), "price 0.551 is not on the 0.0025 grid; nearest valid: 0.55 or 0.5525");
        // The generated rows from both official clients include both ticks.
        for (name, text) in [
            ("python_amounts.json", include_str!("../../test_data/python_amounts.json")),
            ("rust_amounts.json", include_str!("../../test_data/rust_amounts.json")),
        ] {
            for tick in ["\"0.005\"", "\"0.0025\""] {
                let rows = text.lines().filter(|l| l.contains(&format!(",{tick},"))).count();
                assert!(rows > 1000, "{name} has {rows} rows on tick {tick}");
            }
        }
    }
}
