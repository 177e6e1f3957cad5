//! The HTTP price feed against a local fake of CoinGecko's `simple/price`: exact prices, the
//! cache and a caller's freshness, the limiter's spacing, the API key header, and every way
//! the feed can fail (429, 500, garbage, slow, an old price) without a price being invented.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use kairos_keepers::price_feed::http::{HttpFeed, HttpFeedOptions};
use kairos_keepers::price_feed::{FeedError, PriceFeed};
use kairos_platform::config::{PriceFeedSettings, PriceSource, Secret};

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// The price, updated `age_s` seconds ago.
    Ok {
        age_s: i64,
    },
    Status(u16),
    Garbage,
    /// The price without `last_updated_at`: as fresh as the call.
    Untimed,
    /// A 100 KB answer: more than any price.
    Huge,
    Slow,
}

struct Fake {
    mode: Mutex<Mode>,
    /// Each call: when it arrived, its query and its API key header.
    calls: Mutex<Vec<(Instant, String, Option<String>)>>,
}

impl Fake {
    fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }
    fn calls(&self) -> usize {
        self.calls.lock().expect("calls").len()
    }
}

async fn answer(State(fake): State<Arc<Fake>>, headers: HeaderMap, RawQuery(query): RawQuery) -> (StatusCode, String) {
    let query = query.unwrap_or_default();
    let key = headers.get("x-cg-demo-api-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    fake.calls.lock().expect("calls").push((Instant::now(), query.clone(), key));
    let mode = *fake.mode.lock().expect("mode");
    let symbol = query.split('&').find_map(|kv| kv.strip_prefix("ids=")).unwrap_or("").to_string();
    match mode {
        Mode::Ok { age_s } => {
            let updated = kairos_domain::now_us() / 1_000_000 - age_s;
            (StatusCode::OK, format!(r#"{{"{symbol}":{{"usd":67187.33,"last_updated_at":{updated}}}}}"#))
        }
        Mode::Status(code) => (StatusCode::from_u16(code).expect("status"), r#"{"status":{"error_code":429}}"#.into()),
        Mode::Garbage => (StatusCode::OK, "<html>maintenance</html>".into()),
        Mode::Untimed => (StatusCode::OK, format!(r#"{{"{symbol}":{{"usd":67187.33}}}}"#)),
        Mode::Huge => (StatusCode::OK, format!(r#"{{"{symbol}":{{"usd":1,"pad":"{}"}}}}"#, "x".repeat(100_000))),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            (StatusCode::OK, "{}".into())
        }
    }
}

async fn fake_feed() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake { mode: Mutex::new(Mode::Ok { age_s: 0 }), calls: Mutex::new(Vec::new()) });
    let app = Router::new().route("/api/v3/simple/price", get(answer)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (fake, format!("http://{addr}/api/v3/simple/price"))
}

fn feed(url: &str, calls_per_minute: u32) -> PriceFeed {
    PriceFeed::Http(Box::new(
        HttpFeed::new(HttpFeedOptions {
            url: url.to_string(),
            api_key: Some(Secret::new("demo-key-1")),
            vs_currency: "usd".into(),
            calls_per_minute,
            cache_ttl: Duration::from_secs(30),
            timeout: Duration::from_millis(300),
        })
        .expect("feed"),
    ))
}

const TEN_S: Duration = Duration::from_secs(10);

#[tokio::test]
async fn prices_are_exact_cached_for_their_callers_and_asked_with_the_key() {
    let (fake, url) = fake_feed().await;
    let feed = feed(&url, 6_000);
    let q = feed.quote("bitcoin", TEN_S).await.expect("quote");
    assert_eq!((q.symbol.as_str(), q.price_micros, q.source), ("bitcoin", 67_187_330_000, "http"));
    {
        let calls = fake.calls.lock().expect("calls");
        let (_, query, key) = &calls[0];
        assert!(query.contains("ids=bitcoin") && query.contains("vs_currencies=usd"), "{query}");
        assert!(query.contains("include_last_updated_at=true") && query.contains("precision=full"), "{query}");
        assert_eq!(key.as_deref(), Some("demo-key-1"));
    }
    assert_eq!(feed.quote("bitcoin", TEN_S).await.expect("cached"), q);
    assert_eq!(fake.calls(), 1, "the second caller got the cached price");
    // A caller whose interval is shorter than the cached price's age gets a fresh one.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    feed.quote("bitcoin", Duration::from_secs(1)).await.expect("fresh");
    assert_eq!(fake.calls(), 2);
    feed.quote("ethereum", TEN_S).await.expect("another symbol");
    assert_eq!(fake.calls(), 3);
    assert!(matches!(feed.quote("BTC&x", TEN_S).await, Err(FeedError::InvalidSymbol(_))));
    assert_eq!(fake.calls(), 3, "a bad symbol is never sent");
}

#[tokio::test]
async fn failures_are_errors_never_prices_and_the_feed_recovers() {
    let (fake, url) = fake_feed().await;
    let feed = feed(&url, 6_000);
    type Expected = fn(&FeedError) -> bool;
    let cases: [(Mode, Expected); 6] = [
        (Mode::Huge, |e| matches!(e, FeedError::Malformed(m) if m.contains("more than"))),
        (Mode::Status(429), |e| *e == FeedError::RateLimited),
        (Mode::Status(500), |e| matches!(e, FeedError::Unavailable(m) if m.contains("500"))),
        (Mode::Garbage, |e| matches!(e, FeedError::Malformed(_))),
        (Mode::Slow, |e| matches!(e, FeedError::Unavailable(_))),
        // Fetched just now, but the source last updated it two minutes ago.
        (Mode::Ok { age_s: 120 }, |e| matches!(e, FeedError::Stale { max_age_ms: 60_000, .. })),
    ];
    for (i, (mode, expected)) in cases.into_iter().enumerate() {
        let symbol = format!("coin-{i}");
        fake.set(mode);
        let before = fake.calls();
        let err = feed.quote(&symbol, Duration::from_secs(60)).await.expect_err("no price");
        assert!(expected(&err), "{mode:?}: {err:?}");
        assert_eq!(fake.calls(), before + 1, "{mode:?}: one call");
        fake.set(Mode::Ok { age_s: 0 });
        let q = feed.quote(&symbol, Duration::from_secs(60)).await.expect("recovered");
        assert_eq!(q.price_micros, 67_187_330_000);
        assert_eq!(fake.calls(), before + 2, "{mode:?}: the failure was not cached");
    }
}

#[tokio::test]
async fn the_limiter_spaces_calls_whatever_the_number_of_markets() {
    let (fake, url) = fake_feed().await;
    // 600 a minute with a burst of one: one call every 100 ms.
    let shared = Arc::new(feed(&url, 600));
    let started = Instant::now();
    let quotes = (0..8).map(|i| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.quote(&format!("coin-{i}"), TEN_S).await })
    });
    for q in quotes {
        q.await.expect("task").expect("quote");
    }
    assert!(started.elapsed() >= Duration::from_millis(650), "{:?}", started.elapsed());
    let arrivals: Vec<Instant> = fake.calls.lock().expect("calls").iter().map(|c| c.0).collect();
    assert_eq!(arrivals.len(), 8);
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= Duration::from_millis(80)), "no two calls together: {gaps:?}");

    // Markets on one symbol that miss the cache together share one call.
    let before = fake.calls();
    let quotes = (0..8).map(|_| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.quote("solana", TEN_S).await })
    });
    for q in quotes {
        q.await.expect("task").expect("quote");
    }
    assert_eq!(fake.calls(), before + 1, "one call for eight markets on one symbol");

    // So do markets asking at the very start of their tick's slot (a price no older than the
    // slot, about a millisecond): waiting for the shared call does not make its answer old.
    fake.set(Mode::Untimed);
    tokio::time::sleep(Duration::from_millis(150)).await; // the limiter's room for one call
    let before = fake.calls();
    let quotes = (0..8).map(|_| {
        let shared = shared.clone();
        tokio::spawn(async move { shared.quote("cardano", Duration::from_millis(1)).await })
    });
    for q in quotes {
        q.await.expect("task").expect("a fresh quote, shared");
    }
    assert_eq!(fake.calls(), before + 1, "one call for eight markets at a slot's start");
    fake.set(Mode::Ok { age_s: 0 });

    // A caller that cannot wait for the budget is told so, and nothing is sent.
    let slow = feed(&url, 1);
    slow.quote("bitcoin", TEN_S).await.expect("the one call of this minute");
    let err = slow.quote("ethereum", Duration::from_millis(200)).await.expect_err("no budget");
    assert_eq!(err, FeedError::Throttled(200));
}

#[tokio::test]
async fn the_settings_choose_the_feed() {
    let simulated = PriceFeedSettings {
        source: Some(PriceSource::Simulated { seed: 3 }),
        calls_per_minute: 50,
        cache_ttl: Duration::from_secs(30),
    };
    let feed = PriceFeed::from_settings(&simulated).expect("feed").expect("configured");
    let q = feed.quote("bitcoin", TEN_S).await.expect("quote");
    assert_eq!(q.source, "simulated");
    let none = PriceFeedSettings { source: None, ..simulated };
    assert!(PriceFeed::from_settings(&none).expect("feed").is_none(), "no feed, nothing invented");
}
