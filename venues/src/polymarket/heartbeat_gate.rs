//! The CLOB heartbeat as a gate on new orders. While the heartbeat is not known to be alive
//! the CLOB may cancel every open order of the account at any moment (10 s after the last
//! accepted beat), so placing more would send money into orders that can vanish unseen: new
//! Polymarket orders are refused with 503 `venue_heartbeat_lost` (cancels still pass) from
//! start-up until the first accepted beat, and again from the moment a beat is rejected or the
//! deadline is at risk until a fresh beat is accepted. `/ready` and
//! `kairos_polymarket_heartbeat_alive` show the state.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct HeartbeatGate {
    alive: AtomicBool,
    /// Why it was last closed, for `/ready`.
    why: Mutex<Option<String>>,
}

impl HeartbeatGate {
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Why new orders are held, while they are.
    pub fn why_closed(&self) -> Option<String> {
        if self.is_alive() {
            return None;
        }
        let why = self.why.lock().ok().and_then(|w| w.clone());
        Some(why.unwrap_or_else(|| "no CLOB heartbeat accepted yet".into()))
    }

    /// The CLOB accepted a beat: orders may go again.
    pub fn accepted(&self) {
        if !self.alive.swap(true, Ordering::AcqRel) {
            tracing::info!("the CLOB accepted a heartbeat: Polymarket orders are accepted");
        }
        metrics::gauge!("kairos_polymarket_heartbeat_alive").set(1.0);
    }

    /// A beat was rejected or the deadline is at risk: no new orders until the next accepted beat.
    pub fn lost(&self, why: &str) {
        if let Ok(mut last) = self.why.lock()
            && last.as_deref() != Some(why)
        {
            *last = Some(why.to_string());
        }
        if self.alive.swap(false, Ordering::AcqRel) {
            metrics::counter!("kairos_polymarket_heartbeat_lost_total").increment(1);
            tracing::error!(%why, "the CLOB heartbeat is lost: new Polymarket orders are refused until a beat is accepted");
        }
        metrics::gauge!("kairos_polymarket_heartbeat_alive").set(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_until_a_beat_is_accepted_and_again_once_lost() {
        let gate = HeartbeatGate::default();
        assert!(!gate.is_alive(), "no order before the first accepted beat");
        gate.accepted();
        assert!(gate.is_alive());
        gate.lost("rejected");
        assert!(!gate.is_alive());
        assert_eq!(gate.why_closed().as_deref(), Some("rejected"));
        gate.lost("at risk");
        assert!(!gate.is_alive());
        gate.accepted();
        assert!(gate.is_alive());
        assert_eq!(gate.why_closed(), None);
    }
}
