//! The one typed config of Kairos, from `KAIROS_*` environment variables over an optional TOML
//! file (`KAIROS_CONFIG`). Loading never stops at the first mistake: [`load`] returns the
//! effective settings together with every problem found, each naming the variable to set, so
//! `kairos-api config check` and start-up can list them all at once. Outside `dev`/`test` a
//! problem stops start-up (fail closed).

mod local_secrets;
mod secret;
mod sources;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub use local_secrets::LOCAL_SECRETS_FILE_PREFIX;
pub use secret::{Secret, decode_master_key, redact_url};
pub use sources::{Origin, RawSources};

/// Deployment profile. `dev` and `test` are "local": they get defaults and generated secrets;
/// `staging` and `prod` get neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Test,
    Staging,
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Test => "test",
            Profile::Staging => "staging",
            Profile::Prod => "prod",
        }
    }

    pub fn is_local(self) -> bool {
        matches!(self, Profile::Dev | Profile::Test)
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dev" => Ok(Profile::Dev),
            "test" => Ok(Profile::Test),
            "staging" => Ok(Profile::Staging),
            "prod" => Ok(Profile::Prod),
            other => Err(format!("unknown profile {other:?}; expected dev, test, staging or prod")),
        }
    }
}

/// What to do when a store (database, Redis) is missing or unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageMode {
    /// Refuse to start, and report not ready, without every store.
    Strict,
    /// Keep serving on in-process fallbacks, and say so in `/ready` and in metrics.
    Degraded,
}

impl StorageMode {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageMode::Strict => "strict",
            StorageMode::Degraded => "degraded",
        }
    }
}

impl FromStr for StorageMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(StorageMode::Strict),
            "degraded" => Ok(StorageMode::Degraded),
            other => Err(format!("unknown storage mode {other:?}; expected strict or degraded")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("unknown log format {other:?}; expected json or pretty")),
        }
    }
}

