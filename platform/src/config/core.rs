//! What every binary reads: the profile, the stores, logs and telemetry, and the refusals that
//! hold for any binary outside `dev`/`test` (an auth-bypass toggle).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::flash::{FlashSettings, load_flash};
use super::parser::{Parser, is_truthy};
use super::{LogFormat, Origin, Profile, Secret, StorageMode};

/// The settings every binary runs with.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub profile: Profile,
    /// `sqlite:` or `postgres:` URL (a secret: it may hold a password).
    pub database_url: Secret,
    pub database_max_connections: u32,
    pub redis_url: Option<Secret>,
    pub storage_mode: StorageMode,
    /// Host and port of the Prometheus listener; localhost unless set.
    pub metrics_bind: SocketAddr,
    /// `tracing` filter directives (`info`, `kairos_api=debug,info`).
    pub log: String,
    pub log_format: LogFormat,
    /// Directory for the SQLite files and generated local secrets; relative to the working directory.
    pub data_dir: PathBuf,
    pub shutdown_grace: Duration,
    pub otlp_endpoint: Option<String>,
    pub time: TimeSettings,
    pub solana: SolanaEndpoints,
    pub backup: BackupSettings,
    pub flash: FlashSettings,
    /// Auth-bypass toggles set to a true value (refused outside dev/test, ignored in them).
    pub auth_bypass_set: Vec<&'static str>,
    /// Where each setting came from, by variable name, for `config check` and the start-up log.
    pub origins: Vec<(&'static str, Origin)>,
    /// Variables that start with `KAIROS_` but mean nothing to Kairos (typos, removed settings).
    pub unknown_variables: Vec<String>,
}

/// How preflight checks the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeSettings {
    /// `host:port` of each NTP server; empty when none is configured.
    pub ntp_servers: Vec<String>,
    pub max_drift: Duration,
}

/// The Solana endpoints this deployment uses, when it uses a chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SolanaEndpoints {
    pub rpc_url: Option<String>,
    pub ws_url: Option<String>,
    /// The cluster's name as wallets know it (`mainnet-beta`, `devnet`, `localnet`), shown in
    /// `GET /v1/flash/config`.
    pub cluster: String,
}

/// Where backups go and how they are sealed: `kairos-api backup`/`restore` and the keepers'
/// hourly `backup` job read the same settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupSettings {
    /// `file:///dir` or `s3://bucket/prefix` (S3 credentials, region and endpoint from the
    /// usual `AWS_*` variables).
    pub url: Option<String>,
    /// The age X25519 recipient (`age1…`) every backup is encrypted to: only the public half
    /// lives beside the database.
    pub age_recipient: Option<String>,
    /// The age identity file restores decrypt with (readable by its owner only).
    pub age_identity_file: Option<PathBuf>,
}

/// Variable names that other systems (and the platform Kairos replaces, and Kairos itself
/// before it dropped its unused `KAIROS_DEV_AUTH_BYPASS`) used to switch authentication off.
/// Kairos reads none of them; set to a true value outside `dev`/`test`, any of them stops
/// start-up, so a deployment that believes it turned auth off learns that it did not.
pub const AUTH_BYPASS_VARIABLES: &[&str] = &[
    "KAIROS_DEV_AUTH_BYPASS",
    "KAIROS_AUTH_BYPASS",
    "KAIROS_DISABLE_AUTH",
    "KAIROS_AUTH_DISABLED",
    "KAIROS_SKIP_AUTH",
    "KAIROS_INSECURE",
];

