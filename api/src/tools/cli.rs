//! The `kairos-api` command line: `serve` (default), `migrate`, `backup`, `restore`, `config check`,
//! `markets import FILE`, `openapi`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use kairos_domain::{Role, Scope, Venue};
use kairos_platform::config::{self, ApiSettings, Origin};
use kairos_platform::service_manager;
use kairos_platform::storage::Db;
use kairos_platform::storage::markets::{self, Upserted};
use kairos_platform::telemetry::{self, Telemetry};

#[derive(Debug, Parser)]
#[command(name = "kairos-api", version, about = "The Kairos API server and its operator commands")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Check that this deployment is ready to run: config, stores (write and read back),
    /// migrations, the clock against NTP, the configured venues and chain and, with `--url`, a
    /// running instance's readiness and websocket auth. Prints
    /// `{"ok","checks":[{"name","status","detail"}]}` (a table on a terminal); exits 1 on any
    /// failure.
    Preflight {
        /// Base URL of a running instance to check (`http://127.0.0.1:8080`).
        #[arg(long)]
        url: Option<String>,
        /// Token for the websocket check; by default one is signed for the reserved preflight
        /// user.
        #[arg(long)]
        token: Option<String>,
    },
    /// Take an encrypted backup now (`KAIROS_BACKUP__*`): prints
    /// `{"url","bytes","sha256","taken_at","deleted"}`; `backup status` shows the newest and
    /// its age against the one-hour RPO (exit 1 beyond it).
    Backup {
        #[command(subcommand)]
        command: Option<BackupCommand>,
    },
    /// Restore a backup into the configured database, which must be empty unless `--force`.
    Restore {
        /// Restore the newest backup taken at or before this RFC 3339 time.
        #[arg(long)]
        at: Option<String>,
        /// Replace a database that holds tables (stop every instance first).
        #[arg(long)]
        force: bool,
    },
    /// The release gate: no production-path stubs, no auth bypass in prod, no silent
    /// durability downgrade in strict mode (proved by starting this binary against the
    /// configured PostgreSQL and Redis through relays it cuts), and the runbook drill's report.
    /// Prints the preflight report shape with each check's evidence; exits 1 on any failure.
    ReleaseGate {
        /// The report `scripts/runbook-drill.sh` wrote (its RUNBOOK_DRILL_REPORT).
        #[arg(long)]
        runbook_report: Option<PathBuf>,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage markets.
    Markets {
        #[command(subcommand)]
        command: MarketsCommand,
    },
    /// Bootstrap users (for a new deployment's first operators).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Bootstrap API keys.
    ApiKeys {
        #[command(subcommand)]
        command: ApiKeysCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The double-entry ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Orders of the paper venue.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
    /// Rebuild the paper venue's books, fills and ledger movements from its durable order log
    /// with the matching code, and compare them with the database; prints
    /// `{"markets","orders","fills","mismatches",…}` and exits 1 on any mismatch.
    Replay {
        /// Compare only this market (everything is still replayed).
        #[arg(long)]
        market: Option<String>,
        /// Replay up to this RFC 3339 time and compare what the database held by then.
        #[arg(long)]
        until: Option<String>,
    },
    /// Make market makers with API keys and collateral, and a paper market, for load runs and
    /// demos; prints them as JSON (`kairos-load --accounts`). dev and test profiles only.
    DevAccounts {
        #[arg(long, default_value_t = 4)]
        makers: usize,
        /// Collateral each one gets, in units.
        #[arg(long, default_value = "1000000")]
        credit: String,
    },
    /// Print the OpenAPI document (or write it, or check a file against it).
    Openapi {
        /// Write the document to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Exit non-zero when this file differs from the document.
        #[arg(long, conflicts_with = "output")]
        check: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// The newest backup and how old it is; exit 1 when none is within the RPO.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective config (secrets redacted); exit non-zero listing every problem.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum MarketsCommand {
    /// Import markets from a JSON file in Polymarket's Gamma market format. Markets already
    /// imported (same venue and external id) are updated, so re-running is safe.
    Import {
        file: PathBuf,
        /// The venue the markets trade on.
        #[arg(long, value_enum, default_value_t = VenueArg::Polymarket)]
        venue: VenueArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user (or give an existing wallet this role); prints `{"user_id","token"}` with a
    /// fresh access token.
    Create {
        #[arg(long)]
        wallet: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create an API key for a user; prints `{"key_id","secret"}` (the secret is shown once).
    Create {
        #[arg(long)]
        user: String,
        /// Comma-separated: read, trade.
        #[arg(long, value_delimiter = ',', value_parser = parse_scope)]
        scopes: Vec<Scope>,
        #[arg(long, default_value = "bootstrap")]
        label: String,
    },
    /// After setting a new `KAIROS_MASTER_KEY` with the old one in `KAIROS_MASTER_KEY_PREVIOUS`:
    /// re-encrypts every stored key secret under the new key; prints
    /// `{"keys","reencrypted","already_current","unreadable"}` and exits 1 if any is unreadable.
    Reencrypt,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Walk the ledger: chain intact, every transfer balanced, balances equal to their entries;
    /// exit 0 when intact, non-zero naming the first bad row.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// Check that the paper venue's orders and the ledger agree: every reservation held by a
    /// live order and nothing else; prints the books the live orders make. Exit 0 when they
    /// agree.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; exit 0 when intact, non-zero naming the first bad row.
    Verify,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse()
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VenueArg {
    Paper,
    Polymarket,
}

/// Exit code for a config that has problems.
const EXIT_CONFIG: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi { output, check } => openapi(output, check),
        Command::Config { command: ConfigCommand::Check } => config_check(),
        Command::Preflight { url, token } => preflight(crate::tools::preflight::Target { url, token }),
        Command::ReleaseGate { runbook_report } => release_gate(runbook_report),
        Command::Serve => with_runtime(|settings, telemetry| Box::pin(serve(settings, telemetry))),
        Command::Migrate => with_runtime(|settings, _| Box::pin(migrate(settings))),
        Command::Backup { command: None } => with_runtime(|settings, _| Box::pin(crate::tools::backup::take(settings))),
        Command::Backup { command: Some(BackupCommand::Status) } => {
            with_runtime(|settings, _| Box::pin(crate::tools::backup::status(settings)))
        }
        Command::Restore { at, force } => {
            with_runtime(move |settings, _| Box::pin(crate::tools::backup::restore(settings, at, force)))
        }
        Command::Markets { command: MarketsCommand::Import { file, venue } } => {
            let venue = match venue {
                VenueArg::Paper => Venue::Paper,
                VenueArg::Polymarket => Venue::Polymarket,
            };
            with_runtime(move |settings, _| Box::pin(import(settings, file, venue)))
        }
        Command::Users { command: UsersCommand::Create { wallet, role } } => {
            with_runtime(move |settings, _| Box::pin(create_user(settings, wallet, role)))
        }
        Command::ApiKeys { command: ApiKeysCommand::Create { user, scopes, label } } => {
            with_runtime(move |settings, _| Box::pin(create_api_key(settings, user, scopes, label)))
        }
        Command::ApiKeys { command: ApiKeysCommand::Reencrypt } => {
            with_runtime(|settings, _| Box::pin(reencrypt_api_keys(settings)))
        }
        Command::Audit { command: AuditCommand::Verify } => {
            with_runtime(|settings, _| Box::pin(audit_verify(settings)))
        }
        Command::Ledger { command: LedgerCommand::Verify } => {
            with_runtime(|settings, _| Box::pin(ledger_verify(settings)))
        }
        Command::Orders { command: OrdersCommand::Verify } => {
            with_runtime(|settings, _| Box::pin(orders_verify(settings)))
        }
        Command::Replay { market, until } => with_runtime(move |settings, _| Box::pin(replay(settings, market, until))),
        Command::DevAccounts { makers, credit } => {
            with_runtime(move |settings, _| Box::pin(dev_accounts(settings, makers, credit)))
        }
    }
}

/// Preflight reports config problems instead of stopping at them, so it loads the config
/// itself and runs without the telemetry the server installs.
fn preflight(target: crate::tools::preflight::Target) -> ExitCode {
    let (settings, problems) = config::load_api();
    let Some(runtime) = new_runtime() else { return ExitCode::FAILURE };
    let report = runtime.block_on(crate::tools::preflight::run(&settings, &problems, &target));
    report.print()
}

/// The gate prints its report whatever it finds, like preflight; a config with problems is
/// reported by the gate's children, not here, so only the stores it needs are read.
fn release_gate(runbook_report: Option<PathBuf>) -> ExitCode {
    let (settings, _) = config::load_api();
    let Some(runtime) = new_runtime() else { return ExitCode::FAILURE };
    let report = runtime.block_on(crate::tools::release_gate::run(&settings, runbook_report.as_deref()));
    report.print()
}

/// A multi-threaded runtime, or `None` having said why there is none.
fn new_runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .inspect_err(|e| eprintln!("kairos-api: cannot start the async runtime: {e}"))
        .ok()
}

type Job = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// Loads and validates the config, installs telemetry, and runs `job` on a runtime. A config
/// with problems stops here, one line per problem.
fn with_runtime(job: impl FnOnce(ApiSettings, Arc<Telemetry>) -> Job) -> ExitCode {
    let (settings, problems) = config::load_api();
    if !problems.is_empty() {
        eprintln!("kairos-api: refusing to start, the config has {} problem(s):", problems.len());
        for p in &problems {
            eprintln!("  - {p}");
        }
        return ExitCode::from(EXIT_CONFIG);
    }
    let telemetry = match telemetry::init(
        "kairos-api",
        &settings.core.log,
        settings.core.log_format,
        settings.core.otlp_endpoint.as_deref(),
    ) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            eprintln!("kairos-api: {e}");
            return ExitCode::FAILURE;
        }
    };
    announce(&settings);
    let Some(runtime) = new_runtime() else { return ExitCode::FAILURE };
    let result = runtime.block_on(job(settings, telemetry.clone()));
    drop(runtime);
    if let Ok(t) = Arc::try_unwrap(telemetry) {
        t.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "kairos-api stopped with an error");
            eprintln!("kairos-api: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs the effective config and says which values are defaults or generated.
fn announce(settings: &ApiSettings) {
    tracing::info!(profile = settings.core.profile.as_str(), config = ?settings.describe(), "effective config (secrets redacted)");
    for (name, origin) in &settings.core.origins {
        match origin {
            Origin::Default if matches!(*name, "KAIROS_BIND" | "KAIROS_METRICS_BIND" | "KAIROS_DATABASE_URL") => {
                let line = settings.describe().into_iter().find(|l| l.starts_with(name)).unwrap_or_default();
                tracing::info!("{name} not set: using the {} default: {line}", settings.core.profile.as_str());
            }
            Origin::Generated => tracing::info!(
                "{name} not set: using the secret generated for {} in {}",
                settings.core.profile.as_str(),
                settings.core.local_secrets_path().map(|p| p.display().to_string()).unwrap_or_default()
            ),
            _ => {}
        }
    }
    for name in &settings.core.unknown_variables {
        tracing::warn!(variable = %name, "unknown KAIROS_ variable ignored (typo or removed setting?)");
    }
}

async fn serve(settings: ApiSettings, telemetry: Arc<Telemetry>) -> Result<(), String> {
    // Handlers are installed before the listeners open, so a signal sent as soon as the
    // server says it listens is never met by the default action (SIGHUP would kill it).
    let signals = Signals::install().map_err(|e| format!("cannot listen for signals: {e}"))?;
    let running = crate::http::server::start(settings).await.map_err(|e| e.to_string())?;
    service_manager::notify(service_manager::State::Ready);
    let token = running.shutdown_token();
    let state = running.state.clone();
    tokio::spawn(signals.handle(token, state, telemetry));
    let result = running.wait().await;
    tracing::info!("kairos-api stopped");
    result
}

/// SIGTERM and SIGINT drain and stop; SIGHUP reloads.
#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn handle(
        mut self,
        token: tokio_util::sync::CancellationToken,
        state: crate::state::AppState,
        telemetry: Arc<Telemetry>,
    ) {
        loop {
            tokio::select! {
                _ = self.term.recv() => { tracing::info!("SIGTERM: draining in-flight requests"); break; }
                _ = self.int.recv() => { tracing::info!("SIGINT: draining in-flight requests"); break; }
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP: reloading");
                    service_manager::notify(service_manager::State::Reloading);
                    crate::http::server::reload(&state, Some(&telemetry)).await;
                    service_manager::notify(service_manager::State::Ready);
                }
                // Stopping for another reason (a listener failed): the manager is told all the same.
                () = token.cancelled() => break,
            }
        }
        service_manager::notify(service_manager::State::Stopping);
        token.cancel();
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn handle(
        self,
        token: tokio_util::sync::CancellationToken,
        _state: crate::state::AppState,
        _telemetry: Arc<Telemetry>,
    ) {
        if tokio::signal::ctrl_c().await.is_ok() {
            token.cancel();
        }
    }
}

