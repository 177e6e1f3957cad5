//! Exact decimal amounts in micro-units (1e-6), typed by what they count: [`Price`] (micro-units
//! of collateral per share), [`Size`] (micro-shares) and [`Collateral`] (micro-USDC). A price
//! passed where a size belongs does not compile; [`notional`] is the one product of the two.
//! Never through a float.

use std::fmt::Write as _;

pub const MICROS_PER_UNIT: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a decimal number")]
    NotADecimal(String),
    #[error("{0:?} has more than 6 decimal places")]
    TooPrecise(String),
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// An amount that would leave `i64`: always an error, never a saturated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the amount is beyond the representable range")]
pub struct Overflow;

/// An `i64` count of micro-units with a meaning. Sums and differences stay in the type; the
/// count leaves it only through `micros()` (for storage and wire formats), and comes in only
/// through `from_micros` or `parse`.
macro_rules! micro_amount {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const ZERO: $name = $name(0);

            pub const fn from_micros(micros: i64) -> $name {
                $name(micros)
            }

            pub const fn micros(self) -> i64 {
                self.0
            }

            /// An exact decimal (`"0.55"`), refused beyond six decimals or outside `i64`.
            pub fn parse(text: &str) -> Result<$name, MoneyError> {
                parse_micros(text).map($name)
            }

            pub fn checked_add(self, other: $name) -> Option<$name> {
                self.0.checked_add(other.0).map($name)
            }

            pub fn checked_sub(self, other: $name) -> Option<$name> {
                self.0.checked_sub(other.0).map($name)
            }

            pub const fn is_positive(self) -> bool {
                self.0 > 0
            }

            pub const fn abs(self) -> $name {
                $name(self.0.abs())
            }
        }

        /// The shortest exact decimal: `0.01`, `1`, `-0.000001`.
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&format_micros(self.0))
            }
        }

        impl std::ops::Add for $name {
            type Output = $name;
            fn add(self, other: $name) -> $name {
                $name(self.0 + other.0)
            }
        }

        impl std::ops::Sub for $name {
            type Output = $name;
            fn sub(self, other: $name) -> $name {
                $name(self.0 - other.0)
            }
        }

        impl std::ops::AddAssign for $name {
            fn add_assign(&mut self, other: $name) {
                self.0 += other.0;
            }
        }

        impl std::ops::SubAssign for $name {
            fn sub_assign(&mut self, other: $name) {
                self.0 -= other.0;
            }
        }

        impl std::ops::Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                $name(-self.0)
            }
        }

        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = $name>>(iter: I) -> $name {
                $name(iter.map(|a| a.0).sum())
            }
        }
    };
}

micro_amount!(
    /// A price: micro-units of collateral per share (`500_000` = 0.50). Binary-market prices lie
    /// in (0, 1); a tick size is a price too.
    Price
);

micro_amount!(
    /// A number of shares in micro-shares (`1_000_000` = one share).
    Size
);

micro_amount!(
    /// An amount of collateral in micro-USDC (`1_000_000` = 1 USDC): balances, notionals, fees.
    Collateral
);

/// Collateral for `size` shares at `price`, rounded down: the one place a notional is
/// computed. Exact when the size is a multiple of the market's size lot
/// ([`crate::risk::size_lot`]).
pub fn notional(price: Price, size: Size) -> Result<Collateral, Overflow> {
    let n = i128::from(price.0) * i128::from(size.0) / i128::from(MICROS_PER_UNIT);
    i64::try_from(n).map(Collateral).map_err(|_| Overflow)
}

/// A fee of `bps` basis points of a notional, rounded down: the fees of an order's fills then
/// never add up to more than the fee reserved for the whole order.
pub fn fee(notional: Collateral, bps: i64) -> Result<Collateral, Overflow> {
    let f = i128::from(notional.0) * i128::from(bps) / 10_000;
    i64::try_from(f).map(Collateral).map_err(|_| Overflow)
}

