//! What only `kairos-api` reads: its listeners, the secrets of sessions and keys, signed
//! requests, approvals, limits, trading rules, the Polymarket venue and clustering.

use std::net::SocketAddr;
use std::time::Duration;

use super::parser::Parser;
use super::polymarket::{PolymarketCredentials, polymarket_credentials};
use super::rate_limits::{PrincipalKind, RateClass, RateLimits};
use super::{CoreSettings, Origin, Problem, Secret, local_secrets, secret};

/// The settings `kairos-api` runs with. Build with [`super::load_api`].
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub core: CoreSettings,
    /// Host and port of the API listener.
    pub bind: SocketAddr,
    /// Host and port of the listener other API instances forward paper requests to; never the
    /// public one. Loopback on a free port unless set (enough for instances on one host).
    pub internal_bind: SocketAddr,
    pub jwt_secret: Option<Secret>,
    /// The secret being rotated out: tokens it signed still verify until they expire.
    pub jwt_secret_previous: Option<Secret>,
    pub master_key: Option<Secret>,
    /// The master key being rotated out: secrets it encrypted still decrypt until
    /// `kairos-api api-keys reencrypt` has moved them to the current key.
    pub master_key_previous: Option<Secret>,
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
    pub request_timeout: Duration,
    pub body_limit_bytes: usize,
    /// Allowed CORS origins; `*` allows any.
    pub cors_origins: Vec<String>,
    pub trading: Trading,
    pub polymarket: Option<PolymarketCredentials>,
    pub cluster: Cluster,
}

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

/// Reads the API's variables over `core`; returns the settings and the names of the rate-limit
/// variables it knows (a family, not in the table by name).
pub(super) fn load_api(p: &mut Parser<'_>, core: CoreSettings) -> (ApiSettings, Vec<String>) {
    let profile = core.profile;
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
    let internal_bind = p.parse("KAIROS_INTERNAL_BIND", || SocketAddr::from(([127, 0, 0, 1], 0)));

    let mut jwt_secret = p.optional("KAIROS_JWT_SECRET").map(Secret::new);
    let mut master_key = p.optional("KAIROS_MASTER_KEY").map(Secret::new);
    if local && (jwt_secret.is_none() || master_key.is_none()) {
        match local_secrets::load_or_create(&core.data_dir, profile) {
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
    check_jwt_secret(p, "KAIROS_JWT_SECRET", jwt_secret.as_ref(), local);
    let jwt_secret_previous = p.optional("KAIROS_JWT_SECRET_PREVIOUS").map(Secret::new);
    if jwt_secret_previous.is_some() {
        check_jwt_secret(p, "KAIROS_JWT_SECRET_PREVIOUS", jwt_secret_previous.as_ref(), local);
    }
    check_master_key(p, "KAIROS_MASTER_KEY", master_key.as_ref(), local);
    let master_key_previous = p.optional("KAIROS_MASTER_KEY_PREVIOUS").map(Secret::new);
    if master_key_previous.is_some() {
        check_master_key(p, "KAIROS_MASTER_KEY_PREVIOUS", master_key_previous.as_ref(), local);
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
            Err(e) => p.problem("KAIROS_TRUSTED_PROXIES", &e.to_string()),
        }
    }
    let mut rate_limits = RateLimits::DEFAULT;
    let mut limit_names = Vec::new();
    for class in RateClass::ALL {
        for kind in PrincipalKind::ALL {
            let name = RateLimits::variable(class, kind);
            if let Some((value, _)) = p.raw.get(&name) {
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
    let request_timeout = Duration::from_millis(p.parse("KAIROS_REQUEST_TIMEOUT_MS", || 10_000u64));
    let body_limit_bytes = p.parse("KAIROS_BODY_LIMIT_BYTES", || 1_048_576usize);
    let cors_origins: Vec<String> = p
        .string("KAIROS_CORS_ORIGINS", || if local { "*".to_string() } else { String::new() })
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
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
    let polymarket = polymarket_credentials(p);
    let cluster = Cluster {
        instance_id: p.optional("KAIROS_INSTANCE_ID"),
        advertise_url: p.optional("KAIROS_ADVERTISE_URL"),
        lease: Duration::from_millis(p.parse("KAIROS_MARKET_LEASE_MS", || 3_000u64)),
    };
    if cluster.lease < Duration::from_millis(500) {
        p.problem("KAIROS_MARKET_LEASE_MS", "must be at least 500");
    }
    let settings = ApiSettings {
        core,
        bind,
        internal_bind,
        jwt_secret,
        jwt_secret_previous,
        master_key,
        master_key_previous,
        signature_window,
        signature_legacy_form,
        kill_switch_approvals,
        kill_switch_window,
        credit_approval_above_micros,
        max_api_keys_per_user,
        trusted_proxies,
        rate_limits,
        request_timeout,
        body_limit_bytes,
        cors_origins,
        trading,
        polymarket,
        cluster,
    };
    (settings, limit_names)
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

pub(super) fn check_master_key(p: &mut Parser<'_>, variable: &'static str, key: Option<&Secret>, local: bool) {
    let Some(key) = key else {
        if !local {
            p.problem(variable, "is missing; set 32 random bytes, base64 (e.g. `openssl rand -base64 32`)");
        }
        return;
    };
    if let Err(e) = secret::decode_master_key(key.expose()) {
        p.problem(variable, &e.to_string());
    }
}

fn distinct_bytes(s: &str) -> usize {
    let mut seen = [false; 256];
    s.bytes().for_each(|b| seen[usize::from(b)] = true);
    seen.iter().filter(|b| **b).count()
}