async fn connect(settings: &ApiSettings) -> Result<Db, String> {
    let db = Db::connect(settings.core.database_url.expose(), settings.core.database_max_connections)
        .await
        .map_err(|e| format!("{}: {e}", config::redact_url(settings.core.database_url.expose())))?;
    db.migrate().await.map_err(|e| e.to_string())?;
    Ok(db)
}

async fn migrate(settings: ApiSettings) -> Result<(), String> {
    let db = connect(&settings).await?;
    let versions: Vec<i64> = kairos_platform::storage::MIGRATOR.iter().map(|m| m.version).collect();
    println!("{}", serde_json::json!({ "migrated": true, "backend": db.backend().as_str(), "versions": versions }));
    db.close().await;
    Ok(())
}

async fn import(settings: ApiSettings, file: PathBuf, venue: Venue) -> Result<(), String> {
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed = kairos_venues::polymarket::gamma::parse_markets(&text, venue)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let db = connect(&settings).await?;
    let (mut created, mut updated) = (0u32, 0u32);
    for market in &parsed {
        match markets::upsert(&db, market).await.map_err(|e| format!("market {:?}: {e}", market.slug))?.1 {
            Upserted::Created => created += 1,
            Upserted::Updated => updated += 1,
        }
    }
    println!("{}", serde_json::json!({ "created": created, "updated": updated }));
    db.close().await;
    Ok(())
}