/// The settings every Kairos binary runs with. Build with [`load`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub profile: Profile,
    /// Host and port of the API listener.
    pub bind: SocketAddr,
    /// Host and port of the Prometheus listener; localhost unless set.
    pub metrics_bind: SocketAddr,
    /// Host and port of the listener other API instances forward paper requests to; never the
    /// public one. Loopback on a free port unless set (enough for instances on one host).
    pub internal_bind: SocketAddr,
    /// `sqlite:` or `postgres:` URL (a secret: it may hold a password).
    pub database_url: Secret,
    pub database_max_connections: u32,
    pub redis_url: Option<Secret>,
    pub storage_mode: StorageMode,
    pub jwt_secret: Option<Secret>,
    /// The secret being rotated out: tokens it signed still verify until they expire.
    pub jwt_secret_previous: Option<Secret>,
    pub master_key: Option<Secret>,
    /// How far a signed request's timestamp may be from the server clock.
    pub signature_window: Duration,
    /// Also accept signatures over the old, unseparated form `timestamp + METHOD + path + body`
    /// (ambiguous: a query can be moved into the body). Off by default; kept for one release.
    pub signature_legacy_form: bool,
    /// M of the M-of-N kill switch.
    pub kill_switch_approvals: u32,
    /// How long a kill-switch proposal collects approvals.
    pub kill_switch_window: Duration,
    /// A credit above this (micro-units), or any credit to oneself, needs the kill switch's M
    /// operators.
    pub credit_approval_above_micros: i64,
    /// Requests per second by class and principal kind.
    pub rate_limits: RateLimits,
    /// Live API keys one user may hold (more keys must not mean more budget).
    pub max_api_keys_per_user: u32,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client (the load balancers in
    /// front of the instances); from anyone else those headers are ignored. Empty by default.
    pub trusted_proxies: Vec<kairos_domain::IpRule>,
    /// `tracing` filter directives (`info`, `kairos_api=debug,info`).
    pub log: String,
    pub log_format: LogFormat,
    /// Directory for the SQLite files and generated local secrets; relative to the working directory.
    pub data_dir: PathBuf,
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    pub shutdown_grace: Duration,
    pub otlp_endpoint: Option<String>,
    pub trading: Trading,
    pub polymarket: Option<PolymarketCredentials>,
    pub cluster: Cluster,
    /// Where each setting came from, by variable name, for `config check` and the start-up log.
    pub origins: Vec<(&'static str, Origin)>,
    /// Variables that start with `KAIROS_` but mean nothing to Kairos (typos, removed settings).
    pub unknown_variables: Vec<String>,
}

/// One thing wrong with the config, naming the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every variable Kairos reads, with its description; the README's table follows this list.
pub const VARIABLES: &[&str] = &[
    "KAIROS_PROFILE",
    "KAIROS_CONFIG",
    "KAIROS_BIND",
    "KAIROS_METRICS_BIND",
    "KAIROS_INTERNAL_BIND",
    "KAIROS_DATABASE_URL",
    "KAIROS_DATABASE_MAX_CONNECTIONS",
    "KAIROS_REDIS_URL",
    "KAIROS_STORAGE_MODE",
    "KAIROS_JWT_SECRET",
    "KAIROS_MASTER_KEY",
    "KAIROS_LOG",
    "KAIROS_LOG_FORMAT",
    "KAIROS_DATA_DIR",
    "KAIROS_REQUEST_TIMEOUT_MS",
    "KAIROS_BODY_LIMIT_BYTES",
    "KAIROS_CORS_ORIGINS",
    "KAIROS_SHUTDOWN_GRACE_MS",
    "KAIROS_JWT_SECRET_PREVIOUS",
    "KAIROS_SIGNATURE_WINDOW_MS",
    "KAIROS_SIGNATURE_LEGACY_FORM",
    "KAIROS_KILL_SWITCH__APPROVALS",
    "KAIROS_KILL_SWITCH__WINDOW_SECS",
    "KAIROS_CREDIT__APPROVAL_ABOVE",
    "KAIROS_API_KEYS__MAX_PER_USER",
    "KAIROS_TRUSTED_PROXIES",
    "KAIROS_PAPER__MAKER_FEE_BPS",
    "KAIROS_PAPER__TAKER_FEE_BPS",
    "KAIROS_RISK__MAX_ORDER_NOTIONAL",
    "KAIROS_RISK__MAX_OPEN_ORDERS",
    "KAIROS_RISK__PRICE_BAND",
    "KAIROS_RISK__MAX_MARKET_EXPOSURE",
    "KAIROS_INSTANCE_ID",
    "KAIROS_ADVERTISE_URL",
    "KAIROS_MARKET_LEASE_MS",
    "KAIROS_POLYMARKET__API_KEY",
    "KAIROS_POLYMARKET__API_SECRET",
    "KAIROS_POLYMARKET__API_PASSPHRASE",
    "KAIROS_POLYMARKET__PRIVATE_KEY",
    "KAIROS_POLYMARKET__FUNDER",
    "KAIROS_POLYMARKET__SIGNATURE_TYPE",
    "KAIROS_POLYMARKET__CLOB_BASE_URL",
    "KAIROS_POLYMARKET__WS_URL",
    "KAIROS_POLYMARKET__CHAIN_ID",
    "KAIROS_POLYMARKET__POLL_MS",
    "KAIROS_POLYMARKET__TIMEOUT_MS",
    "KAIROS_POLYMARKET__ORDERS_PER_SECOND",
    "KAIROS_POLYMARKET__USER_SHARE_PERCENT",
];

/// The settings that turn the Polymarket venue on; all four secrets or none.
pub const POLYMARKET_REQUIRED: [&str; 4] = [
    "KAIROS_POLYMARKET__API_KEY",
    "KAIROS_POLYMARKET__API_SECRET",
    "KAIROS_POLYMARKET__API_PASSPHRASE",
    "KAIROS_POLYMARKET__PRIVATE_KEY",
];

/// Trading rules: paper fees and the risk limits every order meets. Amounts in micro-units;
/// zero turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trading {
    pub maker_fee_bps: i64,
    pub taker_fee_bps: i64,
    pub max_order_notional_micros: i64,
    pub max_open_orders: u32,
    pub price_band_micros: i64,
    pub max_market_exposure_micros: i64,
}

/// Polymarket CLOB credentials, present only when every required one is set.
#[derive(Debug, Clone)]
pub struct PolymarketCredentials {
    pub api_key: Secret,
    pub api_secret: Secret,
    pub api_passphrase: Secret,
    pub private_key: Secret,
    pub funder: Option<String>,
    pub signature_type: u8,
    pub clob_base_url: String,
    /// The user channel (`wss://…/ws/user`); orders and trades arrive here first.
    pub ws_url: String,
    /// 137 (Polygon) or 80002 (Amoy): picks the exchange contracts orders are signed for.
    pub chain_id: u64,
    /// How often every unsettled order is looked up over REST, whatever the websocket says.
    pub poll: Duration,
    /// How long one CLOB request may take before its outcome counts as unknown.
    pub timeout: Duration,
    /// Orders this instance places on the CLOB per second, all users together (a share of the
    /// omnibus account's order bucket; cancels have their own and are never counted here).
    pub orders_per_second: u32,
    /// The part of `orders_per_second` one user may take, in percent.
    pub user_share_percent: u32,
}

