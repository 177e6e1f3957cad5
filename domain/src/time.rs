//! Wall-clock time as UTC epoch microseconds (`*_us`), the unit the database stores.
//! Latency is measured with `std::time::Instant`, never with these.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, in UTC epoch microseconds.
pub fn now_us() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

/// `2026-11-29T18:00:00.000001Z`; what the API shows for a `*_us` value.
pub fn format_rfc3339_us(us: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| us.to_string())
}

/// Parses an RFC 3339 time (any offset) into UTC epoch microseconds.
pub fn parse_rfc3339_us(input: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(input, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000).ok()
}

/// Whether `timestamp_ms` is within `window` of `now_ms` either way: the freshness test of
/// signed requests, between instances and from clients. Hostile timestamps cannot overflow it.
pub fn within_window(timestamp_ms: i64, now_ms: i64, window: std::time::Duration) -> bool {
    let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    now_ms.abs_diff(timestamp_ms) <= window
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339() {
        let us = parse_rfc3339_us("2026-11-29T18:00:00.000001Z").expect("parse");
        assert_eq!(us, 1_795_975_200_000_001);
        assert_eq!(format_rfc3339_us(us), "2026-11-29T18:00:00.000001Z");
        assert_eq!(parse_rfc3339_us("2026-11-29T19:00:00+01:00"), parse_rfc3339_us("2026-11-29T18:00:00Z"));
        assert_eq!(parse_rfc3339_us("yesterday"), None);
    }
}