/// A state for the commands that act as the API would (same secrets, same storage).
async fn cli_state(settings: ApiSettings) -> Result<crate::state::AppState, String> {
    let db = connect(&settings).await?;
    crate::state::AppState::new(settings, db, None).map_err(|e| e.to_string())
}

async fn create_user(settings: ApiSettings, wallet: String, role: Role) -> Result<(), String> {
    use kairos_platform::storage::audit_log::{self, AuditEntry};
    use kairos_platform::storage::users;
    crate::access::wallet::parse_wallet(&wallet).map_err(|e| format!("--wallet: {e}"))?;
    let state = cli_state(settings).await?;
    let (user, created) = users::get_or_create_by_wallet(state.db(), &wallet, role).await.map_err(|e| e.to_string())?;
    let user = if !created && user.role != role {
        let mut conn = state.db().pool().acquire().await.map_err(|e| e.to_string())?;
        users::set_role_in(&mut conn, &user.id, role)
            .await
            .map_err(|e| e.to_string())?
            .map(|(_, after)| after)
            .unwrap_or(user)
    } else {
        user
    };
    let entry = AuditEntry {
        actor: "cli".to_string(),
        action: if created { "user.create".to_string() } else { "user.set_role".to_string() },
        target: Some(format!("user:{}", user.id)),
        request_id: None,
        before: None,
        after: Some(serde_json::json!({ "wallet": wallet, "role": role.as_str() }).to_string()),
    };
    audit_log::append(state.db(), &entry).await.map_err(|e| e.to_string())?;
    let token = crate::access::sessions::bootstrap_token(state.jwt(), &user.id, user.role)?;
    println!("{}", serde_json::json!({ "user_id": user.id, "token": token }));
    state.db().close().await;
    Ok(())
}

