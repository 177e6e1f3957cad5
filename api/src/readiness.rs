//! Whether this instance can serve, from the state of its stores. The server's refresh loop renews
//! the report every 500 ms, so `/ready` is cheap and the dependency gauges move even when nobody
//! asks. The rule is in [`overall`]: the database is always required; Redis is required in `strict`
//! mode and replaced by in-process fallbacks, loudly, in `degraded` mode. When the Polymarket venue
//! is on, its heartbeat is reported too (`polymarket_heartbeat`); it never makes the instance
//! unready (paper trading and cancels go on), but while it is down new Polymarket orders are
//! refused.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kairos_platform::cache::Redis;
use kairos_platform::config::StorageMode;
use kairos_platform::locks;
use kairos_platform::storage::Db;

use kairos_venues::polymarket::heartbeat_gate::HeartbeatGate;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Every store is up.
    Ready,
    /// Serving on in-process fallbacks (degraded storage mode, Redis missing or down).
    Degraded,
    /// Not serving: a required store is down.
    Unavailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Up,
    Down,
    NotConfigured,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    pub status: CheckStatus,
    /// Whether this instance refuses to serve without it.
    pub required: bool,
    /// Round-trip time of the last check, when up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_us: Option<u64>,
    /// What is used instead while it is down (degraded mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// What being down means for callers, when that is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The `/ready` body, 200 when `ready` or `degraded`, 503 when `unavailable`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadyReport {
    pub status: ReadyStatus,
    pub storage_mode: String,
    pub checks: BTreeMap<String, Check>,
}

/// The rule that turns store states into a readiness status.
pub fn overall(mode: StorageMode, database: CheckStatus, redis: CheckStatus) -> ReadyStatus {
    if database != CheckStatus::Up {
        return ReadyStatus::Unavailable;
    }
    match (redis, mode) {
        (CheckStatus::Up, _) => ReadyStatus::Ready,
        (_, StorageMode::Strict) => ReadyStatus::Unavailable,
        (_, StorageMode::Degraded) => ReadyStatus::Degraded,
    }
}

#[derive(Debug)]
pub struct Readiness {
    mode: StorageMode,
    db: Db,
    redis: Option<Redis>,
    /// The Polymarket venue's heartbeat, when the venue is on.
    heartbeat: Option<Arc<HeartbeatGate>>,
    latest: RwLock<Arc<ReadyReport>>,
}

const CHECK_TIMEOUT: Duration = Duration::from_millis(1_000);

impl Readiness {
    pub fn new(mode: StorageMode, db: Db, redis: Option<Redis>, heartbeat: Option<Arc<HeartbeatGate>>) -> Self {
        let report = ReadyReport {
            status: ReadyStatus::Unavailable,
            storage_mode: mode.as_str().to_string(),
            checks: BTreeMap::new(),
        };
        Readiness { mode, db, redis, heartbeat, latest: RwLock::new(Arc::new(report)) }
    }

    /// The last report (refreshed by [`Readiness::refresh`]).
    pub fn latest(&self) -> Arc<ReadyReport> {
        locks::read(&self.latest).clone()
    }