/// How this instance takes part in matching paper markets when several share a database.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Unique per running instance; unset: `<hostname>/<bound address>`, so a restarted
    /// instance takes its own leases back at once.
    pub instance_id: Option<String>,
    /// Where other instances forward orders for markets this one matches; unset:
    /// `http://<bound address>`.
    pub advertise_url: Option<String>,
    /// How long a market lease lasts without renewal.
    pub lease: Duration,
}

/// Rate-limit classes: what a route costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    Read,
    Trade,
    /// Cheaper than trade, so a market maker can always pull quotes.
    Cancel,
    Auth,
}

impl RateClass {
    pub const ALL: [RateClass; 4] = [RateClass::Read, RateClass::Trade, RateClass::Cancel, RateClass::Auth];

    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Read => "read",
            RateClass::Trade => "trade",
            RateClass::Cancel => "cancel",
            RateClass::Auth => "auth",
        }
    }
}

/// Who is calling, for rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// Keyed by client address.
    Anonymous,
    /// A signed-in user (JWT).
    User,
    /// An API key.
    Key,
    /// One user's whole account: their token and every key of theirs together. Spent on top of
    /// the user's or key's own budget, so more keys never multiply what an account may send.
    Account,
}

impl PrincipalKind {
    pub const ALL: [PrincipalKind; 4] =
        [PrincipalKind::Anonymous, PrincipalKind::User, PrincipalKind::Key, PrincipalKind::Account];

    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Anonymous => "anonymous",
            PrincipalKind::User => "user",
            PrincipalKind::Key => "key",
            PrincipalKind::Account => "account",
        }
    }
}

/// Requests per second per principal, by class and kind
/// (`KAIROS_RATE_LIMITS__<CLASS>__<KIND>`). Reloaded on SIGHUP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    per_second: [[u32; 4]; 4],
}

impl RateLimits {
    /// Defaults: cancels are the cheapest for keys so quotes can always be pulled.
    pub const DEFAULT: RateLimits = RateLimits {
        per_second: [
            // anonymous, user, key, account (every key and token of one user together)
            [20, 50, 100, 200], // read
            [1, 10, 50, 100],   // trade
            [1, 50, 200, 400],  // cancel
            [5, 10, 10, 20],    // auth
        ],
    };

    pub fn get(&self, class: RateClass, kind: PrincipalKind) -> u32 {
        self.per_second[class as usize][kind as usize]
    }

    pub fn set(&mut self, class: RateClass, kind: PrincipalKind, value: u32) {
        self.per_second[class as usize][kind as usize] = value;
    }

    pub fn variable(class: RateClass, kind: PrincipalKind) -> String {
        format!("KAIROS_RATE_LIMITS__{}__{}", class.as_str().to_ascii_uppercase(), kind.as_str().to_ascii_uppercase())
    }
}

/// Variable names that other systems (and the platform Kairos replaces, and Kairos itself
/// before it dropped its unused `KAIROS_DEV_AUTH_BYPASS`) used to switch authentication off.
/// Kairos reads none of them; set to a true value outside `dev`/`test`, any of them stops
/// start-up, so a deployment that believes it turned auth off learns that it did not.
const AUTH_BYPASS_VARIABLES: &[&str] = &[
    "KAIROS_DEV_AUTH_BYPASS",
    "KAIROS_AUTH_BYPASS",
    "KAIROS_DISABLE_AUTH",
    "KAIROS_AUTH_DISABLED",
    "KAIROS_SKIP_AUTH",
    "KAIROS_INSECURE",
];

/// JWT secrets seen in templates and tutorials; refused outside `dev`/`test`.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "placeholder",
    "your-secret",
    "your_secret",
    "secret",
    "supersecret",
    "jwt-secret",
    "jwt_secret",
    "example",
    "password",
    "development",
];

pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Loads settings from the process environment (and `KAIROS_CONFIG`), fills generated local
/// secrets in `dev`/`test`, and validates. Returns the settings and every problem found.
pub fn load() -> (Settings, Vec<Problem>) {
    match RawSources::from_process() {
        Ok(raw) => load_from(&raw),
        Err(message) => {
            let (settings, mut problems) = load_from(&RawSources::default());
            problems.insert(0, Problem { variable: "KAIROS_CONFIG", message });
            (settings, problems)
        }
    }
}

/// [`load`] over explicit sources.
pub fn load_from(raw: &RawSources) -> (Settings, Vec<Problem>) {
    let mut p = Parser { raw, problems: Vec::new(), origins: Vec::new() };
    let profile = p.parse("KAIROS_PROFILE", || Profile::Dev);
    let local = profile.is_local();

    let bind_default: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8080));
    let bind = p.parse("KAIROS_BIND", || bind_default);
    if !local && p.origin_of("KAIROS_BIND") == Origin::Default {
        p.problem("KAIROS_BIND", "must be set explicitly outside dev/test (host:port, e.g. 0.0.0.0:8080)");
    }
    if local && !bind.ip().is_loopback() {
        p.problem(
            "KAIROS_BIND",
            "the dev and test profiles listen on loopback only (their secrets and defaults are not for a network); set KAIROS_PROFILE=staging or prod",
        );
    }
    let metrics_bind = p.parse("KAIROS_METRICS_BIND", || SocketAddr::from(([127, 0, 0, 1], 9090)));
    let internal_bind = p.parse("KAIROS_INTERNAL_BIND", || SocketAddr::from(([127, 0, 0, 1], 0)));
    let data_dir = PathBuf::from(p.string("KAIROS_DATA_DIR", || "data".to_string()));

    let database_url = p.string("KAIROS_DATABASE_URL", || {
        format!("sqlite:{}", data_dir.join(format!("kairos-{}.db", profile.as_str())).display())
    });
    if !local && p.origin_of("KAIROS_DATABASE_URL") == Origin::Default {
        p.problem("KAIROS_DATABASE_URL", "must be set outside dev/test (postgres://user:password@host:5432/db)");
    }
    if let Err(message) = crate::storage::Backend::from_url(&database_url) {
        p.problem("KAIROS_DATABASE_URL", &message);
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

    let mut jwt_secret = p.optional("KAIROS_JWT_SECRET").map(Secret::new);
    let mut master_key = p.optional("KAIROS_MASTER_KEY").map(Secret::new);
    if local && (jwt_secret.is_none() || master_key.is_none()) {
        match local_secrets::load_or_create(&data_dir, profile) {
            Ok(generated) => {
                if jwt_secret.is_none() {
                    jwt_secret = Some(generated.jwt_secret);
                    p.set_origin("KAIROS_JWT_SECRET", Origin::Generated);
                }
                if master_key.is_none() {
                    master_key = Some(generated.master_key);
                    p.set_origin("KAIROS_MASTER_KEY", Origin::Generated);
                }
            }
            Err(message) => p.problem("KAIROS_DATA_DIR", &message),
        }
    }
    check_jwt_secret(&mut p, "KAIROS_JWT_SECRET", jwt_secret.as_ref(), local);
    let jwt_secret_previous = p.optional("KAIROS_JWT_SECRET_PREVIOUS").map(Secret::new);
    if jwt_secret_previous.is_some() {
        check_jwt_secret(&mut p, "KAIROS_JWT_SECRET_PREVIOUS", jwt_secret_previous.as_ref(), local);
    }
    let signature_window = Duration::from_millis(p.parse("KAIROS_SIGNATURE_WINDOW_MS", || 5_000u64));
    let signature_legacy_form = p.parse_bool("KAIROS_SIGNATURE_LEGACY_FORM");
    let kill_switch_approvals = p.parse("KAIROS_KILL_SWITCH__APPROVALS", || 2u32);
    if kill_switch_approvals == 0 {
        p.problem("KAIROS_KILL_SWITCH__APPROVALS", "must be at least 1");
    }
    let kill_switch_window = Duration::from_secs(p.parse("KAIROS_KILL_SWITCH__WINDOW_SECS", || 900u64));
    let credit_approval_above_micros = p.amount("KAIROS_CREDIT__APPROVAL_ABOVE", 10_000 * 1_000_000);
    let max_api_keys_per_user = p.parse("KAIROS_API_KEYS__MAX_PER_USER", || 10u32);
    let mut trusted_proxies = Vec::new();
    for entry in p.optional("KAIROS_TRUSTED_PROXIES").unwrap_or_default().split(',').filter(|e| !e.trim().is_empty()) {
        match kairos_domain::IpRule::parse(entry) {
            Ok(rule) => trusted_proxies.push(rule),
            Err(e) => p.problem("KAIROS_TRUSTED_PROXIES", &e),
        }
    }
    let mut rate_limits = RateLimits::DEFAULT;
    let mut limit_names = Vec::new();
    for class in RateClass::ALL {
        for kind in PrincipalKind::ALL {
            let name = RateLimits::variable(class, kind);
            if let Some((value, _)) = raw.get(&name) {
                match value.trim().parse::<u32>() {
                    Ok(v) if v > 0 => rate_limits.set(class, kind, v),
                    _ => p.problems.push(Problem {
                        variable: "KAIROS_RATE_LIMITS",
                        message: format!(
                            "{name}: expected a positive whole number of requests per second, got {value:?}"
                        ),
                    }),
                }
            }
            limit_names.push(name);
        }
    }
    check_master_key(&mut p, master_key.as_ref(), local);

    let log = p.string("KAIROS_LOG", || "info".to_string());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
        p.problem("KAIROS_LOG", &format!("not a valid tracing filter: {e}"));
    }
    let log_format =
        p.parse("KAIROS_LOG_FORMAT", || if profile == Profile::Dev { LogFormat::Pretty } else { LogFormat::Json });
    let request_timeout = Duration::from_millis(p.parse("KAIROS_REQUEST_TIMEOUT_MS", || 10_000u64));
    let body_limit_bytes = p.parse("KAIROS_BODY_LIMIT_BYTES", || 1_048_576usize);
    let cors_origins: Vec<String> = p
        .string("KAIROS_CORS_ORIGINS", || if local { "*".to_string() } else { String::new() })
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let shutdown_grace = Duration::from_millis(p.parse("KAIROS_SHUTDOWN_GRACE_MS", || 30_000u64));
    if !local {
        for name in AUTH_BYPASS_VARIABLES {
            if let Some((value, _)) = raw.get(name)
                && is_truthy(value)
            {
                p.problem(name, "auth bypass toggles are refused outside dev/test; unset it");
            }
        }
    }
    let otlp_endpoint = raw.get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|(v, _)| v.to_string());
    let trading = Trading {
        maker_fee_bps: p.parse("KAIROS_PAPER__MAKER_FEE_BPS", || 0i64),
        taker_fee_bps: p.parse("KAIROS_PAPER__TAKER_FEE_BPS", || 0i64),
        max_order_notional_micros: p.amount("KAIROS_RISK__MAX_ORDER_NOTIONAL", 100_000 * 1_000_000),
        max_open_orders: p.parse("KAIROS_RISK__MAX_OPEN_ORDERS", || 1_000u32),
        price_band_micros: p.amount("KAIROS_RISK__PRICE_BAND", 500_000),
        max_market_exposure_micros: p.amount("KAIROS_RISK__MAX_MARKET_EXPOSURE", 1_000_000 * 1_000_000),
    };
    for (name, bps) in
        [("KAIROS_PAPER__MAKER_FEE_BPS", trading.maker_fee_bps), ("KAIROS_PAPER__TAKER_FEE_BPS", trading.taker_fee_bps)]
    {
        if !(0..=1_000).contains(&bps) {
            p.problem(name, "must be between 0 and 1000 basis points");
        }
    }
    let polymarket = polymarket_credentials(&mut p);
    let cluster = Cluster {
        instance_id: p.optional("KAIROS_INSTANCE_ID"),
        advertise_url: p.optional("KAIROS_ADVERTISE_URL"),
        lease: Duration::from_millis(p.parse("KAIROS_MARKET_LEASE_MS", || 3_000u64)),
    };
    if cluster.lease < Duration::from_millis(500) {
        p.problem("KAIROS_MARKET_LEASE_MS", "must be at least 500");
    }

    let unknown_variables = raw
        .keys()
        .filter(|k| k.starts_with("KAIROS_"))
        .filter(|k| !VARIABLES.contains(k) && !AUTH_BYPASS_VARIABLES.contains(k))
        .filter(|k| !limit_names.iter().any(|n| n == k))
        .map(str::to_string)
        .collect();

    let Parser { problems, origins, .. } = p;
    let settings = Settings {
        profile,
        bind,
        metrics_bind,
        internal_bind,
        database_url: Secret::new(database_url),
        database_max_connections,
        redis_url: redis_url.map(Secret::new),
        storage_mode,
        jwt_secret,
        jwt_secret_previous,
        master_key,
        signature_window,
        signature_legacy_form,
        kill_switch_approvals,
        kill_switch_window,
        credit_approval_above_micros,
        max_api_keys_per_user,
        trusted_proxies,
        rate_limits,
        log,
        log_format,
        data_dir,
        request_timeout,
        body_limit_bytes,
        cors_origins,
        shutdown_grace,
        otlp_endpoint,
        trading,
        polymarket,
        cluster,
        origins,
        unknown_variables,
    };
    (settings, problems)
}

