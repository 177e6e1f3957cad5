//! `kairos-keepers`: scheduled workers that poll the chain and the venues (resolve and settle
//! flash markets, sync on-chain state into the database, reconcile orders).
//!
//! No job is implemented yet (they arrive with the flash-bets and orders work). Until then the
//! binary loads the shared config, connects to the shared database, says plainly that it runs
//! no jobs, checks the database every 30 seconds, and exits cleanly on SIGTERM/SIGINT. It
//! never reports work it does not do.
//!
//! `kairos-keepers preflight` prints the preflight report of what the keepers need (see
//! [`preflight`]) and exits 1 on any failure.
//!
//! `kairos-keepers check` loads the config, reaches the database and exits 0 (or 1 naming what
//! failed): the container health check. `kairos-keepers config check` prints the effective
//! settings (secrets redacted) and every problem, exiting 2 on any: the keepers read only the
//! core settings, so a `prod` config without the API's bind address or secrets passes.

mod preflight;

use std::process::ExitCode;
use std::time::Duration;

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

async fn run(settings: config::KeeperSettings) -> anyhow::Result<()> {
    // Listened for from here on: a SIGTERM that comes as soon as READY=1 is sent, or while a
    // ping runs, is kept until the loop looks, instead of killing the process or being lost.
    let mut stop = StopSignals::install()?;
    let db = Db::connect(settings.core.database_url.expose(), 2).await?;
    db.migrate().await?;
    tracing::warn!(
        "kairos-keepers runs no jobs yet: flash-market settlement, chain sync and order reconciliation are not implemented"
    );
    service_manager::notify(service_manager::State::Ready);
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = db.ping(Duration::from_secs(2)).await {
                    tracing::error!(error = %e, "database unreachable");
                }
            }
            () = stop.recv() => break,
        }
    }
    service_manager::notify(service_manager::State::Stopping);
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
