//! What flash markets read (`KAIROS_FLASH__*`): the program on the chain (whose config account
//! names the collateral mint and fee account, so they are not settings),
//! the circuit markets are proved with and their schedule's limits, and the price feed the
//! oracle takes its ticks from. A core setting: the API opens markets and builds wallets'
//! transactions, the keepers act on them, and both probe the feed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Secret;
use super::parser::Parser;

/// Where ticks come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceSource {
    /// An HTTP source in CoinGecko's `simple/price` format.
    Http {
        /// The `simple/price` endpoint, e.g. `https://api.coingecko.com/api/v3/simple/price`.
        url: String,
        /// Sent as `x-cg-pro-api-key` to `pro-api.coingecko.com`, as `x-cg-demo-api-key` elsewhere.
        api_key: Option<Secret>,
        /// The currency prices are quoted in (`usd`).
        vs_currency: String,
    },
    /// A seeded random walk, labelled `simulated` in every tick: dev and tests only.
    Simulated { seed: u64 },
}

/// The header an API key goes in: CoinGecko's paid plans answer on `pro-api.coingecko.com` and
/// read `x-cg-pro-api-key`; its free (demo) plan, and any other source in its format,
/// `x-cg-demo-api-key`.
pub fn api_key_header(url: &str) -> &'static str {
    let host = url.split("://").nth(1).unwrap_or(url).split(['/', ':', '?']).next().unwrap_or("");
    if host == "pro-api.coingecko.com" { "x-cg-pro-api-key" } else { "x-cg-demo-api-key" }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceFeedSettings {
    /// `None` outside dev/test when no feed is configured: nothing may invent ticks there.
    pub source: Option<PriceSource>,
    /// Calls the source gets per minute, with a burst of one: CoinGecko's free tier counts
    /// calls in a sliding minute, and a plain per-minute quota lets two minutes' worth through
    /// around a window's edge.
    pub calls_per_minute: u32,
    /// How long a fetched price is reused (a caller that needs a fresher one fetches again).
    pub cache_ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSettings {
    pub price_feed: PriceFeedSettings,
    /// The flash-bets program's address (base58).
    pub program_id: String,
    /// The verifying key's slot on chain that new markets are proved against.
    pub circuit_id: u32,
    /// Ticks per market: the circuit's size, fixed by its keys.
    pub ticks: u16,
    /// Time between the last tick and the deadline, to prove, lock, resolve and confirm.
    pub resolve_window: Duration,
    /// The most a wallet's or a keeper's transaction bids per compute unit (micro-lamports),
    /// whatever `getRecentPrioritizationFees` says.
    pub max_priority_fee_micro_lamports: u64,
    /// The oracle's keypair (Solana's JSON array of 64 bytes), refused unless mode 0600. In
    /// dev/test it defaults to a file under the data directory, made on first use.
    pub oracle_keypair_file: Option<PathBuf>,
    /// The ceremony's key directory (`proving_key.bin`, `ceremony.json`) the oracle proves
    /// with. In dev/test a directory under the data directory, where `kairos-api` makes a
    /// single-party dev key on first start.
    pub proving_key_dir: Option<PathBuf>,
}

/// The dev/test key directory's name under the data directory.
pub const DEV_PROVING_KEY_DIR: &str = "flash-keys.dev";

/// The dev/test oracle keypair's file name under the data directory.
pub const DEV_ORACLE_KEYPAIR_FILE: &str = "flash-oracle.dev.json";

/// The program id `declare_id!` gives kairos-flash-bets (a test holds them equal).
pub const DEFAULT_PROGRAM_ID: &str = "F1ashBets1111111111111111111111111111111111";

/// Whether `s` is base58 of exactly 32 bytes, as every Solana address is.
pub fn is_address(s: &str) -> bool {
    bs58::decode(s).into_vec().is_ok_and(|b| b.len() == 32)
}

/// The value that selects the simulated feed.
pub const SIMULATED: &str = "simulated";

pub(super) fn load_flash(p: &mut Parser<'_>, local: bool, data_dir: &Path) -> FlashSettings {
    let feed = p.optional("KAIROS_FLASH__PRICE_FEED").or_else(|| local.then(|| SIMULATED.to_string()));
    let api_key = p.optional("KAIROS_FLASH__PRICE_FEED_API_KEY").map(Secret::new);
    let vs_currency = p.string("KAIROS_FLASH__PRICE_FEED_VS_CURRENCY", || "usd".to_string());
    let seed = p.parse("KAIROS_FLASH__PRICE_FEED_SEED", || 1u64);
    let source = match feed.as_deref().map(str::trim) {
        None => None,
        Some(SIMULATED) => {
            if !local {
                p.problem(
                    "KAIROS_FLASH__PRICE_FEED",
                    "the simulated price feed is for dev and tests only; set the http(s) URL of a real feed",
                );
            }
            Some(PriceSource::Simulated { seed })
        }
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Some(PriceSource::Http { url: url.to_string(), api_key, vs_currency })
        }
        Some(_) => {
            p.problem("KAIROS_FLASH__PRICE_FEED", "must be an http(s) URL of a simple/price endpoint, or `simulated`");
            None
        }
    };
    let calls_per_minute = p.parse("KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE", || 50u32);
    if calls_per_minute == 0 {
        p.problem("KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE", "must be at least 1");
    }
    let cache_ttl = Duration::from_secs(p.parse("KAIROS_FLASH__PRICE_FEED_CACHE_S", || 30u64));
    let program_id = p.string("KAIROS_FLASH__PROGRAM_ID", || DEFAULT_PROGRAM_ID.to_string());
    if !is_address(&program_id) {
        p.problem("KAIROS_FLASH__PROGRAM_ID", "must be a Solana address (base58 of 32 bytes)");
    }
    let circuit_id = p.parse("KAIROS_FLASH__CIRCUIT_ID", || 1u32);
    let ticks = p.parse("KAIROS_FLASH__TICKS", || 16u16);
    if !(1..=64).contains(&ticks) {
        p.problem("KAIROS_FLASH__TICKS", "must be between 1 and 64 (the circuit's size)");
    }
    let resolve_window = Duration::from_secs(p.parse("KAIROS_FLASH__RESOLVE_WINDOW_S", || 120u64));
    if resolve_window.as_secs() < 10 || resolve_window.as_secs() > 3_600 {
        p.problem("KAIROS_FLASH__RESOLVE_WINDOW_S", "must be between 10 and 3600 seconds");
    }
    let max_priority_fee_micro_lamports = p.parse("KAIROS_FLASH__MAX_PRIORITY_FEE_MICRO_LAMPORTS", || 100_000u64);
    let oracle_keypair_file = p
        .optional("KAIROS_FLASH__ORACLE_KEYPAIR_FILE")
        .map(PathBuf::from)
        .or_else(|| local.then(|| data_dir.join(DEV_ORACLE_KEYPAIR_FILE)));
    let proving_key_dir = p
        .optional("KAIROS_FLASH__PROVING_KEY_DIR")
        .map(PathBuf::from)
        .or_else(|| local.then(|| data_dir.join(DEV_PROVING_KEY_DIR)));
    FlashSettings {
        oracle_keypair_file,
        proving_key_dir,
        price_feed: PriceFeedSettings { source, calls_per_minute: calls_per_minute.max(1), cache_ttl },
        program_id,
        circuit_id,
        ticks,
        resolve_window,
        max_priority_fee_micro_lamports,
    }
}