/// The Polymarket credentials when all required ones are set; a partial set is a problem
/// (half-configured credentials must not silently leave the venue off).
fn polymarket_credentials(p: &mut Parser<'_>) -> Option<PolymarketCredentials> {
    let values: Vec<Option<String>> = POLYMARKET_REQUIRED.iter().map(|v| p.optional(v)).collect();
    let funder = p.optional("KAIROS_POLYMARKET__FUNDER");
    let signature_type = p.parse("KAIROS_POLYMARKET__SIGNATURE_TYPE", || 0u8);
    if signature_type > 3 {
        p.problem(
            "KAIROS_POLYMARKET__SIGNATURE_TYPE",
            "must be 0 (EOA), 1 (POLY_PROXY), 2 (GNOSIS_SAFE) or 3 (POLY_1271)",
        );
    }
    let clob_base_url = p.string("KAIROS_POLYMARKET__CLOB_BASE_URL", || "https://clob.polymarket.com".to_string());
    let ws_url =
        p.string("KAIROS_POLYMARKET__WS_URL", || "wss://ws-subscriptions-clob.polymarket.com/ws/user".to_string());
    let chain_id = p.parse("KAIROS_POLYMARKET__CHAIN_ID", || 137u64);
    if chain_id != 137 && chain_id != 80002 {
        p.problem("KAIROS_POLYMARKET__CHAIN_ID", "must be 137 (Polygon) or 80002 (Amoy)");
    }
    let poll = Duration::from_millis(p.parse("KAIROS_POLYMARKET__POLL_MS", || 5_000u64));
    if poll < Duration::from_millis(100) {
        p.problem("KAIROS_POLYMARKET__POLL_MS", "must be at least 100");
    }
    let timeout = Duration::from_millis(p.parse("KAIROS_POLYMARKET__TIMEOUT_MS", || 10_000u64));
    if timeout < Duration::from_millis(100) {
        p.problem("KAIROS_POLYMARKET__TIMEOUT_MS", "must be at least 100");
    }
    let orders_per_second = p.parse("KAIROS_POLYMARKET__ORDERS_PER_SECOND", || 20u32);
    if orders_per_second == 0 {
        p.problem("KAIROS_POLYMARKET__ORDERS_PER_SECOND", "must be at least 1");
    }
    let user_share_percent = p.parse("KAIROS_POLYMARKET__USER_SHARE_PERCENT", || 25u32);
    if !(1..=100).contains(&user_share_percent) {
        p.problem("KAIROS_POLYMARKET__USER_SHARE_PERCENT", "must be between 1 and 100");
    }
    let set = values.iter().filter(|v| v.is_some()).count();
    if set == 0 {
        return None;
    }
    if set < values.len() {
        for (name, value) in POLYMARKET_REQUIRED.iter().zip(&values) {
            if value.is_none() {
                p.problem(name, "is missing: the Polymarket venue needs all of API_KEY, API_SECRET, API_PASSPHRASE and PRIVATE_KEY, or none");
            }
        }
        return None;
    }
    let mut it = values.into_iter().flatten().map(Secret::new);
    Some(PolymarketCredentials {
        api_key: it.next()?,
        api_secret: it.next()?,
        api_passphrase: it.next()?,
        private_key: it.next()?,
        funder,
        signature_type,
        clob_base_url,
        ws_url,
        chain_id,
        poll,
        timeout,
        orders_per_second,
        user_share_percent,
    })
}

