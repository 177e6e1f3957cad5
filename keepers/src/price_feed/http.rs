//! A feed in CoinGecko's `simple/price` format:
//! `GET {url}?ids={symbol}&vs_currencies={vs}&include_last_updated_at=true&precision=full`
//! answers `{"bitcoin":{"usd":67187.33,"last_updated_at":1764900000}}`.
//!
//! Two guards keep a free tier's limit whatever the number of markets: a cache (moka, entries
//! live `KAIROS_FLASH__PRICE_FEED_CACHE_S`) so markets on one symbol share a call, and a limiter
//! (governor, `KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE` with a burst of one, so calls are
//! spaced evenly and no window's edge lets two minutes' worth through). A caller that needs a
//! fresher price than the cache holds fetches again, within the same limiter. One call per
//! symbol is in flight at a time: callers that miss the cache together (a hundred markets at
//! the start of their tick's slot) wait for it and share its answer.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota};
use kairos_platform::config::{Secret, api_key_header};
use moka::future::Cache;
use serde_json::value::RawValue;

use super::{FeedError, Quote, decimal};

/// How long one call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest answer read: one symbol's price is a few dozen bytes.
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct HttpFeedOptions {
    pub url: String,
    pub api_key: Option<Secret>,
    pub vs_currency: String,
    pub calls_per_minute: u32,
    pub cache_ttl: Duration,
    pub timeout: Duration,
}

pub struct HttpFeed {
    url: String,
    api_key: Option<Secret>,
    vs_currency: String,
    client: reqwest::Client,
    cache: Cache<String, Quote>,
    limiter: DefaultDirectRateLimiter,
    /// Per symbol, the call in flight (its lock) and how the last one ended and when.
    flights: std::sync::Mutex<HashMap<String, Arc<Flight>>>,
}

type Flight = tokio::sync::Mutex<Option<(Instant, Result<Quote, FeedError>)>>;

/// The shortest wait for the limiter's room: a caller asking at the very start of its slot
/// (whose price must only be younger than that) still gets a turn.
const MIN_LIMITER_WAIT: Duration = Duration::from_millis(100);

impl std::fmt::Debug for HttpFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFeed")
            .field("url", &self.url)
            .field("vs_currency", &self.vs_currency)
            .finish_non_exhaustive()
    }
}

impl HttpFeed {
    pub fn new(options: HttpFeedOptions) -> Result<Self, FeedError> {
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .map_err(|e| FeedError::Unavailable(format!("cannot build an HTTP client: {e}")))?;
        let per_minute = NonZeroU32::new(options.calls_per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(NonZeroU32::MIN);
        Ok(Self {
            url: options.url,
            api_key: options.api_key,
            vs_currency: options.vs_currency,
            client,
            cache: Cache::builder().max_capacity(10_000).time_to_live(options.cache_ttl).build(),
            limiter: DefaultDirectRateLimiter::direct(quota),
            flights: std::sync::Mutex::default(),
        })
    }

    fn flight(&self, symbol: &str) -> Arc<Flight> {
        let mut flights = self.flights.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        flights.entry(symbol.to_string()).or_default().clone()
    }

    /// The cached price when it is young enough for `max_age`, else the answer of the call in
    /// flight for the symbol when it ends after this caller came, else a new call once the
    /// limiter allows one (waiting at most `max_age`, and at least [`MIN_LIMITER_WAIT`]).
    /// The age counts from `asked_at_us`, when the caller asked.
    pub async fn quote(&self, symbol: &str, max_age: Duration, asked_at_us: i64) -> Result<Quote, FeedError> {
        if let Some(cached) = self.fresh_cached(symbol, max_age, asked_at_us).await {
            return Ok(cached);
        }
        let arrived = Instant::now();
        let flight = self.flight(symbol);
        let mut last = flight.lock().await;
        // A call that ended after this caller came is the one it waited for: its answer (or
        // its failure: a source that just failed is not asked again at once) is shared.
        if let Some((ended, result)) = last.as_ref()
            && *ended >= arrived
        {
            metrics::counter!("kairos_price_feed_cache_hits_total").increment(1);
            return result.clone();
        }
        if let Some(cached) = self.fresh_cached(symbol, max_age, asked_at_us).await {
            return Ok(cached);
        }
        let wait = max_age.max(MIN_LIMITER_WAIT);
        tokio::time::timeout(wait, self.limiter.until_ready())
            .await
            .map_err(|_| FeedError::Throttled(wait.as_millis()))?;
        let result = self.fetch(symbol).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(FeedError::RateLimited) => "rate_limited",
            Err(FeedError::Unavailable(_)) => "unavailable",
            Err(_) => "malformed",
        };
        metrics::counter!("kairos_price_feed_calls_total", "outcome" => outcome).increment(1);
        if let Ok(quote) = &result {
            self.cache.insert(symbol.to_string(), quote.clone()).await;
        }
        *last = Some((Instant::now(), result.clone()));
        result
    }

