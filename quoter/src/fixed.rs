//! Prices and sizes as the market channel writes them (decimal strings), as integers: prices
//! in units of the finest tick the CLOB uses (0.0001), sizes in micro-shares (the CLOB's
//! amounts have six decimals). Parsing and writing never allocate.

/// Price units per 1.0 (a price unit is 0.0001, the finest tick size).
pub const PRICE_UNITS: u32 = 10_000;
/// Decimal places of a price unit.
pub const PRICE_DIGITS: u32 = 4;
/// Size units per share (micro-shares).
pub const SIZE_UNITS: u64 = 1_000_000;
/// Decimal places of a size unit.
pub const SIZE_DIGITS: u32 = 6;

/// `text` as an integer count of `10^-digits`; `None` unless it is a plain non-negative
/// decimal (digits, at most one point) with no more significant fraction digits than
/// `digits` and no overflow. Trailing zeros past `digits` are accepted ("0.480000").
pub fn parse_fixed(text: &[u8], digits: u32) -> Option<u64> {
    let mut value: u64 = 0;
    let mut fraction: Option<u32> = None;
    let mut any_digit = false;
    for &b in text {
        match b {
            b'0'..=b'9' => {
                any_digit = true;
                if let Some(f) = fraction.as_mut() {
                    if *f == digits {
                        if b == b'0' {
                            continue;
                        }
                        return None;
                    }
                    *f += 1;
                }
                value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            }
            b'.' if fraction.is_none() => fraction = Some(0),
            _ => return None,
        }
    }
    if !any_digit {
        return None;
    }
    value.checked_mul(10u64.checked_pow(digits - fraction.unwrap_or(0))?)
}

/// A price in price units; `None` when it is not a price in [0, 1] on the 0.0001 grid.
pub fn parse_price(text: &[u8]) -> Option<u32> {
    parse_fixed(text, PRICE_DIGITS).and_then(|p| u32::try_from(p).ok()).filter(|p| *p <= PRICE_UNITS)
}

/// A size in micro-shares.
pub fn parse_size(text: &[u8]) -> Option<u64> {
    parse_fixed(text, SIZE_DIGITS)
}

/// Appends `value` (a count of `10^-digits`) as the shortest decimal that reads back the same:
/// no trailing fraction zeros, no point for a whole number ("0.48", "30", "1234.5").
pub fn write_fixed(out: &mut String, value: u64, digits: u32) {
    let unit = 10u64.pow(digits);
    write_u64(out, value / unit);
    let mut fraction = value % unit;
    if fraction == 0 {
        return;
    }
    out.push('.');
    let mut width = digits;
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    for _ in 0..width {
        i -= 1;
        buf[i] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.extend(buf[i..].iter().map(|b| char::from(*b)));
}

/// Appends `value` in decimal.
pub fn write_u64(out: &mut String, value: u64) {
    out.push_str(digits(value, &mut [0u8; 20]));
}

/// `value` in decimal, written into `buf`.
pub fn digits(mut value: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_exactly_or_not_at_all() {
        assert_eq!(parse_price(b"0.48"), Some(4_800));
        assert_eq!(parse_price(b".5"), Some(5_000));
        assert_eq!(parse_price(b"1"), Some(10_000));
        assert_eq!(parse_price(b"0.0001"), Some(1));
        assert_eq!(parse_price(b"0.480000"), Some(4_800), "zeros past the grid are the same price");
        assert_eq!(parse_price(b"0.00005"), None, "off the 0.0001 grid");
        assert_eq!(parse_price(b"1.01"), None, "above 1");
        assert_eq!(parse_price(b""), None);
        assert_eq!(parse_price(b"."), None);
        assert_eq!(parse_price(b"-0.1"), None);
        assert_eq!(parse_price(b"0.1.2"), None);
        assert_eq!(parse_price(b"1e-2"), None);
        assert_eq!(parse_size(b"219.217767"), Some(219_217_767));
        assert_eq!(parse_size(b"30"), Some(30_000_000));
        assert_eq!(parse_size(b"0.0000001"), None);
        assert_eq!(parse_size(b"99999999999999999999"), None, "overflow");
    }

    #[test]
    fn writing_is_the_shortest_decimal_that_reads_back() {
        let mut out = String::new();
        for (value, digits, text) in [
            (4_800, 4, "0.48"),
            (10_000, 4, "1"),
            (1, 4, "0.0001"),
            (0, 4, "0"),
            (30_000_000, 6, "30"),
            (1_234_500_000, 6, "1234.5"),
        ] {
            out.clear();
            write_fixed(&mut out, value, digits);
            assert_eq!(out, text);
            assert_eq!(parse_fixed(out.as_bytes(), digits), Some(value));
        }
        assert_eq!(super::digits(0, &mut [0; 20]), "0");
        assert_eq!(super::digits(u64::MAX, &mut [0; 20]), "18446744073709551615");
    }
}
