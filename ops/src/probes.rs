//! Connectivity probes of the dependencies a deployment has configured: the Solana JSON-RPC
//! endpoint (`getSlot`, `getLatestBlockhash`) and websocket (a slot subscription), the
//! Polymarket CLOB (`GET /time`) and its websocket, the flash oracle's price feed (bitcoin's
//! price, with the feed's API key). Each probe has a timeout per attempt and
//! retries with jittered exponential backoff, so one lost packet is not an outage and a dead
//! endpoint is declared within `attempts × timeout` plus the backoff. Every probe records
//! `kairos_dependency_up{dependency}` (1 or 0), `kairos_dependency_probe_seconds{dependency}`
//! (the successful attempt's latency) and `kairos_dependency_probe_failures_total{dependency}`
//! (each failed attempt) on whatever metrics recorder the process installed.

use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use kairos_platform::config::{CoreSettings, PriceSource, Secret, api_key_header, redact_url};
use rand::Rng as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::report::Check;

/// What to ask a dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `GET url` answering 2xx, with `header` (name, secret value) when given.
    Http { url: String, header: Option<(&'static str, Secret)> },
    /// A CoinGecko-format `simple/price` endpoint answering bitcoin's price in `vs_currency`:
    /// a maintenance page or an error object served with 200 is not a working feed.
    PriceFeed { url: String, header: Option<(&'static str, Secret)>, vs_currency: String },
    /// A JSON-RPC 2.0 call answering a `result`.
    JsonRpc { url: String, method: &'static str },
    /// A websocket upgrade; with `subscribe`, that JSON-RPC request sent and a `result` awaited.
    WebSocket { url: String, subscribe: Option<&'static str> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// Metric label and check name suffix: `solana_rpc_get_slot`, `polymarket_clob`, …
    pub name: &'static str,
    pub target: Target,
}

/// Timeout, attempts and backoff of one probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub timeout: Duration,
    /// The first retry waits about this long (±50 %), each later one twice the one before.
    pub backoff: Duration,
}

impl RetryPolicy {
    pub const DEFAULT: RetryPolicy =
        RetryPolicy { attempts: 3, timeout: Duration::from_secs(3), backoff: Duration::from_millis(200) };

    /// The wait before retry `n` (1-based), jittered to ±50 % so probes of many instances do
    /// not retry in step.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self.backoff.saturating_mul(1u32 << (n.saturating_sub(1)).min(16));
        let ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms.saturating_add(ms / 2)))
    }
}

/// How a probe went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub up: bool,
    pub attempts: u32,
    /// Of the attempt that succeeded.
    pub latency: Option<Duration>,
    /// Of the last failed attempt.
    pub error: Option<String>,
}

/// The dependencies the settings name: the chain when `KAIROS_SOLANA__*` are set, the
/// price feed when it is an HTTP source, the Polymarket CLOB when the venue is on
/// (`polymarket` is its REST base and websocket URLs).
pub fn configured(core: &CoreSettings, polymarket: Option<(&str, &str)>) -> Vec<Dependency> {
    let mut deps = Vec::new();
    if let Some(url) = &core.solana.rpc_url {
        deps.push(Dependency {
            name: "solana_rpc_get_slot",
            target: Target::JsonRpc { url: url.clone(), method: "getSlot" },
        });
        deps.push(Dependency {
            name: "solana_rpc_get_latest_blockhash",
            target: Target::JsonRpc { url: url.clone(), method: "getLatestBlockhash" },
        });
    }
    if let Some(url) = &core.solana.ws_url {
        deps.push(Dependency {
            name: "solana_ws_slot_subscribe",
            target: Target::WebSocket { url: url.clone(), subscribe: Some("slotSubscribe") },
        });
    }
    if let Some(PriceSource::Http { url, api_key, vs_currency }) = &core.flash.price_feed.source {
        deps.push(Dependency {
            name: "price_feed",
            target: Target::PriceFeed {
                url: url.clone(),
                header: api_key.clone().map(|key| (api_key_header(url), key)),
                vs_currency: vs_currency.clone(),
            },
        });
    }
    if let Some((base, ws)) = polymarket {
        deps.push(Dependency {
            name: "polymarket_clob",
            target: Target::Http { url: format!("{}/time", base.trim_end_matches('/')), header: None },
        });
        deps.push(Dependency {
            name: "polymarket_ws",
            target: Target::WebSocket { url: ws.to_string(), subscribe: None },
        });
    }
    deps
}

/// Probes `dep` under `policy` and records its metrics.
pub async fn probe(dep: &Dependency, policy: RetryPolicy, http: &reqwest::Client) -> Outcome {
    let mut error = None;
    for attempt in 1..=policy.attempts.max(1) {
        if attempt > 1 {
            tokio::time::sleep(policy.delay(attempt - 1)).await;
        }
        let start = Instant::now();
        let result = match tokio::time::timeout(policy.timeout, once(&dep.target, http)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} ms", policy.timeout.as_millis())),
        };
        match result {
            Ok(()) => {
                let latency = start.elapsed();
                metrics::histogram!("kairos_dependency_probe_seconds", "dependency" => dep.name)
                    .record(latency.as_secs_f64());
                metrics::gauge!("kairos_dependency_up", "dependency" => dep.name).set(1.0);
                return Outcome { up: true, attempts: attempt, latency: Some(latency), error };
            }
            Err(e) => {
                metrics::counter!("kairos_dependency_probe_failures_total", "dependency" => dep.name).increment(1);
                tracing::debug!(dependency = dep.name, attempt, error = %e, "probe attempt failed");
                error = Some(e);
            }
        }
    }
    metrics::gauge!("kairos_dependency_up", "dependency" => dep.name).set(0.0);
    Outcome { up: false, attempts: policy.attempts.max(1), latency: None, error }
}

