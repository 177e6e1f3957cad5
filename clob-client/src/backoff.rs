//! Jittered exponential backoff, shared by the websocket reconnects and the heartbeat retries.

use std::time::Duration;

/// `min · 2^attempt`, capped at `max`, times a random factor in [0.5, 1] so clients that failed
/// together do not retry together.
pub(crate) fn jittered(attempt: u32, min: Duration, max: Duration) -> Duration {
    let base = min.saturating_mul(1u32 << attempt.min(16)).min(max);
    base.mul_f64(rand::random_range(0.5..=1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_its_cap_with_jitter() {
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for attempt in 0..20 {
            let d = jittered(attempt, min, max);
            let base = min.saturating_mul(1 << attempt.min(16)).min(max);
            assert!(d >= base / 2 && d <= base, "{attempt}: {d:?}");
        }
    }
}
