//! `run` and `config check`: the settings, the telemetry, the metrics listener and the signal
//! that stops the quoter (with its cancel-all); the work itself is `kairos_quoter::run`.

use std::process::ExitCode;
use std::time::Duration;

use kairos_platform::config::{self, QuoterSettings, QuoterTarget};
use kairos_platform::telemetry;
use kairos_quoter::feed::{self, Feed};
use kairos_quoter::metrics::TICK_TO_ORDER_BUCKETS;
use kairos_quoter::{kill_switch, metrics, paper, run, setup};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::EXIT_CONFIG;

pub(crate) fn config_check() -> ExitCode {
    let (settings, problems) = config::load_quoter();
    for line in settings.describe() {
        println!("{line}");
    }
    for name in &settings.unknown_variables {
        eprintln!("warning: {name} is not a Kairos setting (typo or removed setting?)");
    }
    if problems.is_empty() {
        println!("config ok for profile {}", settings.profile.as_str());
        return ExitCode::SUCCESS;
    }
    eprintln!("{} problem(s):", problems.len());
    for p in &problems {
        eprintln!("  - {p}");
    }
    ExitCode::from(EXIT_CONFIG)
}

pub(crate) fn run_command() -> ExitCode {
    let (settings, problems) = config::load_quoter();
    if !problems.is_empty() {
        eprintln!("kairos-quoter: refusing to start, the config has {} problem(s):", problems.len());
        for p in &problems {
            eprintln!("  - {p}");
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    let _telemetry =
        match telemetry::init("kairos-quoter", &settings.log, settings.log_format, settings.otlp_endpoint.as_deref()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("kairos-quoter: {e}");
                return ExitCode::FAILURE;
            }
        };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kairos-quoter: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(quote(&settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "kairos-quoter stopped");
            eprintln!("kairos-quoter: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn quote(settings: &QuoterSettings) -> Result<(), String> {
    let venue = match (settings.target, &settings.polymarket) {
        (QuoterTarget::Polymarket, Some(venue)) => venue,
        (QuoterTarget::Polymarket, None) => return Err("the polymarket target needs the venue's credentials".into()),
        (QuoterTarget::Kairos, _) => return quote_on_kairos(settings).await,
    };
    install_metrics(settings)?;
    let mut pipeline = setup::pipeline(settings, venue).map_err(|e| e.to_string())?;
    let endpoint = setup::endpoint(venue).map_err(|e| e.to_string())?;
    // Live data only: orders on the CLOB are never priced off a recording.
    let mut feed = Feed::live(&settings.feed_url, &settings.tokens);
    tracing::info!(tokens = ?settings.tokens, host = %endpoint.host, "quoting on the CLOB");
    let mut venue = setup::venue(venue).map_err(|e| e.to_string())?;
    if let Some(url) = &settings.database_url {
        let trading = kill_switch::follow(url.expose())
            .await
            .map_err(|e| format!("KAIROS_DATABASE_URL: the kill switch cannot be read: {e}"))?;
        tracing::info!(trading = trading.borrow().as_str(), "following the platform's kill switch");
        venue.trading = Some(trading);
    }
    let summary = run::run(
        &mut pipeline,
        &endpoint,
        &mut feed,
        venue,
        Duration::from_millis(settings.heartbeat_ms),
        stop_signal(),
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(?summary, "stopped after cancelling every order");
    Ok(())
}

/// How long the live market channel may take to connect before the kairos target replays the
/// recording instead.
const FEED_WAIT: Duration = Duration::from_secs(5);

/// How long the kairos target keeps trying to reach the API at start (it may be starting too).
const API_WAIT: Duration = Duration::from_secs(60);

/// The `kairos` target: a paper market through the API, off the live feed or the recording.
async fn quote_on_kairos(settings: &QuoterSettings) -> Result<(), String> {
    install_metrics(settings)?;
    let mut engine = setup::engine(settings).map_err(|e| e.to_string())?;
    // Client order ids carry the run's start, so a restart never reuses one.
    let run_tag = format!("{:x}", kairos_domain::now_us());
    let deadline = tokio::time::Instant::now() + API_WAIT;
    let (api, mut orders) = loop {
        match paper::connect(settings, &run_tag).await {
            Ok(connected) => break connected,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "the API is not ready for the quoter yet; trying again");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    let recording = match &settings.recorded_feed {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("KAIROS_QUOTER__RECORDED_FEED {path}: {e}"))?,
        None => feed::BUILT_IN.to_string(),
    };
    let mut feed = feed::live_or_recorded(&settings.feed_url, &settings.tokens, FEED_WAIT, &recording)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(tokens = ?settings.tokens, api = %settings.api_url, "quoting paper markets on Kairos");
    let summary = paper::run::run(
        &mut engine,
        &api,
        &mut orders,
        &mut feed,
        Duration::from_millis(settings.heartbeat_ms),
        stop_signal(),
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(?summary, "stopped after cancelling every order");
    Ok(())
}

/// The Prometheus listener (localhost unless set), with the latency buckets and build info.
fn install_metrics(settings: &QuoterSettings) -> Result<(), String> {
    let (recorder, exporter) = PrometheusBuilder::new()
        .with_http_listener(settings.metrics_bind)
        .set_buckets_for_metric(Matcher::Full("kairos_tick_to_order_seconds".to_string()), TICK_TO_ORDER_BUCKETS)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| format!("metrics listener on {}: {e}", settings.metrics_bind))?;
    let handle = recorder.handle();
    ::metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            tracing::error!(error = ?e, "metrics listener stopped");
        }
    });
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
    metrics::build_info();
    Ok(())
}

/// SIGTERM (how service managers stop it) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
