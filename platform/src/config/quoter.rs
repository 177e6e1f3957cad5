//! What `kairos-quoter run` reads: the profile and logging of every binary, its own
//! `KAIROS_QUOTER__*` settings, and the Polymarket venue's account for the `polymarket`
//! target. Nothing of the database or Redis: the quoter keeps no store, so a `prod` quoter
//! starts without them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::parser::Parser;
use super::{LogFormat, Origin, PolymarketCredentials, Profile, Secret};

/// Where the quoter sends its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoterTarget {
    /// The Polymarket CLOB, with the venue's credentials (`KAIROS_POLYMARKET__*`).
    Polymarket,
    /// A Kairos paper market through the public API, as a market maker with an API key.
    Kairos,
}

impl QuoterTarget {
    pub fn as_str(self) -> &'static str {
        match self {
            QuoterTarget::Polymarket => "polymarket",
            QuoterTarget::Kairos => "kairos",
        }
    }
}

impl FromStr for QuoterTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "polymarket" => Ok(QuoterTarget::Polymarket),
            "kairos" => Ok(QuoterTarget::Kairos),
            other => Err(format!("unknown target {other:?}; expected polymarket or kairos")),
        }
    }
}

/// How the fair price is taken from the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoterFair {
    Mid,
    Microprice,
}

impl FromStr for QuoterFair {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mid" => Ok(QuoterFair::Mid),
            "microprice" => Ok(QuoterFair::Microprice),
            other => Err(format!("unknown fair price {other:?}; expected mid or microprice")),
        }
    }
}

/// The token the recorded frames shipped with the quoter quote: the default in dev.
pub const RECORDED_TOKEN: &str = "65818619657568813474341868652308942079804919287380422192892211131408793125422";

/// The file `kairos-api` writes in `dev` (under its data directory) with the key of the
/// market maker the quoter trades as when no `KAIROS_QUOTER__API_KEY` is set.
pub const DEV_QUOTER_ACCOUNT_FILE: &str = "dev-quoter.json";

/// The market maker's API key on the Kairos API (the `kairos` target).
#[derive(Debug, Clone)]
pub struct QuoterApiKey {
    pub key_id: String,
    /// As `POST /v1/api-keys` gives it: url-safe base64.
    pub secret: Secret,
}

