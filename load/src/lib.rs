//! The load generator behind `kairos-load` and the API's crash test: several market makers
//! submit signed orders (API keys, as real market makers do) against a running server, and the
//! report gives throughput and latency percentiles. It is a client like any other: it signs
//! with its own code ([`sign`]), which the server checks with its own. Orders are buys of YES and of NO around
//! the middle, so about half of them cross and trade (minting pairs) and the rest rest.

mod sign;
pub mod soak;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use sign::{Signer, sign};

/// A market maker's API key, as `kairos-api dev-accounts` prints it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub user_id: String,
    pub key_id: String,
    pub secret: String,
}

/// What `kairos-api dev-accounts` prints: the market to trade and the accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accounts {
    pub market_id: String,
    pub accounts: Vec<Account>,
}

impl Accounts {
    /// Reads the file `kairos-api dev-accounts` wrote; the error names the file.
    pub fn read(path: &std::path::Path) -> Result<Accounts, String> {
        std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub base_url: String,
    pub accounts: Accounts,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub duration: Duration,
    /// Orders a second offered in all, spread evenly over the workers; `None`: each worker
    /// sends its next order as soon as the last is answered, so the rate is what the server
    /// sustains at this concurrency. With a rate, an order's latency counts from when it was
    /// due, so a server that falls behind is charged for the wait.
    pub rate: Option<u64>,
}

/// When a worker's `n`-th order (from 0) is due after the start, at `rate` orders a second
/// over `concurrency` workers: the workers take turns, so orders leave evenly spaced.
pub(crate) fn due(n: u64, worker: usize, concurrency: usize, rate: u64) -> Duration {
    let slot = u128::from(n) * concurrency as u128 + worker as u128;
    let nanos = slot * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// An order the server acknowledged (2xx): what the crash test checks survived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub user_id: String,
    pub order_id: String,
    pub client_order_id: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub elapsed: Duration,
    pub acked: Vec<Acked>,
    /// Errors by status code or transport failure.
    pub errors: BTreeMap<String, u64>,
    /// Latency of every acknowledged order, in microseconds.
    pub latencies_us: Vec<u64>,
    /// The plan's rate, when it had one.
    pub offered: Option<u64>,
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.acked.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0..=1), in microseconds.
    pub fn percentile(&self, q: f64) -> u64 {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        quantile(&sorted, q)
    }

    pub fn summary(&self) -> serde_json::Value {
        let ms = |us: u64| us as f64 / 1_000.0;
        serde_json::json!({
            "seconds": self.elapsed.as_secs_f64(),
            "acknowledged": self.acked.len(),
            "orders_per_second": (self.throughput() * 10.0).round() / 10.0,
            "offered_per_second": self.offered,
            "latency_ms": {
                "p50": ms(self.percentile(0.50)),
                "p90": ms(self.percentile(0.90)),
                "p99": ms(self.percentile(0.99)),
                "p999": ms(self.percentile(0.999)),
                "max": ms(self.percentile(1.0)),
            },
            "errors": self.errors,
        })
    }
}

/// The value at quantile `q` (0..=1) of sorted values (nearest rank); 0 when there are none.
pub(crate) fn quantile(sorted: &[u64], q: f64) -> u64 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0 };
    sorted[((last as f64 * q).round() as usize).min(last)]
}

/// Server time minus local time in milliseconds (`GET /v1/time`), so signed requests carry the
/// server's clock; 0 when the server does not answer.
pub(crate) async fn server_skew_ms(client: &reqwest::Client, base_url: &str) -> i64 {
    match client.get(format!("{base_url}/v1/time")).send().await {
        Ok(r) => {
            r.json::<serde_json::Value>().await.ok().and_then(|v| v["epoch_ms"].as_i64()).map_or(0, |t| t - now_ms())
        }
        Err(_) => 0,
    }
}

/// How a request that got no answer failed, as the reports count it.
pub(crate) fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "connect"
    } else if e.is_timeout() {
        "timeout"
    } else {
        "transport"
    }
}

pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// What sets this process's client order ids apart from every earlier run's on the same
/// database (its start in epoch milliseconds and its process id): a warm-up and the measured
/// run after it, or two load generators at once, would otherwise send the same ids, and the
/// server would answer the second as a replay of the first instead of placing it.
fn run_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| format!("{}.{}", now_ms(), std::process::id()))
}

/// The n-th order of a worker: YES or NO, 0.45–0.55, with a client order id of its own.
pub(crate) fn order_body(market_id: &str, worker: usize, n: u64) -> serde_json::Value {
    let mix = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33) ^ worker as u64;
    let outcome = (mix & 1) as u32;
    let price = 45 + (mix >> 1) % 11;
    serde_json::json!({
        "market_id": market_id,
        "outcome": outcome,
        "side": "buy",
        "price": format!("0.{price:02}"),
        "size": "1",
        "client_order_id": format!("load-{}-{worker}-{n}", run_tag()),
    })
}

