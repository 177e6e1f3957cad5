//! Prometheus metrics on their own listener (localhost unless set), apart from the API so
//! they are never exposed by accident with it.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Latency buckets in seconds, from 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Installs the process-wide recorder once and returns its handle.
pub fn handle() -> Result<PrometheusHandle, String> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), LATENCY_BUCKETS)
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())?;
            metrics::gauge!(
                "kairos_build_info",
                "version" => env!("CARGO_PKG_VERSION"),
                "git_sha" => option_env!("KAIROS_GIT_SHA").unwrap_or("unknown")
            )
            .set(1.0);
            Ok(handle)
        })
        .clone()
}

/// How often recorded histogram samples are folded into their buckets and summaries.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the histogram samples recorded since the last pass into their buckets and summaries.
/// The recorder keeps every raw sample until then, and otherwise only a scrape folds them: with
/// nothing scraping (Prometheus down, or not yet configured) they piled up without bound, 7.6
/// MB in 7 minutes of the soak's load. Runs until `shutdown`.
pub async fn upkeep(handle: PrometheusHandle, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = every.tick() => handle.run_upkeep(),
            () = shutdown.cancelled() => return,
        }
    }
}

/// The metrics listener's app: `GET /metrics`.
pub fn app(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(render)).with_state((state, handle))
}

async fn render(State((state, handle)): State<(AppState, PrometheusHandle)>) -> impl IntoResponse {
    let (open, idle) = state.db().pool_state();
    metrics::gauge!("kairos_db_pool_connections", "state" => "open").set(f64::from(open));
    metrics::gauge!("kairos_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("kairos_db_pool_max_connections").set(f64::from(state.settings().core.database_max_connections));
    metrics::gauge!("kairos_market_catalog_markets").set(state.catalog().len() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
}
