//! Settings that operators change while the platform runs, shared by every instance through the
//! settings table: the kill switch (`trade_enabled`) and feature flags (`flag.<name>`). Each
//! instance re-reads them every second and on SIGHUP.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use kairos_platform::domain::TradingState;
use kairos_platform::storage::{Db, StorageError, settings};

pub const FLAG_PREFIX: &str = "flag.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSnapshot {
    pub trading: TradingState,
    pub flags: BTreeMap<String, bool>,
}

#[derive(Debug)]
pub struct RuntimeSettings {
    latest: RwLock<Arc<RuntimeSnapshot>>,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        // Until the table is read, trading is off: nothing is accepted on a guess.
        let snapshot = RuntimeSnapshot { trading: TradingState::Disabled, flags: BTreeMap::new() };
        RuntimeSettings { latest: RwLock::new(Arc::new(snapshot)) }
    }
}

impl RuntimeSettings {
    pub fn latest(&self) -> Arc<RuntimeSnapshot> {
        self.latest.read().map(|r| r.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Re-reads the table. An unreadable kill-switch value is treated as `disabled` (fail
    /// closed) and logged.
    pub async fn reload(&self, db: &Db) -> Result<Arc<RuntimeSnapshot>, StorageError> {
        let rows = settings::all(db).await?;
        let snapshot = Arc::new(snapshot_from_rows(&rows));
        for state in [TradingState::Enabled, TradingState::CancelOnly, TradingState::Disabled] {
            let value = if state == snapshot.trading { 1.0 } else { 0.0 };
            metrics::gauge!("kairos_trading_state", "state" => state.as_str()).set(value);
        }
        let previous = self.latest();
        if *previous != *snapshot {
            tracing::info!(trading = snapshot.trading.as_str(), flags = ?snapshot.flags, "runtime settings changed");
        }
        if let Ok(mut latest) = self.latest.write() {
            *latest = snapshot.clone();
        }
        Ok(snapshot)
    }
}

pub fn snapshot_from_rows(rows: &[(String, String)]) -> RuntimeSnapshot {
    let mut trading = TradingState::Disabled;
    let mut flags = BTreeMap::new();
    for (key, value) in rows {
        if key == TradingState::SETTINGS_KEY {
            trading = value.parse().unwrap_or_else(|e| {
                tracing::error!(error = %e, "the kill switch holds an unknown value; treating trading as disabled");
                TradingState::Disabled
            });
        } else if let Some(name) = key.strip_prefix(FLAG_PREFIX) {
            flags.insert(name.to_string(), value == "true");
        }
    }
    RuntimeSnapshot { trading, flags }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_unknown_kill_switch_means_disabled() {
        assert_eq!(snapshot_from_rows(&[]).trading, TradingState::Disabled);
        let rows = vec![("trade_enabled".to_string(), "maybe".to_string())];
        assert_eq!(snapshot_from_rows(&rows).trading, TradingState::Disabled);
        let rows = vec![
            ("trade_enabled".to_string(), "cancel_only".to_string()),
            ("flag.polymarket".to_string(), "true".to_string()),
        ];
        let s = snapshot_from_rows(&rows);
        assert_eq!(s.trading, TradingState::CancelOnly);
        assert_eq!(s.flags.get("polymarket"), Some(&true));
    }
}
