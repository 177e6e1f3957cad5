//! The `python` rounding mode: py-clob-client-v2 1.2.x's amounts, reproduced bit for bit.
//!
//! This is the one place Kairos computes money in `f64`, on purpose: the Python client does,
//! and a user who needs its exact order hashes needs its exact floats. Its traps, kept here:
//! `round_down` is `floor(x * 10^d) / 10^d` with no guard, so `floor(0.29 * 100)` is 28 and a
//! size of 2603.7 is signed as 2603.69; `round` is half-to-even on the binary value; digit
//! counting follows Python's shortest `repr` (`21040000.0` has one decimal place).

use super::{AmountSide, Amounts, OrderKind, RoundingError};

/// (price, size, amount) decimal places by tick size, as the official clients configure them.
fn config(tick: &str) -> Result<(i32, i32, i32), RoundingError> {
    Ok(match tick {
        "0.1" => (1, 2, 3),
        "0.01" => (2, 2, 4),
        "0.005" => (3, 2, 5),
        "0.0025" => (4, 2, 6),
        "0.001" => (3, 2, 5),
        "0.0001" => (4, 2, 6),
        other => return Err(RoundingError::UnknownTick(other.to_string())),
    })
}

/// Exact powers of ten as Python's `10**d` (an int, converted exactly when multiplied).
fn pow10(d: i32) -> f64 {
    const P: [f64; 12] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11];
    usize::try_from(d).ok().and_then(|i| P.get(i).copied()).unwrap_or(f64::NAN)
}

fn round_down(x: f64, d: i32) -> f64 {
    (x * pow10(d)).floor() / pow10(d)
}

fn round_up(x: f64, d: i32) -> f64 {
    (x * pow10(d)).ceil() / pow10(d)
}

fn round_normal(x: f64, d: i32) -> f64 {
    (x * pow10(d)).round_ties_even() / pow10(d)
}

/// `abs(Decimal(str(x)).as_tuple().exponent)`: the decimal places of Python's shortest repr.
pub fn decimal_places(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 1;
    }
    // Shortest round-trip digits, as `d.ddde±N`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits = mantissa.chars().filter(char::is_ascii_digit).count();
    let exp: i32 = exp.parse().unwrap_or(0);
    let exponent = exp - i32::try_from(digits).unwrap_or(1) + 1;
    let plain = (1e-4..1e16).contains(&x.abs());
    if plain && exponent >= 0 {
        // repr prints an integral float with ".0".
        1
    } else {
        exponent.abs()
    }
}

fn to_token_decimals(x: f64) -> u64 {
    // decimal_places(f) > 0 always holds for a float, so the value is always rounded.
    let f = (1e6 * x).round_ties_even();
    if f <= 0.0 { 0 } else { f as u64 }
}

/// The up-then-down fix-up the client applies to the price × size product.
fn fix_up(x: f64, amount_places: i32) -> f64 {
    if decimal_places(x) <= amount_places {
        return x;
    }
    let x = round_up(x, amount_places + 4);
    if decimal_places(x) > amount_places { round_down(x, amount_places) } else { x }
}

fn parse(text: &str) -> Result<f64, RoundingError> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| RoundingError::NotANumber(text.to_string()))
}

/// Amounts as py-clob-client-v2 1.2.x computes them. `price` is the limit price (limit) or the
/// worst price (market); `size_or_amount` is the size in shares, or for a market BUY the
/// collateral to spend.
pub fn amounts(
    kind: OrderKind,
    side: AmountSide,
    tick: &str,
    price: &str,
    size_or_amount: &str,
) -> Result<Amounts, RoundingError> {
    let (price_places, size_places, amount_places) = config(tick)?;
    let t = parse(tick)?;
    let price = parse(price)?;
    let size = parse(size_or_amount)?;
    if !(t..=1.0 - t).contains(&price) {
        return Err(RoundingError::PriceOutOfRange {
            price: format!("{price}"),
            min: format!("{t}"),
            max: format!("{}", 1.0 - t),
        });
    }
    let (maker, taker) = match kind {
        OrderKind::Limit => {
            // The client rounds the price once in create_order and again in the builder.
            let p = round_normal(round_normal(price, price_places), price_places);
            match side {
                AmountSide::Buy => {
                    let taker = round_down(size, size_places);
                    (fix_up(taker * p, amount_places), taker)
                }
                AmountSide::Sell => {
                    let maker = round_down(size, size_places);
                    (maker, fix_up(maker * p, amount_places))
                }
            }
        }
        OrderKind::Market => {
            let p = round_down(price, price_places);
            let maker = round_down(size, size_places);
            let taker = match side {
                AmountSide::Buy => maker / p,
                AmountSide::Sell => maker * p,
            };
            (maker, fix_up(taker, amount_places))
        }
    };
    Ok((to_token_decimals(maker), to_token_decimals(taker)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_python_clients_float_surprises() {
        // 2603.7 is signed as 2603.69 (floor(260369.99999999997)).
        let (maker, taker) = amounts(OrderKind::Limit, AmountSide::Sell, "0.01", "0.5", "2603.7").expect("amounts");
        assert_eq!(maker, 2_603_690_000);
        assert_eq!(taker, 1_301_845_000);
        // A market order at 0.29 on tick 0.01 is priced at 0.28.
        let (_, taker) = amounts(OrderKind::Market, AmountSide::Sell, "0.01", "0.29", "100").expect("amounts");
        assert_eq!(taker, 28_000_000);
        assert_eq!(decimal_places(21_040_000.0), 1);
        assert_eq!(decimal_places(949.997_099_999_999_9), 13);
        assert_eq!(decimal_places(1e-7), 7);
        assert!(amounts(OrderKind::Limit, AmountSide::Buy, "0.02", "0.5", "1").is_err());
        assert!(amounts(OrderKind::Limit, AmountSide::Buy, "0.01", "1", "1").is_err());
    }

    /// Every row the generator (`fixtures/gen_python_amounts.py`) made with the official
    /// client: 6 ticks × sampled on-tick prices × 13 sizes × both sides × limit and market.
    #[test]
    fn reproduces_the_official_python_client_on_every_generated_row() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../../test_data/python_amounts.json")).expect("json");
        let rows = file["rows"].as_array().expect("rows");
        assert!(rows.len() > 10_000);
        let mut mismatches = Vec::new();
        for row in rows {
            let col = |i: usize| row[i].as_str().expect("string");
            let kind = if col(0) == "limit" { OrderKind::Limit } else { OrderKind::Market };
            let side = if col(1) == "BUY" { AmountSide::Buy } else { AmountSide::Sell };
            let expected: Amounts = (col(5).parse().expect("maker"), col(6).parse().expect("taker"));
            let got = amounts(kind, side, col(2), col(3), col(4)).expect("amounts");
            if got != expected {
                mismatches.push(format!("{row}: got {got:?}"));
            }
        }
        assert!(mismatches.is_empty(), "{} mismatches, first: {:?}", mismatches.len(), mismatches.first());
    }
}