async fn create_api_key(settings: ApiSettings, user: String, scopes: Vec<Scope>, label: String) -> Result<(), String> {
    let state = cli_state(settings).await?;
    let owner = kairos_platform::storage::users::get(state.db(), &user)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("--user {user}: no such user"))?;
    let (key, secret) =
        crate::http::routes::api_keys::create_key(&state, &owner.id, &label, &scopes, None, "cli", None)
            .await
            .map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!({ "key_id": key.id, "secret": secret }));
    state.db().close().await;
    Ok(())
}

async fn reencrypt_api_keys(settings: ApiSettings) -> Result<(), String> {
    use crate::access::key_secrets::{MasterKey, reencrypt_all};
    let current = settings.master_key.as_ref().ok_or("KAIROS_MASTER_KEY is not set")?;
    let master = MasterKey::from_config(current, settings.master_key_previous.as_ref()).map_err(|e| e.to_string())?;
    let db = connect(&settings).await?;
    let done = reencrypt_all(&db, &master).await.map_err(|e| e.to_string());
    db.close().await;
    let done = done?;
    println!("{}", serde_json::to_string(&done).map_err(|e| e.to_string())?);
    if done.unreadable.is_empty() {
        Ok(())
    } else {
        Err(format!("{} key secret(s) open with neither master key: re-issue those keys", done.unreadable.len()))
    }
}