/// The settings `kairos-quoter run` runs with. Amounts in micro-units (prices in micro-units
/// of 1.0, sizes in micro-shares, notional in micro-USDC).
#[derive(Debug, Clone)]
pub struct QuoterSettings {
    pub profile: Profile,
    pub log: String,
    pub log_format: LogFormat,
    pub otlp_endpoint: Option<String>,
    pub metrics_bind: SocketAddr,
    pub target: QuoterTarget,
    /// The Polymarket token ids quoted (decimal), one market each.
    pub tokens: Vec<String>,
    /// The tokens' tick size in micro-units (10,000 for 0.01), until the feed says otherwise.
    pub tick: i64,
    pub neg_risk: bool,
    pub fair: QuoterFair,
    pub half_spread: i64,
    pub size: i64,
    /// Micro-units of price the quotes move per share of inventory.
    pub skew: i64,
    /// The inventory (micro-shares) at which the adding side stops being quoted.
    pub max_inventory: i64,
    /// The risk gate's position limit (micro-shares), resting orders included.
    pub max_position: i64,
    /// The risk gate's largest order, price × size (micro-USDC).
    pub max_notional: i64,
    /// How far from the touch a quote may sit (micro-units of price).
    pub price_band: i64,
    pub max_orders_per_s: u32,
    /// The CLOB's market channel.
    pub feed_url: String,
    /// Frames to replay when the feed cannot be reached: a file of one frame per line; unset,
    /// the frames built into the binary.
    pub recorded_feed: Option<String>,
    /// How often the CLOB heartbeat is sent on the order connection (milliseconds).
    pub heartbeat_ms: u64,
    pub polymarket: Option<PolymarketCredentials>,
    /// The Kairos API the `kairos` target quotes on.
    pub api_url: String,
    /// The market maker's key there; unset in `dev`, the one `kairos-api` wrote to
    /// [`QuoterSettings::dev_account_file`].
    pub api_key: Option<QuoterApiKey>,
    /// Where `kairos-api` writes the dev market maker's key (`KAIROS_DATA_DIR`).
    pub dev_account_file: PathBuf,
    /// The platform's database, where the `polymarket` target reads the kill switch (the
    /// `kairos` target meets it in the API's answers). Required for that target outside
    /// dev and test; nothing else is read from it.
    pub database_url: Option<Secret>,
    /// Where each variable read came from.
    pub origins: Vec<(&'static str, Origin)>,
    /// `KAIROS_*` variables no binary reads (typos, removed settings).
    pub unknown_variables: Vec<String>,
}

pub(super) fn load_quoter(p: &mut Parser<'_>) -> QuoterSettings {
    let profile = p.parse("KAIROS_PROFILE", || Profile::Dev);
    let log = p.string("KAIROS_LOG", || "info".to_string());
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log) {
        p.problem("KAIROS_LOG", &format!("not a valid tracing filter: {e}"));
    }
    let log_format =
        p.parse("KAIROS_LOG_FORMAT", || if profile == Profile::Dev { LogFormat::Pretty } else { LogFormat::Json });
    let otlp_endpoint = p.optional("OTEL_EXPORTER_OTLP_ENDPOINT");
    let metrics_bind = p.parse("KAIROS_QUOTER__METRICS_BIND", || SocketAddr::from(([127, 0, 0, 1], 9093)));
    let target = p.parse("KAIROS_QUOTER__TARGET", || QuoterTarget::Kairos);
    let tokens: Vec<String> = p
        .string("KAIROS_QUOTER__TOKENS", || RECORDED_TOKEN.to_string())
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() || tokens.iter().any(|t| !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 78) {
        p.problem("KAIROS_QUOTER__TOKENS", "must be one or more token ids in decimal, comma-separated");
    }
    let tick = p.amount("KAIROS_QUOTER__TICK", 10_000);
    if ![100_000, 10_000, 5_000, 2_500, 1_000, 100].contains(&tick) {
        p.problem(
            "KAIROS_QUOTER__TICK",
            "must be one of the CLOB's tick sizes: 0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001",
        );
    }
    let neg_risk = p.parse_flag("KAIROS_QUOTER__NEG_RISK", false);
    let fair = p.parse("KAIROS_QUOTER__FAIR", || QuoterFair::Mid);
    let half_spread = p.amount("KAIROS_QUOTER__HALF_SPREAD", 10_000);
    let size = p.amount("KAIROS_QUOTER__SIZE", 10_000_000);
    let skew = p.amount("KAIROS_QUOTER__SKEW", 0);
    let max_inventory = p.amount("KAIROS_QUOTER__MAX_INVENTORY", 100_000_000);
    let max_position = p.amount("KAIROS_QUOTER__MAX_POSITION", 500_000_000);
    let max_notional = p.amount("KAIROS_QUOTER__MAX_NOTIONAL", 100_000_000);
    let price_band = p.amount("KAIROS_QUOTER__PRICE_BAND", 100_000);
    let max_orders_per_s = p.parse("KAIROS_QUOTER__MAX_ORDERS_PER_S", || 10u32);
    for (name, value) in [
        ("KAIROS_QUOTER__HALF_SPREAD", half_spread),
        ("KAIROS_QUOTER__SIZE", size),
        ("KAIROS_QUOTER__MAX_INVENTORY", max_inventory),
        ("KAIROS_QUOTER__MAX_POSITION", max_position),
        ("KAIROS_QUOTER__PRICE_BAND", price_band),
    ] {
        if value <= 0 {
            p.problem(name, "must be more than 0");
        }
    }
    if half_spread % 100 != 0 || price_band % 100 != 0 {
        p.problem("KAIROS_QUOTER__HALF_SPREAD", "prices are quoted in 0.0001 steps: at most 4 decimals");
    }
    if size % 10_000 != 0 {
        p.problem("KAIROS_QUOTER__SIZE", "the CLOB takes sizes in 0.01-share lots: at most 2 decimals");
    }
    if max_orders_per_s == 0 {
        p.problem("KAIROS_QUOTER__MAX_ORDERS_PER_S", "must be at least 1");
    }
    let feed_url =
        p.string("KAIROS_QUOTER__FEED_URL", || "wss://ws-subscriptions-clob.polymarket.com/ws/market".to_string());
    if !(feed_url.starts_with("wss://") || feed_url.starts_with("ws://")) {
        p.problem("KAIROS_QUOTER__FEED_URL", "must be a ws:// or wss:// URL");
    }
    let recorded_feed = p.optional("KAIROS_QUOTER__RECORDED_FEED");
    let heartbeat_ms = p.parse("KAIROS_QUOTER__HEARTBEAT_MS", || 5_000u64);
    if !(1_000..=8_000).contains(&heartbeat_ms) {
        p.problem(
            "KAIROS_QUOTER__HEARTBEAT_MS",
            "must be from 1000 to 8000: the CLOB cancels every order after 10 s without one",
        );
    }
    let api_url = p.string("KAIROS_QUOTER__API_URL", || "http://127.0.0.1:8080".to_string());
    if !(api_url.starts_with("http://") || api_url.starts_with("https://")) {
        p.problem("KAIROS_QUOTER__API_URL", "must be an http:// or https:// URL");
    }
    let api_key = match (p.optional("KAIROS_QUOTER__API_KEY"), p.optional("KAIROS_QUOTER__API_SECRET")) {
        (Some(key_id), Some(secret)) => Some(QuoterApiKey { key_id, secret: Secret::new(secret) }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            p.problem(
                "KAIROS_QUOTER__API_KEY",
                "set both KAIROS_QUOTER__API_KEY and KAIROS_QUOTER__API_SECRET, or neither",
            );
            None
        }
    };
    if target == QuoterTarget::Kairos && api_key.is_none() && profile != Profile::Dev {
        p.problem(
            "KAIROS_QUOTER__API_KEY",
            "the kairos target trades as a market maker: set KAIROS_QUOTER__API_KEY and KAIROS_QUOTER__API_SECRET \
             (only dev falls back to the key kairos-api writes for it)",
        );
    }
    let dev_account_file =
        PathBuf::from(p.string("KAIROS_DATA_DIR", || "data".to_string())).join(DEV_QUOTER_ACCOUNT_FILE);
    let database_url = p.optional("KAIROS_DATABASE_URL").map(Secret::new);
    if target == QuoterTarget::Polymarket && database_url.is_none() && !profile.is_local() {
        p.problem(
            "KAIROS_DATABASE_URL",
            "the polymarket target follows the platform's kill switch in its database: set it (only dev and test quote without)",
        );
    }
    let polymarket = super::polymarket::polymarket_credentials(p);
    if target == QuoterTarget::Polymarket && polymarket.is_none() {
        p.problem(
            "KAIROS_POLYMARKET__API_KEY",
            "the polymarket target trades only with the venue's credentials (all four KAIROS_POLYMARKET__ secrets)",
        );
    }
    QuoterSettings {
        profile,
        log,
        log_format,
        otlp_endpoint,
        metrics_bind,
        target,
        tokens,
        tick,
        neg_risk,
        fair,
        half_spread,
        size,
        skew,
        max_inventory,
        max_position,
        max_notional,
        price_band,
        max_orders_per_s,
        feed_url,
        recorded_feed,
        heartbeat_ms,
        polymarket,
        api_url,
        api_key,
        dev_account_file,
        database_url,
        origins: Vec::new(),
        unknown_variables: Vec::new(),
    }
}