    async fn fresh_cached(&self, symbol: &str, max_age: Duration, asked_at_us: i64) -> Option<Quote> {
        let cached = self.cache.get(symbol).await?;
        super::fresh(cached.clone(), max_age, asked_at_us).ok()?;
        metrics::counter!("kairos_price_feed_cache_hits_total").increment(1);
        Some(cached)
    }

    async fn fetch(&self, symbol: &str) -> Result<Quote, FeedError> {
        let query = [
            ("ids", symbol),
            ("vs_currencies", self.vs_currency.as_str()),
            ("include_last_updated_at", "true"),
            ("precision", "full"),
        ];
        let mut request = self.client.get(&self.url).query(&query);
        if let Some(key) = &self.api_key {
            request = request.header(api_key_header(&self.url), key.expose());
        }
        let response = request.send().await.map_err(|e| FeedError::Unavailable(e.without_url().to_string()))?;
        let received_at_us = kairos_domain::now_us();
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(FeedError::RateLimited);
        }
        if !status.is_success() {
            return Err(FeedError::Unavailable(format!("HTTP {status}")));
        }
        // Read at most MAX_BODY: a source that answers with megabytes is cut off, not buffered.
        let too_large = || FeedError::Malformed(format!("an answer of more than {MAX_BODY} bytes"));
        if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) =
            response.chunk().await.map_err(|e| FeedError::Unavailable(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        parse(&body, symbol, &self.vs_currency, received_at_us)
    }
}

/// One symbol's price out of a `simple/price` answer received at `received_at_us`.
pub fn parse(body: &[u8], symbol: &str, vs_currency: &str, received_at_us: i64) -> Result<Quote, FeedError> {
    let answer: HashMap<String, HashMap<String, Box<RawValue>>> =
        serde_json::from_slice(body).map_err(|e| FeedError::Malformed(format!("not a simple/price answer: {e}")))?;
    let unknown = || FeedError::UnknownSymbol { symbol: symbol.to_string(), vs_currency: vs_currency.to_string() };
    let fields = answer.get(symbol).ok_or_else(unknown)?;
    let price = fields.get(vs_currency).ok_or_else(unknown)?;
    let price_micros = decimal::micros(price.get()).map_err(FeedError::Malformed)?;
    if price_micros == 0 {
        return Err(FeedError::Malformed(format!("a price below one micro-unit: {}", price.get())));
    }
    let updated_at_us = match fields.get("last_updated_at") {
        None => None,
        Some(raw) => {
            let secs: i64 = raw
                .get()
                .parse()
                .map_err(|_| FeedError::Malformed(format!("last_updated_at is not whole seconds: {}", raw.get())))?;
            Some(secs.saturating_mul(1_000_000))
        }
    };
    let observed_at_us = updated_at_us.map_or(received_at_us, |at| at.min(received_at_us));
    Ok(Quote { symbol: symbol.to_string(), price_micros, observed_at_us, source: "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simple_price_answer_gives_an_exact_price_and_the_source_time() {
        let body = br#"{"bitcoin":{"usd":67187.33,"last_updated_at":1764900000}}"#;
        let q = parse(body, "bitcoin", "usd", 1_764_900_010_000_000).expect("quote");
        assert_eq!((q.price_micros, q.observed_at_us, q.source), (67_187_330_000, 1_764_900_000_000_000, "http"));
        let q = parse(br#"{"bitcoin":{"usd":1.5e-5}}"#, "bitcoin", "usd", 7).expect("no time");
        assert_eq!((q.price_micros, q.observed_at_us), (15, 7), "received time without the source's");
        let ahead = br#"{"bitcoin":{"usd":1,"last_updated_at":1764900099}}"#;
        assert_eq!(
            parse(ahead, "bitcoin", "usd", 1_764_900_000_000_000).expect("q").observed_at_us,
            1_764_900_000_000_000
        );
    }

    #[test]
    fn anything_but_a_price_is_an_error() {
        let unknown = FeedError::UnknownSymbol { symbol: "bitcoin".into(), vs_currency: "usd".into() };
        assert_eq!(parse(br#"{}"#, "bitcoin", "usd", 0), Err(unknown.clone()));
        assert_eq!(parse(br#"{"bitcoin":{"eur":1}}"#, "bitcoin", "usd", 0), Err(unknown));
        for body in [
            &br#"<html>busy</html>"#[..],
            br#"{"bitcoin":{"usd":"67187.33"}}"#,
            br#"{"bitcoin":{"usd":-1}}"#,
            br#"{"bitcoin":{"usd":null}}"#,
            br#"{"bitcoin":{"usd":0}}"#,
            br#"{"bitcoin":{"usd":1,"last_updated_at":"soon"}}"#,
            br#"{"bitcoin":5}"#,
        ] {
            assert!(
                matches!(parse(body, "bitcoin", "usd", 0), Err(FeedError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
