//! The keepers' Prometheus listener (`KAIROS_KEEPERS__METRICS_BIND`, localhost unless set):
//! the job metrics (`kairos_keeper_job_*`) and the dependency probes (`kairos_dependency_*`).

use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

/// Latency buckets in seconds, from 1 ms to 2 minutes: job runs and probes are slow next to
/// requests.
const BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// How often recorded histogram samples are folded into buckets (the recorder keeps raw samples
/// until then; nothing else folds them when nobody scrapes).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the recorder and serves `/metrics` on `bind`; call inside the runtime.
pub fn install(bind: SocketAddr) -> Result<(), String> {
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(bind)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), BUCKETS)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| format!("metrics listener on {bind}: {e}"))?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!(error = ?e, "metrics listener stopped");
        }
    });
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    metrics::gauge!("kairos_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(())
}
