//! Settings that operators change while the platform runs, shared by every instance through the
//! settings table: the kill switch (`trade_enabled`) and feature flags (`flag.<name>`). An
//! instance that changes them announces it on Redis ([`CHANGED_CHANNEL`]) and every subscribed
//! instance re-reads at once; without Redis each instance polls twice a second (and on SIGHUP),
//! which alone keeps every instance within a second of the table.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use kairos_domain::TradingState;
use kairos_platform::cache::Redis;
use kairos_platform::locks;
use kairos_platform::storage::{Db, StorageError, settings};

pub const FLAG_PREFIX: &str = "flag.";

/// The Redis channel on which a change of the settings table is announced.
pub const CHANGED_CHANNEL: &str = "kairos:runtime-settings";

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
        locks::read(&self.latest).clone()
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
        *locks::write(&self.latest) = snapshot.clone();
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

/// After a change of the settings table: re-read here, and tell the other instances.
pub async fn announce_change(runtime: &RuntimeSettings, db: &Db, redis: Option<&Redis>) -> Result<(), StorageError> {
    runtime.reload(db).await?;
    if let Some(redis) = redis
        && let Err(e) = redis.publish(CHANGED_CHANNEL, "changed").await
    {
        // Not fatal: the others see the change by polling within half a second.
        tracing::warn!(error = %e, "could not announce a runtime-settings change on Redis");
    }
    Ok(())
}

/// Re-reads the settings whenever another instance announces a change, resubscribing after
/// Redis drops. Runs until `shutdown`.
pub async fn follow_announcements(
    runtime: &RuntimeSettings,
    db: &Db,
    redis: Option<&Redis>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    use futures_util::StreamExt as _;
    let Some(redis) = redis else {
        // Nothing to follow; the task lives as long as the server, like the others.
        shutdown.cancelled().await;
        return;
    };
    while !shutdown.is_cancelled() {
        match redis.subscribe(CHANGED_CHANNEL).await {
            Ok(mut pubsub) => {
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        msg = messages.next() => match msg {
                            Some(_) => {
                                metrics::counter!("kairos_runtime_settings_announcements_total").increment(1);
                                if let Err(e) = runtime.reload(db).await {
                                    tracing::warn!(error = %e, "runtime settings reload after an announcement failed");
                                }
                            }
                            None => break,
                        }
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot subscribe to runtime-settings announcements; polling"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
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