fn check_jwt_secret(p: &mut Parser<'_>, variable: &'static str, secret: Option<&Secret>, local: bool) {
    let Some(secret) = secret else {
        p.problem(variable, "is missing; set at least 32 random bytes (e.g. `openssl rand -base64 48`)");
        return;
    };
    if local {
        return;
    }
    let value = secret.expose();
    let lower = value.to_ascii_lowercase();
    if value.len() < MIN_JWT_SECRET_BYTES {
        p.problem(variable, &format!("is {} bytes; at least {MIN_JWT_SECRET_BYTES} are required", value.len()));
    } else if PLACEHOLDER_SECRETS.iter().any(|ph| lower.contains(ph)) || distinct_bytes(value) < 8 {
        p.problem(variable, "is a placeholder or low-entropy value; generate a random one");
    }
}

fn check_master_key(p: &mut Parser<'_>, key: Option<&Secret>, local: bool) {
    let Some(key) = key else {
        if !local {
            p.problem("KAIROS_MASTER_KEY", "is missing; set 32 random bytes, base64 (e.g. `openssl rand -base64 32`)");
        }
        return;
    };
    if let Err(message) = secret::decode_master_key(key.expose()) {
        p.problem("KAIROS_MASTER_KEY", &message);
    }
}

fn distinct_bytes(s: &str) -> usize {
    let mut seen = [false; 256];
    s.bytes().for_each(|b| seen[usize::from(b)] = true);
    seen.iter().filter(|b| **b).count()
}

