//! `kairos-keepers`: scheduled workers that poll the chain and the venues. Each job is a leased
//! singleton ([`kairos_keepers::scheduler`]): several keepers on one database run each job once per period,
//! and a dead holder's jobs move to another keeper within one lease. The jobs that exist are in
//! [`kairos_keepers::jobs`]; today `dependency-probes`, `backup`, `flash-create`, `flash-void` and
//! `chain-sync` (the flash oracle and venue reconciliation are not implemented, and nothing
//! registers them).
//!
//! Commands: `kairos-keepers` (run the jobs), `status` (every job's lease and last runs, JSON),
//! `preflight` (the report of what the keepers need, exit 1 on a failure), `check` (the
//! container health check: the database answers), `config check` (the effective settings,
//! secrets redacted, exit 2 on any problem; the keepers read only the core settings and their
//! own, so a `prod` config without the API's bind address or secrets passes).

use std::process::ExitCode;
use std::time::Duration;

use kairos_keepers::{jobs, metrics, preflight, scheduler};
use kairos_platform::config;
use kairos_platform::service_manager;
use kairos_platform::storage::Db;
use kairos_platform::telemetry;

/// Exit status of a config with problems, as `kairos-api` uses.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().map(String::as_str).eq(["config", "check"]) {
        return config_check();
    }
    let (settings, problems) = config::load_keepers();
    if args.iter().map(String::as_str).eq(["preflight"]) {
        return match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(preflight::run(&settings, &problems)).print(),
            Err(e) => {
                eprintln!("kairos-keepers: cannot start the async runtime: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if !problems.is_empty() {
        eprintln!("kairos-keepers: refusing to start, the config has {} problem(s):", problems.len());
        for p in &problems {
            eprintln!("  - {p}");
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    let telemetry = match telemetry::init(
        "kairos-keepers",
        &settings.core.log,
        settings.core.log_format,
        settings.core.otlp_endpoint.as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("kairos-keepers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kairos-keepers: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.iter().map(String::as_str).eq(["status"]) {
        return match runtime.block_on(status(&settings)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kairos-keepers: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if std::env::args().nth(1).as_deref() == Some("check") {
        return match runtime.block_on(check(&settings)) {
            Ok(()) => {
                println!("{{\"healthy\":true}}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("kairos-keepers: unhealthy: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = runtime.block_on(run(settings));
    drop(runtime);
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kairos-keepers: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config_check() -> ExitCode {
    let (settings, problems) = config::load_keepers();
    if config::print_check(&settings.describe(), &settings.core, &problems) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CONFIG)
    }
}

/// The health check: the database answers within two seconds.
async fn check(settings: &config::KeeperSettings) -> anyhow::Result<()> {
    let db = Db::connect(settings.core.database_url.expose(), 1).await?;
    let result = db.ping(Duration::from_secs(2)).await.map(|_| ()).map_err(|e| anyhow::anyhow!("database: {e}"));
    db.close().await;
    result
}

/// `kairos-keepers status`.
async fn status(settings: &config::KeeperSettings) -> anyhow::Result<()> {
    use kairos_platform::storage::keeper_jobs::{self, JobStatus};
    let db = Db::connect(settings.core.database_url.expose(), 1).await?;
    let rows = keeper_jobs::all(&db).await;
    db.close().await;
    let jobs: Vec<JobStatus> = rows?.iter().map(JobStatus::from).collect();
    println!("{}", serde_json::json!({ "jobs": jobs }));
    Ok(())
}

async fn run(settings: config::KeeperSettings) -> anyhow::Result<()> {
    // Listened for from here on: a SIGTERM that comes as soon as READY=1 is sent, or while a
    // ping runs, is kept until the loop looks, instead of killing the process or being lost.
    let mut stop = StopSignals::install()?;
    metrics::install(settings.metrics_bind).map_err(|e| anyhow::anyhow!(e))?;
    let db = Db::connect(settings.core.database_url.expose(), 4).await?;
    db.migrate().await?;
    let holder = kairos_platform::host::process_name();
    let worker = scheduler::Worker {
        db: db.clone(),
        holder: holder.clone(),
        lease: settings.lease,
        grace: settings.core.shutdown_grace,
    };
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for (job, enabled) in jobs::all(&settings, &db).map_err(|e| anyhow::anyhow!(e))? {
        tasks.spawn(scheduler::run_job(worker.clone(), job, enabled, stopped.clone()));
    }
    tracing::info!(holder = %holder, metrics = %settings.metrics_bind, "kairos-keepers running");
    service_manager::notify(service_manager::State::Ready);
    stop.recv().await;
    service_manager::notify(service_manager::State::Stopping);
    tracing::info!("stopping: finishing or abandoning runs in progress, releasing leases");
    let _ = stopping.send(true);
    while tasks.join_next().await.is_some() {}
    tracing::info!("kairos-keepers stopped");
    db.close().await;
    Ok(())
}

/// SIGTERM and SIGINT.
#[cfg(unix)]
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals { term: signal(SignalKind::terminate())?, int: signal(SignalKind::interrupt())? })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals)
    }

    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