async fn once(target: &Target, http: &reqwest::Client) -> Result<(), String> {
    match target {
        Target::Http { url, header } => {
            let mut request = http.get(url);
            if let Some((name, value)) = header {
                request = request.header(*name, value.expose());
            }
            let response = request.send().await.map_err(|e| e.without_url().to_string())?;
            if response.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", response.status())) }
        }
        Target::PriceFeed { url, header, vs_currency } => {
            // The query is encoded by reqwest, whatever the currency's spelling.
            let mut request = http.get(url).query(&[("ids", "bitcoin"), ("vs_currencies", vs_currency.as_str())]);
            if let Some((name, value)) = header {
                request = request.header(*name, value.expose());
            }
            let response = request.send().await.map_err(|e| e.without_url().to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status()));
            }
            let reply: Value = response.json().await.map_err(|_| "the answer is not JSON".to_string())?;
            match reply.get("bitcoin").and_then(|b| b.get(vs_currency)) {
                Some(Value::Number(_)) => Ok(()),
                _ => Err(format!("the answer holds no bitcoin price in {vs_currency}")),
            }
        }
        Target::JsonRpc { url, method } => {
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method });
            let response = http.post(url).json(&body).send().await.map_err(|e| e.without_url().to_string())?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            let reply: Value = response.json().await.map_err(|e| format!("not JSON-RPC: {}", e.without_url()))?;
            rpc_result(&reply)
        }
        Target::WebSocket { url, subscribe } => {
            let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.map_err(|e| e.to_string())?;
            let result = match subscribe {
                None => Ok(()),
                Some(method) => {
                    let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method }).to_string();
                    socket.send(Message::text(request)).await.map_err(|e| e.to_string())?;
                    loop {
                        match socket.next().await {
                            Some(Ok(Message::Text(text))) => {
                                let reply: Value =
                                    serde_json::from_str(&text).map_err(|_| "a reply that is not JSON".to_string())?;
                                if reply.get("id") == Some(&json!(1)) {
                                    break rpc_result(&reply);
                                }
                            }
                            Some(Ok(Message::Close(frame))) => break Err(format!("closed by the server: {frame:?}")),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => break Err(e.to_string()),
                            None => break Err("closed before answering".to_string()),
                        }
                    }
                }
            };
            let _ = socket.close(None).await;
            result
        }
    }
}

fn rpc_result(reply: &Value) -> Result<(), String> {
    if let Some(error) = reply.get("error") {
        return Err(format!("JSON-RPC error {error}"));
    }
    if reply.get("result").is_some() { Ok(()) } else { Err("a JSON-RPC reply without a result".to_string()) }
}

/// `probe.<name>` from an outcome: a failure names the endpoint, the attempts and the error.
pub fn as_check(dep: &Dependency, outcome: &Outcome) -> Check {
    let url = match &dep.target {
        Target::Http { url, .. }
        | Target::PriceFeed { url, .. }
        | Target::JsonRpc { url, .. }
        | Target::WebSocket { url, .. } => redact_url(url),
    };
    let name = format!("probe.{}", dep.name);
    match (outcome.up, outcome.latency) {
        (true, Some(latency)) => {
            let retried = if outcome.attempts > 1 {
                format!(
                    " after {} attempts (last error: {})",
                    outcome.attempts,
                    outcome.error.as_deref().unwrap_or("?")
                )
            } else {
                String::new()
            };
            let check = format!("{url}: up in {} ms{retried}", latency.as_millis());
            if outcome.attempts > 1 { Check::warn(name, check) } else { Check::pass(name, check) }
        }
        _ => Check::fail(
            name,
            format!(
                "{url}: down after {} attempts ({}): check the endpoint, credentials and egress",
                outcome.attempts,
                outcome.error.as_deref().unwrap_or("no error recorded")
            ),
        ),
    }
}

/// Probes every dependency at once; one check each, in order.
pub async fn probe_checks(deps: &[Dependency], policy: RetryPolicy) -> Vec<Check> {
    let http = match reqwest::Client::builder().timeout(policy.timeout).build() {
        Ok(c) => c,
        Err(e) => return vec![Check::fail("probes", format!("cannot build an HTTP client: {e}"))],
    };
    let outcomes = futures_util::future::join_all(deps.iter().map(|d| probe(d, policy, &http))).await;
    deps.iter().zip(&outcomes).map(|(d, o)| as_check(d, o)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter() {
        let policy = RetryPolicy { attempts: 4, timeout: Duration::from_secs(1), backoff: Duration::from_millis(100) };
        for _ in 0..50 {
            let first = policy.delay(1).as_millis();
            let third = policy.delay(3).as_millis();
            assert!((50..=150).contains(&first), "{first}");
            assert!((200..=600).contains(&third), "{third}");
        }
    }

    #[test]
    fn json_rpc_errors_are_not_results() {
        assert!(rpc_result(&json!({"jsonrpc":"2.0","id":1,"result":42})).is_ok());
        assert!(rpc_result(&json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601}})).is_err());
        assert!(rpc_result(&json!({"jsonrpc":"2.0","id":1})).is_err());
    }
}