fn is_truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

struct Parser<'a> {
    raw: &'a RawSources,
    problems: Vec<Problem>,
    origins: Vec<(&'static str, Origin)>,
}

impl Parser<'_> {
    fn problem(&mut self, variable: &'static str, message: &str) {
        self.problems.push(Problem { variable, message: message.to_string() });
    }

    fn set_origin(&mut self, variable: &'static str, origin: Origin) {
        match self.origins.iter_mut().find(|(v, _)| *v == variable) {
            Some(entry) => entry.1 = origin,
            None => self.origins.push((variable, origin)),
        }
    }

    fn origin_of(&self, variable: &str) -> Origin {
        self.origins.iter().find(|(v, _)| *v == variable).map_or(Origin::Default, |(_, o)| *o)
    }

    fn string(&mut self, variable: &'static str, default: impl FnOnce() -> String) -> String {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                value.to_string()
            }
            None => {
                self.set_origin(variable, Origin::Default);
                default()
            }
        }
    }

    /// A decimal amount in collateral units (`"100000"`, `"0.25"`), returned in micro-units.
    fn amount(&mut self, variable: &'static str, default: i64) -> i64 {
        let text = self.string(variable, || kairos_domain::format_micros(default));
        match kairos_domain::parse_micros(text.trim()) {
            Ok(v) if v >= 0 => v,
            _ => {
                self.problem(variable, &format!("expected a non-negative decimal amount (e.g. 0.25), got {text:?}"));
                default
            }
        }
    }

    fn optional(&mut self, variable: &'static str) -> Option<String> {
        match self.raw.get(variable) {
            Some((value, origin)) if !value.trim().is_empty() => {
                self.set_origin(variable, origin);
                Some(value.to_string())
            }
            _ => {
                self.set_origin(variable, Origin::Default);
                None
            }
        }
    }

    fn parse<T>(&mut self, variable: &'static str, default: impl FnOnce() -> T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                match value.trim().parse::<T>() {
                    Ok(v) => v,
                    Err(e) => {
                        self.problem(variable, &format!("cannot parse {value:?}: {e}"));
                        default()
                    }
                }
            }
            None => {
                self.set_origin(variable, Origin::Default);
                default()
            }
        }
    }

    fn parse_bool(&mut self, variable: &'static str) -> bool {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                match value.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" | "" => false,
                    other => {
                        self.problem(variable, &format!("expected true or false, got {other:?}"));
                        false
                    }
                }
            }
            None => {
                self.set_origin(variable, Origin::Default);
                false
            }
        }
    }
}

