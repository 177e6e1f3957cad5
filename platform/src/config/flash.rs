//! What flash markets read (`KAIROS_FLASH__*`): the price feed the oracle takes its ticks from.
//! A core setting, because the API's preflight probes the feed as the keepers do.

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
}

/// The value that selects the simulated feed.
pub const SIMULATED: &str = "simulated";

pub(super) fn load_flash(p: &mut Parser<'_>, local: bool) -> FlashSettings {
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
    FlashSettings { price_feed: PriceFeedSettings { source, calls_per_minute: calls_per_minute.max(1), cache_ttl } }
}