async fn audit_verify(settings: ApiSettings) -> Result<(), String> {
    let db = connect(&settings).await?;
    let result = kairos_platform::storage::audit_log::verify(&db).await.map_err(|e| e.to_string());
    db.close().await;
    report_chain("audit log", result?)
}

async fn ledger_verify(settings: ApiSettings) -> Result<(), String> {
    let db = connect(&settings).await?;
    let result = kairos_platform::storage::ledger::verify(&db).await.map_err(|e| e.to_string());
    db.close().await;
    report_chain("ledger", result?)
}

async fn orders_verify(settings: ApiSettings) -> Result<(), String> {
    let db = connect(&settings).await?;
    let result = kairos_venues::paper::consistency::check(&db).await.map_err(|e| e.to_string());
    db.close().await;
    let report = result?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    if report.problems.is_empty() { Ok(()) } else { Err(format!("{} problem(s)", report.problems.len())) }
}

async fn replay(settings: ApiSettings, market: Option<String>, until: Option<String>) -> Result<(), String> {
    let until_us = match until {
        None => None,
        Some(text) => Some(
            kairos_domain::parse_rfc3339_us(&text)
                .ok_or_else(|| format!("--until: {text:?} is not an RFC 3339 time"))?,
        ),
    };
    let market = match market {
        None => None,
        Some(text) => Some(kairos_domain::parse_id(&text).ok_or_else(|| format!("--market: {text:?} is not a UUID"))?),
    };
    let db = connect(&settings).await?;
    let options = kairos_venues::paper::replay::Options { market, until_us };
    let result = kairos_venues::paper::replay::run(&db, &options).await.map_err(|e| e.to_string());
    db.close().await;
    let report = result?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    match report.mismatches.first() {
        None => Ok(()),
        Some(first) => Err(format!("{} mismatch(es); the first: {first}", report.mismatch_count)),
    }
}

async fn dev_accounts(settings: ApiSettings, makers: usize, credit: String) -> Result<(), String> {
    let credit = kairos_domain::parse_micros(&credit).map_err(|e| format!("--credit: {e}"))?;
    let state = cli_state(settings).await?;
    let accounts = crate::tools::dev_accounts::create(&state, makers, credit).await;
    state.db().close().await;
    println!("{}", serde_json::to_string(&accounts?).map_err(|e| e.to_string())?);
    Ok(())
}

/// Prints a chain walk as one JSON object; an error names the first bad row.
fn report_chain(
    what: &str,
    result: Result<kairos_platform::storage::chain::Head, kairos_platform::storage::chain::Break>,
) -> Result<(), String> {
    match result {
        Ok(head) => {
            println!("{}", serde_json::json!({ "intact": true, "rows": head.rows, "head_hash": head.head_hash }));
            Ok(())
        }
        Err(broken) => {
            println!(
                "{}",
                serde_json::json!({ "intact": false, "first_bad_seq": broken.seq, "reason": broken.reason })
            );
            Err(format!("{what} broken at row {}: {}", broken.seq, broken.reason))
        }
    }
}

fn config_check() -> ExitCode {
    let (settings, problems) = config::load_api();
    if config::print_check(&settings.describe(), &settings.core, &problems) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_CONFIG)
    }
}

fn openapi(output: Option<PathBuf>, check: Option<PathBuf>) -> ExitCode {
    let spec = crate::http::openapi::spec_json();
    if let Some(path) = check {
        return match std::fs::read_to_string(&path) {
            Ok(text) if text == spec => ExitCode::SUCCESS,
            Ok(_) => {
                eprintln!("{} is out of date: run `kairos-api openapi --output {}`", path.display(), path.display());
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("cannot read {}: {e}", path.display());
                ExitCode::FAILURE
            }
        };
    }
    match output {
        Some(path) => match std::fs::write(&path, spec) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        None => {
            print!("{spec}");
            ExitCode::SUCCESS
        }
    }
}