impl Settings {
    /// The effective settings as `VARIABLE = value (origin)` lines, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        let origin = |name: &str| self.origins.iter().find(|(v, _)| *v == name).map_or("default", |(_, o)| o.as_str());
        let secret = |s: &Option<Secret>| if s.is_some() { "[redacted]" } else { "(unset)" };
        let values: Vec<(&str, String)> = vec![
            ("KAIROS_PROFILE", self.profile.as_str().to_string()),
            ("KAIROS_BIND", self.bind.to_string()),
            ("KAIROS_METRICS_BIND", self.metrics_bind.to_string()),
            ("KAIROS_INTERNAL_BIND", self.internal_bind.to_string()),
            ("KAIROS_DATABASE_URL", redact_url(self.database_url.expose())),
            ("KAIROS_DATABASE_MAX_CONNECTIONS", self.database_max_connections.to_string()),
            ("KAIROS_REDIS_URL", self.redis_url.as_ref().map_or("(unset)".to_string(), |u| redact_url(u.expose()))),
            ("KAIROS_STORAGE_MODE", self.storage_mode.as_str().to_string()),
            ("KAIROS_JWT_SECRET", secret(&self.jwt_secret).to_string()),
            ("KAIROS_MASTER_KEY", secret(&self.master_key).to_string()),
            ("KAIROS_LOG", self.log.clone()),
            (
                "KAIROS_LOG_FORMAT",
                match self.log_format {
                    LogFormat::Json => "json".to_string(),
                    LogFormat::Pretty => "pretty".to_string(),
                },
            ),
            ("KAIROS_DATA_DIR", self.data_dir.display().to_string()),
            ("KAIROS_REQUEST_TIMEOUT_MS", self.request_timeout.as_millis().to_string()),
            ("KAIROS_BODY_LIMIT_BYTES", self.body_limit_bytes.to_string()),
            ("KAIROS_CORS_ORIGINS", self.cors_origins.join(",")),
            ("KAIROS_SHUTDOWN_GRACE_MS", self.shutdown_grace.as_millis().to_string()),
            ("KAIROS_JWT_SECRET_PREVIOUS", secret(&self.jwt_secret_previous).to_string()),
            ("KAIROS_SIGNATURE_WINDOW_MS", self.signature_window.as_millis().to_string()),
            ("KAIROS_SIGNATURE_LEGACY_FORM", self.signature_legacy_form.to_string()),
            ("KAIROS_KILL_SWITCH__APPROVALS", self.kill_switch_approvals.to_string()),
            ("KAIROS_KILL_SWITCH__WINDOW_SECS", self.kill_switch_window.as_secs().to_string()),
            ("KAIROS_CREDIT__APPROVAL_ABOVE", kairos_domain::format_micros(self.credit_approval_above_micros)),
            ("KAIROS_API_KEYS__MAX_PER_USER", self.max_api_keys_per_user.to_string()),
            (
                "KAIROS_TRUSTED_PROXIES",
                self.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
            ),
            ("KAIROS_PAPER__MAKER_FEE_BPS", self.trading.maker_fee_bps.to_string()),
            ("KAIROS_PAPER__TAKER_FEE_BPS", self.trading.taker_fee_bps.to_string()),
            ("KAIROS_RISK__MAX_ORDER_NOTIONAL", kairos_domain::format_micros(self.trading.max_order_notional_micros)),
            ("KAIROS_RISK__MAX_OPEN_ORDERS", self.trading.max_open_orders.to_string()),
            ("KAIROS_RISK__PRICE_BAND", kairos_domain::format_micros(self.trading.price_band_micros)),
            ("KAIROS_RISK__MAX_MARKET_EXPOSURE", kairos_domain::format_micros(self.trading.max_market_exposure_micros)),
            (
                "KAIROS_INSTANCE_ID",
                self.cluster.instance_id.clone().unwrap_or_else(|| "(unset: <hostname>/<address>)".into()),
            ),
            (
                "KAIROS_ADVERTISE_URL",
                self.cluster.advertise_url.clone().unwrap_or_else(|| "(unset: http://<address>)".into()),
            ),
            ("KAIROS_MARKET_LEASE_MS", self.cluster.lease.as_millis().to_string()),
            (
                "KAIROS_POLYMARKET__API_KEY",
                if self.polymarket.is_some() {
                    "set: the Polymarket venue is configured"
                } else {
                    "(unset: Polymarket venue off)"
                }
                .to_string(),
            ),
        ];
        let mut lines: Vec<String> = values.into_iter().map(|(k, v)| format!("{k} = {v} ({})", origin(k))).collect();
        for class in RateClass::ALL {
            for kind in PrincipalKind::ALL {
                lines.push(format!("{} = {}/s", RateLimits::variable(class, kind), self.rate_limits.get(class, kind)));
            }
        }
        lines.push(format!(
            "OTEL_EXPORTER_OTLP_ENDPOINT = {}",
            self.otlp_endpoint.as_deref().unwrap_or("(unset: no trace export)")
        ));
        lines
    }

    /// The file that holds generated local secrets for this profile, when one is used.
    pub fn local_secrets_path(&self) -> Option<PathBuf> {
        let generated = self.origins.iter().any(|(_, o)| *o == Origin::Generated);
        generated.then(|| local_secrets::path(Path::new(&self.data_dir), self.profile))
    }
}

#[cfg(test)]
mod tests;
