//! The price feed the flash oracle takes its ticks from: an HTTP source in CoinGecko's
//! `simple/price` format ([`http`]) or, in dev and tests only, a seeded random walk
//! ([`simulated`]). Prices are integer micro-units of the quote currency, parsed from the
//! feed's decimal text ([`decimal`]), never through a float.
//!
//! The one rule the oracle relies on lives in [`PriceFeed::quote`]: a price older than the
//! caller's `max_age` (the market's tick interval) is an error, never a tick. Errors are not
//! cached and nothing is invented in their place: a market whose ticks cannot be observed is
//! left to void.

pub mod decimal;
pub mod http;
pub mod simulated;

use std::time::Duration;

use kairos_platform::config::{PriceFeedSettings, PriceSource};

pub use self::http::HttpFeed;
pub use self::simulated::SimulatedFeed;

/// One observed price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub symbol: String,
    /// Micro-units of the quote currency (`67187.33` USD is `67_187_330_000`).
    pub price_micros: u64,
    /// When the price was true: the source's own `last_updated_at` when it gives one (never
    /// later than when we received it), else when we received it. UTC epoch microseconds.
    pub observed_at_us: i64,
    /// `http` or `simulated`: every stored tick says where it came from.
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("the feed refused the call for its rate limit (HTTP 429)")]
    RateLimited,
    #[error("the local call budget (KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE) has no room within {0} ms")]
    Throttled(u128),
    #[error("the feed is unavailable: {0}")]
    Unavailable(String),
    #[error("the feed's answer is not a price: {0}")]
    Malformed(String),
    #[error("the feed has no {vs_currency} price for {symbol:?}")]
    UnknownSymbol { symbol: String, vs_currency: String },
    #[error("{0:?} is not a feed symbol (lower-case letters, digits and dashes, e.g. bitcoin)")]
    InvalidSymbol(String),
    #[error("the freshest price for {symbol} is {age_ms} ms old, older than the {max_age_ms} ms allowed")]
    Stale { symbol: String, age_ms: i64, max_age_ms: u128 },
}

/// The configured feed.
#[derive(Debug)]
pub enum PriceFeed {
    Http(Box<HttpFeed>),
    Simulated(SimulatedFeed),
}

impl PriceFeed {
    /// The feed the settings name; `None` when none is configured (staging/prod without
    /// `KAIROS_FLASH__PRICE_FEED`).
    pub fn from_settings(settings: &PriceFeedSettings) -> Result<Option<Self>, FeedError> {
        Ok(match &settings.source {
            None => None,
            Some(PriceSource::Simulated { seed }) => Some(PriceFeed::Simulated(SimulatedFeed::new(*seed))),
            Some(PriceSource::Http { url, api_key, vs_currency }) => {
                Some(PriceFeed::Http(Box::new(HttpFeed::new(http::HttpFeedOptions {
                    url: url.clone(),
                    api_key: api_key.clone(),
                    vs_currency: vs_currency.clone(),
                    calls_per_minute: settings.calls_per_minute,
                    cache_ttl: settings.cache_ttl,
                    timeout: http::DEFAULT_TIMEOUT,
                })?)))
            }
        })
    }

    /// `symbol`'s price, no older than `max_age`.
    ///
    /// The age counts at the moment of asking: waiting for a call (the limiter, another
    /// market's call in flight) never makes its answer too old.
    pub async fn quote(&self, symbol: &str, max_age: Duration) -> Result<Quote, FeedError> {
        check_symbol(symbol)?;
        let asked_at_us = kairos_domain::now_us();
        let quote = match self {
            PriceFeed::Http(feed) => feed.quote(symbol, max_age, asked_at_us).await?,
            PriceFeed::Simulated(feed) => feed.quote(symbol),
        };
        fresh(quote, max_age, asked_at_us)
    }
}

/// CoinGecko ids: lower-case ASCII letters, digits and dashes.
fn check_symbol(symbol: &str) -> Result<(), FeedError> {
    let ok = !symbol.is_empty()
        && symbol.len() <= 64
        && symbol.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(FeedError::InvalidSymbol(symbol.to_string())) }
}

/// `quote` when it is at most `max_age` old at `now_us`; [`FeedError::Stale`] otherwise.
pub fn fresh(quote: Quote, max_age: Duration, now_us: i64) -> Result<Quote, FeedError> {
    let age_us = now_us.saturating_sub(quote.observed_at_us);
    if u128::try_from(age_us).unwrap_or(0) <= max_age.as_micros() {
        Ok(quote)
    } else {
        Err(FeedError::Stale { symbol: quote.symbol, age_ms: age_us / 1_000, max_age_ms: max_age.as_millis() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(observed_at_us: i64) -> Quote {
        Quote { symbol: "bitcoin".into(), price_micros: 1, observed_at_us, source: "http" }
    }

    #[test]
    fn a_price_older_than_the_interval_is_stale() {
        let max = Duration::from_secs(5);
        assert!(fresh(quote(10_000_000), max, 15_000_000).is_ok(), "exactly the interval");
        assert_eq!(
            fresh(quote(10_000_000), max, 15_000_001),
            Err(FeedError::Stale { symbol: "bitcoin".into(), age_ms: 5_000, max_age_ms: 5_000 })
        );
        assert!(fresh(quote(20_000_000), max, 15_000_000).is_ok(), "a source clock ahead of ours is not stale");
    }

    #[test]
    fn symbols_are_coingecko_ids() {
        assert!(check_symbol("bitcoin").is_ok());
        assert!(check_symbol("usd-coin").is_ok());
        for bad in ["", "Bitcoin", "btc&x=1", "a b", &"a".repeat(65)] {
            assert!(check_symbol(bad).is_err(), "{bad}");
        }
    }
}