/// Parses `"12.5"`, `"-0.000001"`, `"3"` into micro-units. Refuses exponents, more than six
/// decimals, signs other than a leading `-`, and values outside `i64`.
pub fn parse_micros(input: &str) -> Result<i64, MoneyError> {
    let s = input.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() && frac_part.is_empty()
        || !all_digits(int_part)
        || !all_digits(frac_part)
        || (digits.contains('.') && (int_part.is_empty() || frac_part.is_empty()))
    {
        return Err(MoneyError::NotADecimal(input.to_string()));
    }
    if frac_part.len() > 6 {
        return Err(MoneyError::TooPrecise(input.to_string()));
    }
    let out_of_range = || MoneyError::OutOfRange(input.to_string());
    let int: i64 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| out_of_range())? };
    let mut frac: i64 = if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| out_of_range())? };
    for _ in frac_part.len()..6 {
        frac *= 10;
    }
    let magnitude = int.checked_mul(MICROS_PER_UNIT).and_then(|v| v.checked_add(frac)).ok_or_else(out_of_range)?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// Formats micro-units as the shortest exact decimal: `10_000` → `"0.01"`, `1_000_000` → `"1"`.
pub fn format_micros(micros: i64) -> String {
    let mut out = String::new();
    if micros < 0 {
        out.push('-');
    }
    let abs = micros.unsigned_abs();
    let unit = MICROS_PER_UNIT.unsigned_abs();
    let _ = write!(out, "{}", abs / unit);
    let frac = abs % unit;
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn notionals_and_fees_round_down_and_refuse_overflow() {
        use super::{Collateral as C, Overflow, Price as P, Size as S, fee, notional};
        assert_eq!(notional(P(290_000), S(10_000_000)), Ok(C(2_900_000)));
        assert_eq!(notional(P(333_333), S(3)), Ok(C(0)), "rounded down");
        assert_eq!(notional(P(1_000_000), S(i64::MAX)), Ok(C(i64::MAX)));
        assert_eq!(notional(P(2_000_000), S(i64::MAX)), Err(Overflow));
        assert_eq!(notional(P(-1_000_000), S(i64::MAX)), Ok(C(-i64::MAX)));
        assert_eq!(fee(C(2_900_000), 25), Ok(C(7_250)));
        assert_eq!(fee(C(399), 25), Ok(C(0)));
        assert_eq!(fee(C(i64::MAX), 20_000), Err(Overflow));
        assert_eq!(Price::parse("0.55").map(|p| p.to_string()), Ok("0.55".to_string()));
        assert_eq!(S(3) - S(5), S(-2));
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(parse_micros("0.01"), Ok(10_000));
        assert_eq!(parse_micros("1"), Ok(1_000_000));
        assert_eq!(parse_micros("2603.7"), Ok(2_603_700_000));
        assert_eq!(parse_micros("-0.000001"), Ok(-1));
        assert_eq!(parse_micros("0.0025"), Ok(2_500));
    }

    #[test]
    fn refuses_what_is_not_an_exact_decimal() {
        for bad in ["", ".", "1.", ".5", "1e3", "+1", "1,5", "0x10", "NaN", "--1", "1.2.3", " "] {
            assert!(matches!(parse_micros(bad), Err(MoneyError::NotADecimal(_))), "{bad:?}");
        }
        assert!(matches!(parse_micros("0.0000001"), Err(MoneyError::TooPrecise(_))));
        assert!(matches!(parse_micros("99999999999999999999"), Err(MoneyError::OutOfRange(_))));
    }

    #[test]
    fn formats_shortest_exact() {
        assert_eq!(format_micros(10_000), "0.01");
        assert_eq!(format_micros(1_000_000), "1");
        assert_eq!(format_micros(0), "0");
        assert_eq!(format_micros(-1), "-0.000001");
        assert_eq!(format_micros(i64::MIN), "-9223372036854.775808");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(m in (i64::MIN + 1)..=i64::MAX) {
            prop_assert_eq!(parse_micros(&format_micros(m)), Ok(m));
        }
    }
}
