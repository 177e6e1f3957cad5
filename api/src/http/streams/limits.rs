//! What one principal may take of the streams: connections at once, the size of a message,
//! and how often a connection's credentials are checked again. Stream messages also spend the
//! principal's `read` budget, like REST reads (see [`super::session`]).

use kairos_platform::locks;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Open connections per principal (user or key) on one instance.
pub const MAX_CONNECTIONS_PER_PRINCIPAL: usize = 8;
/// The largest message or frame a client may send (subscriptions are a few hundred bytes).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How often an open connection's credentials are checked again (and at once when they change
/// on this instance: a revocation, a role change).
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// Open connections per principal.
#[derive(Debug, Default)]
pub struct Connections(Mutex<HashMap<String, usize>>);

/// One open connection; dropping it gives the slot back.
#[derive(Debug)]
pub struct Slot {
    connections: Arc<Connections>,
    principal: String,
}

impl Connections {
    /// A slot for one more connection of `principal`, or `None` at the cap.
    pub fn open(self: &Arc<Self>, principal: &str) -> Option<Slot> {
        let mut open = locks::lock(&self.0);
        let n = open.entry(principal.to_string()).or_default();
        if *n >= MAX_CONNECTIONS_PER_PRINCIPAL {
            return None;
        }
        *n += 1;
        Some(Slot { connections: self.clone(), principal: principal.to_string() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = locks::lock(&self.connections.0);
        if let Some(n) = open.get_mut(&self.principal) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.principal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_capped_per_principal_and_given_back() {
        let c = Arc::new(Connections::default());
        let slots: Vec<Slot> = (0..MAX_CONNECTIONS_PER_PRINCIPAL).filter_map(|_| c.open("k1")).collect();
        assert_eq!(slots.len(), MAX_CONNECTIONS_PER_PRINCIPAL);
        assert!(c.open("k1").is_none());
        assert!(c.open("k2").is_some(), "per principal");
        drop(slots);
        assert!(c.open("k1").is_some(), "closed connections give their slot back");
    }
}
