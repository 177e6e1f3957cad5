//! A JSON number's text to integer micro-units, exactly: feeds send prices as JSON numbers
//! (`67187.33`, `1.2e-5`), and reading them as `f64` would move the last digits. Digits past
//! the sixth decimal are cut (toward zero), so a tick never claims precision the unit lacks.

/// The micro-units of a non-negative JSON number; `Err` says why the text is not a price.
pub fn micros(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a non-negative decimal number");
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => {
            let exp = &text[at + 1..];
            let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            (&text[..at], exp.parse::<i32>().map_err(|_| bad())?)
        }
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) || (mantissa.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    // value = digits × 10^(exponent − frac.len()); in micro-units, × 10^6 more.
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let frac_len = i32::try_from(frac.len()).map_err(|_| bad())?;
    let shift = exponent + 6 - frac_len;
    let too_large = || format!("{text} is too large for a price");
    if digits.is_empty() {
        return Ok(0);
    }
    if shift >= 0 {
        if digits.len() + usize::try_from(shift).map_err(|_| too_large())? > 20 {
            return Err(too_large());
        }
        let mut value: u64 = digits.parse().map_err(|_| too_large())?;
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or_else(too_large)?;
        }
        Ok(value)
    } else {
        let cut = usize::try_from(-shift).map_err(|_| bad())?;
        if cut >= digits.len() {
            return Ok(0);
        }
        let kept = &digits[..digits.len() - cut];
        if kept.len() > 20 {
            return Err(too_large());
        }
        kept.parse().map_err(|_| too_large())
    }
}

#[cfg(test)]
mod tests {
    use super::micros;

    #[test]
    fn prices_are_exact_micro_units() {
        let cases = [
            ("67187.33", 67_187_330_000),
            ("0", 0),
            ("0.000001", 1),
            ("1", 1_000_000),
            ("6.718733e4", 67_187_330_000),
            ("6.718733E+4", 67_187_330_000),
            ("1.5e-5", 15),
            ("12e0", 12_000_000),
            ("0.1234567", 123_456),
            ("0.9999999", 999_999),
            ("1e-7", 0),
            ("00012.5", 12_500_000),
            ("18446744073709.551615", u64::MAX),
        ];
        for (text, want) in cases {
            assert_eq!(micros(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "-1",
            "1.",
            ".5",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            "0x10",
            "1e99999",
            "NaN",
            "\"1\"",
            "18446744073709.551616",
            "1e20",
        ] {
            assert!(micros(text).is_err(), "{text} accepted: {:?}", micros(text));
        }
    }
}