/// Reads the core variables; `origins` and `unknown_variables` are filled by the caller once
/// every variable of its binary is read.
pub(super) fn load_core(p: &mut Parser<'_>) -> CoreSettings {
    p.optional("KAIROS_CONFIG");
    let profile = p.parse("KAIROS_PROFILE", || Profile::Dev);
    let local = profile.is_local();
    let metrics_bind = p.parse("KAIROS_METRICS_BIND", || SocketAddr::from(([127, 0, 0, 1], 9090)));
    let data_dir = PathBuf::from(p.string("KAIROS_DATA_DIR", || "data".to_string()));

    let database_url = p.string("KAIROS_DATABASE_URL", || {
        format!("sqlite:{}", data_dir.join(format!("kairos-{}.db", profile.as_str())).display())
    });
    if !local && p.origin_of("KAIROS_DATABASE_URL") == Origin::Default {
        p.problem("KAIROS_DATABASE_URL", "must be set outside dev/test (postgres://user:password@host:5432/db)");
    }
    if let Err(e) = crate::storage::Backend::from_url(&database_url) {
        p.problem("KAIROS_DATABASE_URL", &e.to_string());
    }
    let database_max_connections = p.parse("KAIROS_DATABASE_MAX_CONNECTIONS", || 16u32);
    if database_max_connections == 0 {
        p.problem("KAIROS_DATABASE_MAX_CONNECTIONS", "must be at least 1");
    }
    let redis_url = p.optional("KAIROS_REDIS_URL");
    if let Some(url) = &redis_url
        && !(url.starts_with("redis://") || url.starts_with("rediss://"))
    {
        p.problem("KAIROS_REDIS_URL", "must start with redis:// or rediss://");
    }
    let storage_mode =
        p.parse("KAIROS_STORAGE_MODE", || if local { StorageMode::Degraded } else { StorageMode::Strict });
    if storage_mode == StorageMode::Strict && redis_url.is_none() {
        p.problem(
            "KAIROS_REDIS_URL",
            "strict storage mode needs Redis: set KAIROS_REDIS_URL (or KAIROS_STORAGE_MODE=degraded)",
        );
    }
    let log = p.string("KAIROS_LOG", || "info".to_string());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
        p.problem("KAIROS_LOG", &format!("not a valid tracing filter: {e}"));
    }
    let log_format =
        p.parse("KAIROS_LOG_FORMAT", || if profile == Profile::Dev { LogFormat::Pretty } else { LogFormat::Json });
    let shutdown_grace = Duration::from_millis(p.parse("KAIROS_SHUTDOWN_GRACE_MS", || 30_000u64));
    let auth_bypass_set: Vec<&'static str> = AUTH_BYPASS_VARIABLES
        .iter()
        .copied()
        .filter(|name| p.raw.get(name).is_some_and(|(value, _)| is_truthy(value)))
        .collect();
    if !local {
        for name in &auth_bypass_set {
            p.problem(name, "auth bypass toggles are refused outside dev/test; unset it");
        }
    }
    let otlp_endpoint = p.optional("OTEL_EXPORTER_OTLP_ENDPOINT");
    let time = load_time(p);
    let solana = load_solana(p, local);
    let backup = load_backup(p);
    let flash = load_flash(p, local, &data_dir);
    CoreSettings {
        profile,
        database_url: Secret::new(database_url),
        database_max_connections,
        redis_url: redis_url.map(Secret::new),
        storage_mode,
        metrics_bind,
        log,
        log_format,
        data_dir,
        shutdown_grace,
        otlp_endpoint,
        time,
        solana,
        backup,
        flash,
        auth_bypass_set,
        origins: Vec::new(),
        unknown_variables: Vec::new(),
    }
}

fn load_time(p: &mut Parser<'_>) -> TimeSettings {
    let ntp_servers: Vec<String> = p
        .optional("KAIROS_TIME__NTP_SERVERS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for server in &ntp_servers {
        let port_ok =
            server.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            p.problem("KAIROS_TIME__NTP_SERVERS", &format!("{server:?} is not host:port (e.g. pool.ntp.org:123)"));
        }
    }
    let max_drift = Duration::from_millis(p.parse("KAIROS_TIME__MAX_DRIFT_MS", || 1_000u64));
    if max_drift.is_zero() {
        p.problem("KAIROS_TIME__MAX_DRIFT_MS", "must be at least 1");
    }
    TimeSettings { ntp_servers, max_drift }
}

fn load_solana(p: &mut Parser<'_>, local: bool) -> SolanaEndpoints {
    let rpc_url = p.optional("KAIROS_SOLANA__RPC_URL");
    if let Some(url) = &rpc_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        p.problem("KAIROS_SOLANA__RPC_URL", "must start with http:// or https://");
    }
    let ws_url = p.optional("KAIROS_SOLANA__WS_URL");
    if let Some(url) = &ws_url
        && !(url.starts_with("ws://") || url.starts_with("wss://"))
    {
        p.problem("KAIROS_SOLANA__WS_URL", "must start with ws:// or wss://");
    }
    let cluster = p.string("KAIROS_SOLANA__CLUSTER", || if local { "localnet" } else { "mainnet-beta" }.to_string());
    if !matches!(cluster.as_str(), "mainnet-beta" | "devnet" | "testnet" | "localnet") {
        p.problem("KAIROS_SOLANA__CLUSTER", "must be mainnet-beta, devnet, testnet or localnet");
    }
    SolanaEndpoints { rpc_url, ws_url, cluster }
}

fn load_backup(p: &mut Parser<'_>) -> BackupSettings {
    let url = p.optional("KAIROS_BACKUP__URL");
    if let Some(url) = &url {
        let ok = url.strip_prefix("file://").is_some_and(|dir| dir.starts_with('/'))
            || url.strip_prefix("s3://").is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !ok {
            p.problem("KAIROS_BACKUP__URL", "must be file:///absolute/dir or s3://bucket[/prefix]");
        }
    }
    let age_recipient = p.optional("KAIROS_BACKUP__AGE_RECIPIENT");
    if let Some(r) = &age_recipient
        && !r.starts_with("age1")
    {
        p.problem("KAIROS_BACKUP__AGE_RECIPIENT", "must be an age X25519 recipient (age1…, from `age-keygen -y`)");
    }
    let age_identity_file = p.optional("KAIROS_BACKUP__AGE_IDENTITY_FILE").map(PathBuf::from);
    BackupSettings { url, age_recipient, age_identity_file }
}
