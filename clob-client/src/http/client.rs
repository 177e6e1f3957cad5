//! The HTTP client. Reads are retried with jittered exponential back-off (honouring
//! `Retry-After` on 429/503/425); a submit is never repeated blindly: when its outcome is
//! unknown (timeout, dropped connection, 5xx) the order is looked up by its hash first.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::error::ClobError;
use super::types::{
    ApiKeyCredentials, Book, CancelResponse, HeartbeatResponse, OpenOrder, Page, PostOrderResponse, Trade,
};
use crate::auth::l2::Credentials;

/// How a request proves who sends it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Auth<'a> {
    Public,
    /// EIP-712 `ClobAuth` headers (API key management).
    L1(&'a crate::auth::l1::L1Headers),
    /// HMAC headers with the client's credentials (trading).
    L2,
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://clob.polymarket.com` (a local mock in tests).
    pub base_url: String,
    /// Every call gives up after this long (the official Rust client sets none).
    pub timeout: Duration,
    /// Attempts for requests that are safe to repeat.
    pub attempts: u32,
    /// The longest wait between attempts (and the cap on a `Retry-After`).
    pub max_backoff: Duration,
}

/// What clones of one client share: the server clock's offset, the tick sizes seen, and the
/// order version the server speaks.
#[derive(Debug, Default)]
struct Shared {
    /// Server time minus local time, seconds.
    clock_offset_s: std::sync::atomic::AtomicI64,
    /// When the offset was last measured (or tried).
    clock_checked: std::sync::Mutex<Option<std::time::Instant>>,
    tick_sizes: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// 0 until read from `GET /version`.
    version: std::sync::atomic::AtomicU64,
    forced_version: std::sync::atomic::AtomicU64,
}

/// How often the clock offset is measured again.
pub const CLOCK_REFRESH: Duration = Duration::from_secs(600);

/// Orders per `POST /orders` ("Maximum 15 orders per request", the CLOB's API reference;
/// polymarket-client 0.14.0 `_MAX_BATCH`).
pub const MAX_POST_BATCH: usize = 15;
/// Ids per `DELETE /orders` ("Maximum 3000 orders per request", the CLOB's API reference;
/// polymarket-client 0.14.0 `_MAX_CANCEL_BATCH`). Not 1,000: that is its rate limit per 10 s.
pub const MAX_CANCEL_BATCH: usize = 3000;

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: "https://clob.polymarket.com".to_string(),
            timeout: Duration::from_secs(10),
            attempts: 4,
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What a reconciled submit came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The CLOB answered the submit.
    Posted(PostOrderResponse),
    /// The submit's answer was lost, but the order is on the CLOB (found by its hash).
    Reconciled(OpenOrder),
}

#[derive(Debug, Clone)]
pub struct ClobClient {
    http: reqwest::Client,
    config: ClientConfig,
    /// L2 credentials and the address they belong to.
    l2: Option<(Credentials, String)>,
    shared: std::sync::Arc<Shared>,
    /// How [`ClobClient::place`] turns price and size into amounts.
    pub(super) rounding: crate::build::Rounding,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A small jitter source (no need for a cryptographic one): 0.5–1.0 of `d`.
fn jitter(d: Duration, attempt: u32) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mixed = u64::from(nanos ^ attempt.wrapping_mul(0x9e37_79b9)) % 500;
    d.mul_f64(0.5 + mixed as f64 / 1000.0)
}