    /// Checks every store now, publishes the gauges, logs transitions, and keeps the report.
    pub async fn refresh(&self) -> Arc<ReadyReport> {
        let (db_result, redis_result) = tokio::join!(self.db.ping(CHECK_TIMEOUT), async {
            match &self.redis {
                Some(r) => Some(r.ping().await),
                None => None,
            }
        });
        let mut checks = BTreeMap::new();
        let database = match &db_result {
            Ok(_) => CheckStatus::Up,
            Err(_) => CheckStatus::Down,
        };
        checks.insert(
            "database".to_string(),
            Check {
                status: database,
                required: true,
                latency_us: db_result.as_ref().ok().map(|d| micros(*d)),
                fallback: None,
                detail: None,
            },
        );
        let redis = match &redis_result {
            None => CheckStatus::NotConfigured,
            Some(Ok(_)) => CheckStatus::Up,
            Some(Err(_)) => CheckStatus::Down,
        };
        let degraded_fallback = (self.mode == StorageMode::Degraded && redis != CheckStatus::Up)
            .then(|| "in-process rate limits and cache (not shared between instances)".to_string());
        checks.insert(
            "redis".to_string(),
            Check {
                status: redis,
                required: self.mode == StorageMode::Strict,
                latency_us: redis_result.as_ref().and_then(|r| r.as_ref().ok()).map(|d| micros(*d)),
                fallback: degraded_fallback,
                detail: None,
            },
        );
        if let Some(gate) = &self.heartbeat {
            let closed = gate.why_closed();
            checks.insert(
                "polymarket_heartbeat".to_string(),
                Check {
                    status: if closed.is_none() { CheckStatus::Up } else { CheckStatus::Down },
                    required: false,
                    latency_us: None,
                    fallback: None,
                    detail: closed.map(|why| {
                        format!("{why}: new Polymarket orders are refused (503 venue_heartbeat_lost) until the CLOB accepts a heartbeat; cancels still pass")
                    }),
                },
            );
        }
        let status = overall(self.mode, database, redis);
        let report = Arc::new(ReadyReport { status, storage_mode: self.mode.as_str().to_string(), checks });

        publish_gauges(&report);
        let previous = self.latest();
        if previous.status != status || previous.checks.is_empty() {
            let db_error = db_result.err().map(|e| e.to_string());
            let redis_error = redis_result.and_then(Result::err).map(|e| e.to_string());
            match status {
                ReadyStatus::Ready => tracing::info!(status = "ready", "readiness changed"),
                ReadyStatus::Degraded => tracing::warn!(
                    status = "degraded",
                    redis = ?redis,
                    redis_error = redis_error.as_deref().unwrap_or("-"),
                    "readiness changed: serving on in-process fallbacks"
                ),
                ReadyStatus::Unavailable => tracing::error!(
                    status = "unavailable",
                    database_error = db_error.as_deref().unwrap_or("-"),
                    redis_error = redis_error.as_deref().unwrap_or("-"),
                    "readiness changed: not ready"
                ),
            }
        }
        *locks::write(&self.latest) = report.clone();
        report
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn publish_gauges(report: &ReadyReport) {
    for (name, check) in &report.checks {
        let up = if check.status == CheckStatus::Up { 1.0 } else { 0.0 };
        metrics::gauge!("kairos_dependency_up", "dependency" => name.clone()).set(up);
    }
    let degraded = if report.status == ReadyStatus::Degraded { 1.0 } else { 0.0 };
    metrics::gauge!("kairos_storage_degraded").set(degraded);
    let ready = if report.status == ReadyStatus::Unavailable { 0.0 } else { 1.0 };
    metrics::gauge!("kairos_ready").set(ready);
}

#[cfg(test)]
mod tests {
    use super::*;
    use CheckStatus::{Down, NotConfigured, Up};

    #[test]
    fn the_database_is_always_required() {
        for mode in [StorageMode::Strict, StorageMode::Degraded] {
            for redis in [Up, Down, NotConfigured] {
                assert_eq!(overall(mode, Down, redis), ReadyStatus::Unavailable);
            }
        }
    }

    #[test]
    fn strict_needs_redis_and_degraded_says_it_is_degraded() {
        assert_eq!(overall(StorageMode::Strict, Up, Up), ReadyStatus::Ready);
        assert_eq!(overall(StorageMode::Strict, Up, Down), ReadyStatus::Unavailable);
        assert_eq!(overall(StorageMode::Strict, Up, NotConfigured), ReadyStatus::Unavailable);
        assert_eq!(overall(StorageMode::Degraded, Up, Up), ReadyStatus::Ready);
        assert_eq!(overall(StorageMode::Degraded, Up, Down), ReadyStatus::Degraded);
        assert_eq!(overall(StorageMode::Degraded, Up, NotConfigured), ReadyStatus::Degraded);
    }
}