/// Runs the plan until its duration is up or `stop` is set; each worker keeps one request in
/// flight. Transport errors (a server killed under load) are counted, never fatal.
pub async fn run(plan: &Plan, stop: Arc<AtomicBool>) -> Report {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.concurrency)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let skew = server_skew_ms(&client, &plan.base_url).await;
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..plan.concurrency {
        let account = plan.accounts.accounts[worker % plan.accounts.accounts.len()].clone();
        let signer = Signer::for_account(&account, skew);
        let (client, stop, sent, market) =
            (client.clone(), stop.clone(), sent.clone(), plan.accounts.market_id.clone());
        let url = format!("{}/v1/orders", plan.base_url);
        let (rate, concurrency) = (plan.rate, plan.concurrency);
        workers.spawn(async move {
            let mut report = Report::default();
            let mut n = 0u64;
            while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                let scheduled = match rate {
                    Some(rate) => {
                        let at = started + due(n, worker, concurrency, rate);
                        if at >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        Some(at)
                    }
                    None => None,
                };
                n += 1;
                sent.fetch_add(1, Ordering::Relaxed);
                let body = order_body(&market, worker, n).to_string();
                let mut request = client.post(&url).header("content-type", "application/json");
                for (name, value) in signer.headers("POST", "/v1/orders", body.as_bytes()) {
                    request = request.header(name, value);
                }
                let began = scheduled.unwrap_or_else(Instant::now);
                let result = request.body(body).send().await;
                match result {
                    Ok(res) if res.status().is_success() => {
                        let v: serde_json::Value = res.json().await.unwrap_or_default();
                        report.latencies_us.push(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX));
                        report.acked.push(Acked {
                            user_id: account.user_id.clone(),
                            order_id: v["id"].as_str().unwrap_or_default().to_string(),
                            client_order_id: v["client_order_id"].as_str().unwrap_or_default().to_string(),
                        });
                    }
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let v: serde_json::Value = res.json().await.unwrap_or_default();
                        let code = v["error"]["code"].as_str().unwrap_or("").to_string();
                        *report.errors.entry(format!("{status} {code}")).or_default() += 1;
                    }
                    Err(e) => {
                        *report.errors.entry(transport_kind(&e).to_string()).or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            report
        });
    }
    let mut total = Report::default();
    while let Some(done) = workers.join_next().await {
        if let Ok(r) = done {
            total.acked.extend(r.acked);
            total.latencies_us.extend(r.latencies_us);
            for (k, v) in r.errors {
                *total.errors.entry(k).or_default() += v;
            }
        }
    }
    total.elapsed = started.elapsed();
    total.offered = plan.rate;
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_orders_leave_evenly_spaced_across_the_workers() {
        // 4 workers at 2,000 orders a second: one order every 500 µs, the workers in turn.
        let mut all: Vec<Duration> = (0..4).flat_map(|w| (0..50).map(move |n| due(n, w, 4, 2_000))).collect();
        all.sort();
        for (i, at) in all.iter().enumerate() {
            assert_eq!(*at, Duration::from_micros(500 * i as u64), "order {i}");
        }
        assert_eq!(due(1, 0, 4, 2_000), Duration::from_millis(2), "a worker's own orders are 4 slots apart");
    }

    #[test]
    fn orders_spread_over_both_outcomes_and_the_middle_prices() {
        let bodies: Vec<serde_json::Value> = (0..200).map(|n| order_body("m", 3, n)).collect();
        let outcomes: std::collections::HashSet<u64> = bodies.iter().filter_map(|b| b["outcome"].as_u64()).collect();
        let prices: std::collections::HashSet<String> =
            bodies.iter().filter_map(|b| b["price"].as_str().map(str::to_string)).collect();
        assert_eq!(outcomes.len(), 2);
        assert!(prices.len() >= 8 && prices.iter().all(|p| ("0.45"..="0.55").contains(&p.as_str())), "{prices:?}");
        let ids: std::collections::HashSet<String> =
            bodies.iter().filter_map(|b| b["client_order_id"].as_str().map(str::to_string)).collect();
        assert_eq!(ids.len(), 200);
        assert!(ids.iter().all(|id| id.starts_with(&format!("load-{}-3-", run_tag()))), "{ids:?}");
    }

    #[test]
    fn percentiles_come_from_the_recorded_latencies() {
        let r = Report { latencies_us: (1..=100).collect(), elapsed: Duration::from_secs(1), ..Report::default() };
        assert_eq!((r.percentile(0.5), r.percentile(0.99), r.percentile(1.0)), (51, 99, 100));
    }
}
