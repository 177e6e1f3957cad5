//! The two clocks an order needs and the salts that make each order unique.
//!
//! - [`ServerClock`]: the venue's wall clock, as ours plus a measured offset. Orders and the
//!   L2 headers carry timestamps the venue checks against its own clock, so a drifting host
//!   clock must not make them stale.
//! - [`Salts`]: a fresh salt per order without a system call: SplitMix64 from a seed taken once
//!   from the operating system. Salts need to be unique, not secret (the signature is the
//!   secret part); JSON-safe like the official clients' (below 2^53).

use std::time::{SystemTime, UNIX_EPOCH};

/// Our wall clock shifted by the offset last measured against the venue (`GET /time`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerClock {
    offset_ms: i64,
}

impl ServerClock {
    /// `offset_ms` = the venue's time minus ours.
    pub fn with_offset_ms(offset_ms: i64) -> Self {
        Self { offset_ms }
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// The venue's time now, in milliseconds since the epoch.
    pub fn now_ms(&self) -> u64 {
        let ours = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let ours = i64::try_from(ours).unwrap_or(i64::MAX);
        u64::try_from(ours.saturating_add(self.offset_ms)).unwrap_or(0)
    }
}

/// Unique salts below 2^53.
#[derive(Debug, Clone)]
pub struct Salts {
    state: u64,
}

impl Salts {
    pub fn from_seed(seed: u64) -> Self {
        Self { state: seed }
    }

    /// Seeded from the operating system's randomness, so two quoters (or one restarted) do not
    /// repeat each other's salts.
    pub fn from_entropy() -> Self {
        Self::from_seed(rand_seed())
    }

    pub fn next_salt(&mut self) -> u64 {
        // SplitMix64: a bijection of the counter, so no salt repeats within 2^64 draws before
        // the shift; the shift keeps 53 bits, where repeats are a birthday bound (about one in
        // 2^26 orders' worth of a quoter's life, and a repeat only matters within one market
        // second, where the timestamp is equal too).
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) >> 11
    }
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // `RandomState` is keyed from the operating system's randomness once per process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_json_safe_and_distinct_and_the_clock_applies_its_offset() {
        let mut salts = Salts::from_seed(7);
        let drawn: std::collections::HashSet<u64> = (0..100_000).map(|_| salts.next_salt()).collect();
        assert_eq!(drawn.len(), 100_000);
        assert!(drawn.iter().all(|s| *s < 1 << 53));
        assert_ne!(Salts::from_entropy().next_salt(), Salts::from_entropy().next_salt());
        let ours = ServerClock::default().now_ms();
        let ahead = ServerClock::with_offset_ms(60_000).now_ms();
        assert!((59_000..=61_000).contains(&(ahead - ours)), "{ours} {ahead}");
    }
}