impl ClobClient {
    pub fn new(config: ClientConfig) -> Result<ClobClient, ClobError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| ClobError::Transport(e.to_string()))?;
        Ok(ClobClient {
            http,
            config,
            l2: None,
            shared: std::sync::Arc::default(),
            rounding: crate::build::Rounding::default(),
        })
    }

    /// Adds L2 credentials; `address` is the address the API key was made for.
    /// The rounding mode orders are placed with: `exact` (the default) or the Python client's.
    pub fn with_rounding(mut self, rounding: crate::build::Rounding) -> ClobClient {
        self.rounding = rounding;
        self
    }

    pub fn with_l2(mut self, credentials: Credentials, address: impl Into<String>) -> ClobClient {
        self.l2 = Some((credentials, address.into()));
        self
    }

    /// One attempt. `path` includes the query; an L2 signature covers the path without it and
    /// the exact body.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        auth: Auth<'_>,
    ) -> Result<String, ClobError> {
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let mut req = self.http.request(method.clone(), url);
        match auth {
            Auth::Public => {}
            Auth::L1(headers) => {
                for (name, value) in headers.pairs() {
                    req = req.header(name, value);
                }
            }
            Auth::L2 => {
                let (creds, address) = self.l2.as_ref().ok_or(ClobError::NoCredentials)?;
                self.keep_clock().await;
                // The official clients sign the path without its query.
                let signed_path = path.split('?').next().unwrap_or(path);
                let headers = creds.headers(address, self.now_s(), method.as_str(), signed_path, body);
                for (name, value) in headers.pairs() {
                    req = req.header(name, value);
                }
            }
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let res = req.send().await.map_err(|e| {
            if e.is_timeout() { ClobError::Timeout(self.config.timeout) } else { ClobError::Transport(e.to_string()) }
        })?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = res.text().await.map_err(|e| {
            if e.is_timeout() { ClobError::Timeout(self.config.timeout) } else { ClobError::Transport(e.to_string()) }
        })?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        let message = parsed["error"].as_str().map_or_else(|| text.clone(), str::to_string);
        let code = parsed["code"].as_str().map(str::to_string);
        let retry_after = retry_after.or_else(|| parsed["retry_after_seconds"].as_u64().map(Duration::from_secs));
        Err(ClobError::Status { status, message, code, retry_after })
    }

    /// Sends a request that is safe to repeat, retrying what may succeed on another try.
    pub(super) async fn idempotent(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        auth: Auth<'_>,
    ) -> Result<String, ClobError> {
        let mut attempt = 0;
        loop {
            match self.send(method.clone(), path, body, auth).await {
                Ok(text) => return Ok(text),
                Err(e) if e.is_retryable() && attempt + 1 < self.config.attempts => {
                    let wait = match &e {
                        ClobError::Status { retry_after: Some(d), .. } => *d,
                        _ => jitter(Duration::from_millis(100) * 2u32.saturating_pow(attempt), attempt),
                    };
                    tokio::time::sleep(wait.min(self.config.max_backoff)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ClobError> {
        serde_json::from_str(text)
            .map_err(|e| ClobError::Decode(format!("{e}: {}", text.chars().take(200).collect::<String>())))
    }

    /// Unix seconds on the server's clock: the local clock plus the measured offset.
    pub fn now_s(&self) -> u64 {
        let offset = self.shared.clock_offset_s.load(std::sync::atomic::Ordering::Relaxed);
        now_s().saturating_add_signed(offset)
    }

    /// Measures the offset of the server's clock (the midpoint of the request's round trip),
    /// so signed requests carry timestamps the server accepts even when the local clock is off.
    pub async fn sync_clock(&self) -> Result<i64, ClobError> {
        if let Ok(mut checked) = self.shared.clock_checked.lock() {
            *checked = Some(std::time::Instant::now());
        }
        let before = SystemTime::now();
        // A plain request, not `send`: `send` itself keeps the clock.
        let url = format!("{}/time", self.config.base_url.trim_end_matches('/'));
        let res = self.http.get(url).send().await.map_err(|e| ClobError::Transport(e.to_string()))?;
        let status = res.status().as_u16();
        let text = res.text().await.map_err(|e| ClobError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            return Err(ClobError::Status { status, message: text, code: None, retry_after: None });
        }
        let v: serde_json::Value = Self::decode(&text)?;
        let server = v.as_u64().or_else(|| v["time"].as_u64()).ok_or(ClobError::Decode(text))?;
        let rtt = before.elapsed().unwrap_or_default();
        let local_mid = before.duration_since(UNIX_EPOCH).map(|d| d + rtt / 2).unwrap_or_default().as_secs();
        let offset = i64::try_from(server).unwrap_or(i64::MAX).saturating_sub(i64::try_from(local_mid).unwrap_or(0));
        self.shared.clock_offset_s.store(offset, std::sync::atomic::Ordering::Relaxed);
        Ok(offset)
    }

    /// Measures the clock offset when it was never measured or is older than
    /// [`CLOCK_REFRESH`]: once per process and interval, never before every request. A failed
    /// measurement keeps the last offset (the local clock at first) until the next interval.
    async fn keep_clock(&self) {
        let due = match self.shared.clock_checked.lock() {
            Ok(checked) => checked.is_none_or(|at| at.elapsed() >= CLOCK_REFRESH),
            Err(_) => false,
        };
        if due {
            let _ = self.sync_clock().await;
        }
    }

    /// Server time, Unix seconds (`GET /time` answers a bare integer).
    pub async fn server_time(&self) -> Result<u64, ClobError> {
        let text = self.idempotent(Method::GET, "/time", None, Auth::Public).await?;
        let v: serde_json::Value = Self::decode(&text)?;
        v.as_u64().or_else(|| v["time"].as_u64()).ok_or(ClobError::Decode(text))
    }

    /// The exchange version the CLOB accepts (`GET /version`).
    /// The order version to sign for: the forced one, else the server's (read once, and again
    /// after [`ClobClient::forget_version`]).
    pub async fn order_version(&self) -> Result<crate::orders::Version, ClobError> {
        use std::sync::atomic::Ordering::Relaxed;
        let forced = self.shared.forced_version.load(Relaxed);
        let known = if forced != 0 { forced } else { self.shared.version.load(Relaxed) };
        let v = if known != 0 {
            known
        } else {
            let v = self.version().await?;
            self.shared.version.store(v, Relaxed);
            v
        };
        match v {
            1 => Ok(crate::orders::Version::V1),
            2 => Ok(crate::orders::Version::V2),
            3 => Ok(crate::orders::Version::V3),
            other => {
                Err(ClobError::Decode(format!("the CLOB speaks order version {other}, which this client does not")))
            }
        }
    }

    /// Signs every order for `version` whatever the server says (0 goes back to the server's).
    pub fn force_version(&self, version: u64) {
        self.shared.forced_version.store(version, std::sync::atomic::Ordering::Relaxed);
    }

    /// Drops the cached version, after an `order_version_mismatch`.
    pub fn forget_version(&self) {
        self.shared.version.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    pub async fn version(&self) -> Result<u64, ClobError> {
        let v: serde_json::Value = Self::decode(&self.idempotent(Method::GET, "/version", None, Auth::Public).await?)?;
        v["version"].as_u64().ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    pub async fn book(&self, token_id: &str) -> Result<Book, ClobError> {
        Self::decode(&self.idempotent(Method::GET, &format!("/book?token_id={token_id}"), None, Auth::Public).await?)
    }

    pub async fn midpoint(&self, token_id: &str) -> Result<String, ClobError> {
        let v: serde_json::Value = Self::decode(
            &self.idempotent(Method::GET, &format!("/midpoint?token_id={token_id}"), None, Auth::Public).await?,
        )?;
        v["mid"].as_str().map(str::to_string).ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    /// The token's tick size: from the cache when known (kept current by
    /// [`ClobClient::set_tick_size`], which the websocket books call on a tick-size change),
    /// else from the server.
    pub async fn tick_size(&self, token_id: &str) -> Result<String, ClobError> {
        if let Some(t) = self.shared.tick_sizes.lock().ok().and_then(|c| c.get(token_id).cloned()) {
            return Ok(t);
        }
        let tick = self.fetch_tick_size(token_id).await?;
        self.set_tick_size(token_id, &tick);
        Ok(tick)
    }

    pub fn set_tick_size(&self, token_id: &str, tick: &str) {
        if let Ok(mut cache) = self.shared.tick_sizes.lock() {
            cache.insert(token_id.to_string(), tick.to_string());
        }
    }

    async fn fetch_tick_size(&self, token_id: &str) -> Result<String, ClobError> {
        let v: serde_json::Value = Self::decode(
            &self.idempotent(Method::GET, &format!("/tick-size?token_id={token_id}"), None, Auth::Public).await?,
        )?;
        match &v["minimum_tick_size"] {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            _ => Err(ClobError::Decode(v.to_string())),
        }
    }

    pub async fn neg_risk(&self, token_id: &str) -> Result<bool, ClobError> {
        let v: serde_json::Value = Self::decode(
            &self.idempotent(Method::GET, &format!("/neg-risk?token_id={token_id}"), None, Auth::Public).await?,
        )?;
        v["neg_risk"].as_bool().ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    /// One attempt at `POST /order` with a body from [`super::envelope`]. Prefer
    /// [`ClobClient::post_order_reconciled`], which never leaves the outcome unknown.
    pub async fn post_order(&self, body: &str) -> Result<PostOrderResponse, ClobError> {
        Self::decode(&self.send(Method::POST, "/order", Some(body), Auth::L2).await?)
    }

    /// Submits an order so that a retry can never make a second one: when the answer is lost
    /// the order is looked up by its hash, and only if the CLOB does not have it is the same
    /// signed body (same hash, which the CLOB refuses twice) sent once more.
    pub async fn post_order_reconciled(&self, body: &str, order_hash: &str) -> Result<Submitted, ClobError> {
        match self.post_order(body).await {
            Ok(r) => return Ok(Submitted::Posted(r)),
            // The answer was lost: find out whether the order landed before sending anything.
            Err(e) if e.outcome_unknown() => {}
            // Sent before (a caller's own retry): it is the order already there.
            Err(e) if is_duplicate(&e) => return self.found(order_hash).await,
            Err(e) => return Err(e),
        }
        if let Some(found) = self.get_order(order_hash).await? {
            return Ok(Submitted::Reconciled(found));
        }
        match self.post_order(body).await {
            Ok(r) => Ok(Submitted::Posted(r)),
            Err(e) if is_duplicate(&e) => self.found(order_hash).await,
            Err(e) => Err(e),
        }
    }

    async fn found(&self, order_hash: &str) -> Result<Submitted, ClobError> {
        match self.get_order(order_hash).await? {
            Some(found) => Ok(Submitted::Reconciled(found)),
            None => {
                Err(ClobError::Decode(format!("the CLOB calls order {order_hash} a duplicate but does not have it")))
            }
        }
    }

    /// `POST /orders` with bodies from [`super::envelope`]: sent [`MAX_POST_BATCH`] at a time
    /// (the CLOB's limit), one result per leg in the order given. A batch the CLOB refused as a
    /// whole, or whose answer was lost, gives its error to each of its legs (look lost ones up
    /// by hash before sending them again); the batches after it are still sent.
    pub async fn post_orders(&self, bodies: &[String]) -> Vec<Result<PostOrderResponse, ClobError>> {
        let mut results = Vec::with_capacity(bodies.len());
        for chunk in bodies.chunks(MAX_POST_BATCH) {
            let body = format!("[{}]", chunk.join(","));
            let answer = match self.send(Method::POST, "/orders", Some(&body), Auth::L2).await {
                Ok(text) => Self::decode::<Vec<PostOrderResponse>>(&text),
                Err(e) => Err(e),
            };
            match answer {
                Ok(legs) if legs.len() == chunk.len() => results.extend(legs.into_iter().map(Ok)),
                Ok(legs) => {
                    let e = ClobError::Decode(format!("{} answers for a batch of {}", legs.len(), chunk.len()));
                    results.extend(chunk.iter().map(|_| Err(e.clone())));
                }
                Err(e) => results.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        results
    }

    /// `POST /books` and its kin take `[{"token_id"}]` and answer per token; `path` is one of
    /// `/books`, `/midpoints`, `/prices` (with `side`), `/spreads`, `/last-trades-prices`.
    async fn batch_read(&self, path: &str, tokens: &[(&str, Option<&str>)]) -> Result<serde_json::Value, ClobError> {
        let body: Vec<serde_json::Value> = tokens
            .iter()
            .map(|(token, side)| match side {
                Some(s) => serde_json::json!({ "token_id": token, "side": s }),
                None => serde_json::json!({ "token_id": token }),
            })
            .collect();
        let body = serde_json::Value::Array(body).to_string();
        // Reads, even though they are POSTs: safe to repeat.
        Self::decode(&self.idempotent(Method::POST, path, Some(&body), Auth::Public).await?)
    }

    pub async fn books(&self, token_ids: &[&str]) -> Result<Vec<Book>, ClobError> {
        let tokens: Vec<(&str, Option<&str>)> = token_ids.iter().map(|t| (*t, None)).collect();
        serde_json::from_value(self.batch_read("/books", &tokens).await?).map_err(|e| ClobError::Decode(e.to_string()))
    }

    /// Midpoints by token id.
    pub async fn midpoints(&self, token_ids: &[&str]) -> Result<serde_json::Value, ClobError> {
        let tokens: Vec<(&str, Option<&str>)> = token_ids.iter().map(|t| (*t, None)).collect();
        self.batch_read("/midpoints", &tokens).await
    }

    /// Prices by token id and side (`BUY`/`SELL`).
    pub async fn prices(&self, tokens: &[(&str, &str)]) -> Result<serde_json::Value, ClobError> {
        let tokens: Vec<(&str, Option<&str>)> = tokens.iter().map(|(t, s)| (*t, Some(*s))).collect();
        self.batch_read("/prices", &tokens).await
    }

    pub async fn spreads(&self, token_ids: &[&str]) -> Result<serde_json::Value, ClobError> {
        let tokens: Vec<(&str, Option<&str>)> = token_ids.iter().map(|t| (*t, None)).collect();
        self.batch_read("/spreads", &tokens).await
    }

    pub async fn last_trades_prices(&self, token_ids: &[&str]) -> Result<serde_json::Value, ClobError> {
        let tokens: Vec<(&str, Option<&str>)> = token_ids.iter().map(|t| (*t, None)).collect();
        self.batch_read("/last-trades-prices", &tokens).await
    }

    /// One page of `GET /markets` (start with [`Page::FIRST`]).
    pub async fn markets(&self, cursor: &str) -> Result<Page<serde_json::Value>, ClobError> {
        Self::decode(
            &self.idempotent(Method::GET, &format!("/markets?next_cursor={cursor}"), None, Auth::Public).await?,
        )
    }

    pub async fn market(&self, condition_id: &str) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::GET, &format!("/markets/{condition_id}"), None, Auth::Public).await?)
    }

    /// `GET /fee-rate`: the base fee in basis points.
    pub async fn fee_rate_bps(&self, token_id: &str) -> Result<u64, ClobError> {
        let v: serde_json::Value = Self::decode(
            &self.idempotent(Method::GET, &format!("/fee-rate?token_id={token_id}"), None, Auth::Public).await?,
        )?;
        v["base_fee"].as_u64().ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    /// Creates (`POST /auth/api-key`) or derives (`GET /auth/derive-api-key`) the L2
    /// credentials of the signer's address, authenticated with L1 headers.
    pub async fn api_key(
        &self,
        signer: &crate::auth::signer::Signer,
        chain_id: u64,
        nonce: u64,
        create: bool,
    ) -> Result<ApiKeyCredentials, ClobError> {
        self.keep_clock().await;
        let headers = crate::auth::l1::L1Headers::new(signer, chain_id, self.now_s(), nonce);
        let (method, path) =
            if create { (Method::POST, "/auth/api-key") } else { (Method::GET, "/auth/derive-api-key") };
        Self::decode(&self.send(method, path, None, Auth::L1(&headers)).await?)
    }

    /// `GET /balance-allowance` (`asset_type` COLLATERAL or CONDITIONAL with `token_id`).
    pub async fn balance_allowance(
        &self,
        asset_type: &str,
        token_id: Option<&str>,
        signature_type: u8,
    ) -> Result<serde_json::Value, ClobError> {
        let token = token_id.map(|t| format!("&token_id={t}")).unwrap_or_default();
        let path = format!("/balance-allowance?asset_type={asset_type}{token}&signature_type={signature_type}");
        Self::decode(&self.idempotent(Method::GET, &path, None, Auth::L2).await?)
    }

    /// One order by id (its hash); `None` when the CLOB does not have it.
    pub async fn get_order(&self, order_id: &str) -> Result<Option<OpenOrder>, ClobError> {
        match self.idempotent(Method::GET, &format!("/data/order/{order_id}"), None, Auth::L2).await {
            Ok(text) if text.trim().is_empty() || text.trim() == "null" || text.trim() == "{}" => Ok(None),
            Ok(text) => Self::decode(&text).map(Some),
            Err(ClobError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn open_orders(&self, cursor: &str) -> Result<Page<OpenOrder>, ClobError> {
        Self::decode(
            &self.idempotent(Method::GET, &format!("/data/orders?next_cursor={cursor}"), None, Auth::L2).await?,
        )
    }

    pub async fn trades(&self, cursor: &str) -> Result<Page<Trade>, ClobError> {
        Self::decode(
            &self.idempotent(Method::GET, &format!("/data/trades?next_cursor={cursor}"), None, Auth::L2).await?,
        )
    }

    /// One trade by id (`GET /data/trades?id=`); `None` when the CLOB does not list it.
    pub async fn trade(&self, trade_id: &str) -> Result<Option<Trade>, ClobError> {
        let page: Page<Trade> =
            Self::decode(&self.idempotent(Method::GET, &format!("/data/trades?id={trade_id}"), None, Auth::L2).await?)?;
        Ok(page.data.into_iter().find(|t| t.id == trade_id))
    }

    /// Cancels are safe to repeat: cancelling a cancelled order changes nothing.
    pub async fn cancel_order(&self, order_id: &str) -> Result<CancelResponse, ClobError> {
        let body = serde_json::json!({ "orderID": order_id }).to_string();
        Self::decode(&self.idempotent(Method::DELETE, "/order", Some(&body), Auth::L2).await?)
    }

    /// `DELETE /orders`, [`MAX_CANCEL_BATCH`] ids at a time (the CLOB's limit); the answers
    /// are merged. Every batch is tried; the first error is returned after the rest were sent.
    pub async fn cancel_orders(&self, order_ids: &[&str]) -> Result<CancelResponse, ClobError> {
        let mut merged = CancelResponse::default();
        let mut first_error = None;
        for chunk in order_ids.chunks(MAX_CANCEL_BATCH) {
            let body = serde_json::to_string(chunk).map_err(|e| ClobError::Decode(e.to_string()))?;
            let answer = match self.idempotent(Method::DELETE, "/orders", Some(&body), Auth::L2).await {
                Ok(text) => Self::decode::<CancelResponse>(&text),
                Err(e) => Err(e),
            };
            match answer {
                Ok(r) => {
                    merged.canceled.extend(r.canceled);
                    merged.not_canceled.extend(r.not_canceled);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(merged),
        }
    }

    pub async fn cancel_all(&self) -> Result<CancelResponse, ClobError> {
        Self::decode(&self.idempotent(Method::DELETE, "/cancel-all", None, Auth::L2).await?)
    }

    pub async fn cancel_market_orders(
        &self,
        market: Option<&str>,
        asset_id: Option<&str>,
    ) -> Result<CancelResponse, ClobError> {
        let mut body = serde_json::Map::new();
        if let Some(m) = market {
            body.insert("market".into(), m.into());
        }
        if let Some(a) = asset_id {
            body.insert("asset_id".into(), a.into());
        }
        let body = serde_json::Value::Object(body).to_string();
        Self::decode(&self.idempotent(Method::DELETE, "/cancel-market-orders", Some(&body), Auth::L2).await?)
    }

    /// One heartbeat (`POST /v1/heartbeats`). A 400 naming the id the CLOB expected is a
    /// [`HeartbeatReply::Rejected`]: the deadline did not move, and the next beat must go at
    /// once with that id (which may be empty, after a legacy heartbeat or an expiry).
    pub async fn heartbeat(&self, heartbeat_id: &str) -> Result<HeartbeatReply, ClobError> {
        let body = serde_json::json!({ "heartbeat_id": heartbeat_id }).to_string();
        match self.send(Method::POST, "/v1/heartbeats", Some(&body), Auth::L2).await {
            Ok(text) => {
                let next = Self::decode::<HeartbeatResponse>(&text)?.heartbeat_id;
                if next.is_empty() {
                    return Err(ClobError::Decode(format!("a heartbeat answer without an id: {text}")));
                }
                Ok(HeartbeatReply::Accepted { next })
            }
            Err(ClobError::Status { status: 400, message, code, retry_after }) => {
                let v: serde_json::Value = serde_json::from_str(&message).unwrap_or_default();
                match v["heartbeat_id"].as_str() {
                    Some(expected) => Ok(HeartbeatReply::Rejected { expected: expected.to_string() }),
                    None => Err(ClobError::Status { status: 400, message, code, retry_after }),
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// How the CLOB took one heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeartbeatReply {
    /// Taken: the deadline moved; `next` goes with the next beat.
    Accepted { next: String },
    /// Not the id the CLOB expected ("Invalid Heartbeat ID"): the deadline did not move (and
    /// if it had passed, the CLOB cancelled every open order and dropped the registration).
    Rejected { expected: String },
}

fn is_duplicate(e: &ClobError) -> bool {
    matches!(e, ClobError::Status { message, .. } if message.contains("DUPLICATED"))
}
