//! The simulated feed of dev and tests: per symbol, a random walk seeded from the configured
//! seed and the symbol, so a restart with the same seed replays the same prices. Each quote is
//! one step of at most ±0.2 %; every quote says `source: "simulated"`, and staging/prod refuse
//! to configure it (`KAIROS_FLASH__PRICE_FEED=simulated`).

use std::collections::HashMap;
use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use super::Quote;

pub struct SimulatedFeed {
    seed: u64,
    walks: Mutex<HashMap<String, (u64, StdRng)>>,
}

impl std::fmt::Debug for SimulatedFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedFeed").field("seed", &self.seed).finish_non_exhaustive()
    }
}

impl SimulatedFeed {
    pub fn new(seed: u64) -> Self {
        Self { seed, walks: Mutex::new(HashMap::new()) }
    }

    /// The walk's next price for `symbol`, observed now.
    pub fn quote(&self, symbol: &str) -> Quote {
        let mut walks = self.walks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (price, rng) = walks.entry(symbol.to_string()).or_insert_with(|| {
            let symbol_seed =
                symbol.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            let mut rng = StdRng::seed_from_u64(self.seed ^ symbol_seed);
            // Somewhere between 1 and 100,000 units to start.
            let start = rng.random_range(1_000_000..=100_000_000_000_u64);
            (start, rng)
        });
        let step_bps: i64 = rng.random_range(-20..=20);
        let delta = i128::from(*price) * i128::from(step_bps) / 10_000;
        *price = u64::try_from((i128::from(*price) + delta).max(1)).unwrap_or(u64::MAX);
        Quote {
            symbol: symbol.to_string(),
            price_micros: *price,
            observed_at_us: kairos_domain::now_us(),
            source: "simulated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SimulatedFeed;

    #[test]
    fn a_seed_replays_its_walk_and_symbols_walk_apart() {
        let walk = |seed, symbol| {
            let feed = SimulatedFeed::new(seed);
            (0..50).map(|_| feed.quote(symbol).price_micros).collect::<Vec<_>>()
        };
        assert_eq!(walk(7, "bitcoin"), walk(7, "bitcoin"));
        assert_ne!(walk(7, "bitcoin"), walk(8, "bitcoin"));
        assert_ne!(walk(7, "bitcoin"), walk(7, "ethereum"));
        let prices = walk(7, "bitcoin");
        assert!(prices.windows(2).any(|w| w[0] != w[1]), "the price moves");
        for w in prices.windows(2) {
            let change = (i128::from(w[1]) - i128::from(w[0])).abs() * 10_000 / i128::from(w[0]);
            assert!(change <= 20, "a step of at most 0.2 %: {w:?}");
        }
        assert_eq!(SimulatedFeed::new(1).quote("bitcoin").source, "simulated");
    }
}
