//! The Kairos API as a market maker sees it: signed requests (`KAIROS-KEY`,
//! `KAIROS-TIMESTAMP`, `KAIROS-SIGNATURE`, signed by `kairos-load`'s client-side signer, which
//! shares no code with the server's verifier) for the few routes the quoter uses, each answer
//! typed, each refusal an [`ApiError`] with the API's own code.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use kairos_load::Signer;

/// A refusal or a failure of one request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error body: its status, `code` and `message`.
    #[error("{status} {code}: {message}")]
    Refused { status: u16, code: String, message: String },
    #[error("the API is unreachable: {0}")]
    Transport(String),
    #[error("unreadable answer from {path}: {cause}")]
    Unreadable { path: String, cause: String },
}

impl ApiError {
    /// The API's error code, when it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A new order, as `POST /v1/orders` and `/v1/orders/batch` take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOrder {
    pub market_id: String,
    pub outcome: u8,
    pub side: &'static str,
    pub price: String,
    pub size: String,
    pub post_only: bool,
    pub client_order_id: String,
}

/// The fields of an order the quoter reads (the API sends more).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderState {
    pub id: String,
    pub client_order_id: String,
    pub status: String,
    pub filled_size: String,
    #[serde(default)]
    pub reason: Option<String>,
}

impl OrderState {
    /// The order rests no more.
    pub fn is_done(&self) -> bool {
        matches!(self.status.as_str(), "filled" | "cancelled" | "expired" | "rejected")
    }
}

/// What a cancel by ids did: the orders cancelled (with what each had filled), and the ids
/// that were no longer open (filled or cancelled before).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub orders: Vec<OrderState>,
    pub gone: Vec<String>,
}

/// One leg of a batch: the order, or why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leg {
    Placed(OrderState),
    Refused(ApiError),
}

/// A paper market and its outcomes' venue token ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MarketInfo {
    pub id: String,
    pub status: String,
    pub tick_size: String,
    pub min_size: String,
    pub outcomes: Vec<OutcomeInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutcomeInfo {
    pub index: u32,
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaperApi {
    base: String,
    http: reqwest::Client,
    signer: Signer,
}

/// Longest a request may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

impl PaperApi {
    /// A client of `base_url` (`http://127.0.0.1:8080`) for the key `key_id` with its decoded
    /// secret; the clock skew is taken from `GET /v1/time` first.
    pub async fn connect(base_url: &str, key_id: &str, secret: Vec<u8>) -> Result<PaperApi, ApiError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let base = base_url.trim_end_matches('/').to_string();
        let mut api = PaperApi { base, http, signer: Signer::new(key_id, secret.clone(), 0) };
        #[derive(Deserialize)]
        struct Time {
            epoch_ms: i64,
        }
        let time: Time = api.send(reqwest::Method::GET, "/v1/time", None).await?;
        let skew_ms = time.epoch_ms.saturating_sub(now_ms());
        api.signer = Signer::new(key_id, secret, skew_ms);
        Ok(api)
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The open paper market one of whose outcomes is the venue token `token`.
    pub async fn market_of_token(&self, token: &str) -> Result<Option<MarketInfo>, ApiError> {
        #[derive(Deserialize)]
        struct Page {
            data: Vec<MarketInfo>,
            #[serde(default)]
            next_cursor: Option<String>,
        }
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/markets?venue=paper&status=open&limit=200&cursor={c}"),
                None => "/v1/markets?venue=paper&status=open&limit=200".to_string(),
            };
            let page: Page = self.send(reqwest::Method::GET, &path, None).await?;
            if let Some(m) =
                page.data.into_iter().find(|m| m.outcomes.iter().any(|o| o.external_id.as_deref() == Some(token)))
            {
                return Ok(Some(m));
            }
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(None),
            }
        }
    }

    /// Places up to 50 orders; each leg succeeds or fails on its own.
    pub async fn place_batch(&self, orders: &[NewOrder]) -> Result<Vec<Leg>, ApiError> {
        #[derive(Serialize)]
        struct Batch<'a> {
            orders: &'a [NewOrder],
        }
        #[derive(Deserialize)]
        struct Answer {
            results: Vec<Raw>,
        }
        #[derive(Deserialize)]
        struct Raw {
            status: u16,
            #[serde(default)]
            order: Option<OrderState>,
            #[serde(default)]
            error: Option<ErrorDetail>,
        }
        let body = serde_json::to_vec(&Batch { orders }).map_err(|e| ApiError::Transport(e.to_string()))?;
        let answer: Answer = self.send(reqwest::Method::POST, "/v1/orders/batch", Some(body)).await?;
        if answer.results.len() != orders.len() {
            return Err(ApiError::Unreadable {
                path: "/v1/orders/batch".into(),
                cause: format!("{} answers for {} orders", answer.results.len(), orders.len()),
            });
        }
        Ok(answer
            .results
            .into_iter()
            .map(|r| match (r.order, r.error) {
                (Some(order), None) => Leg::Placed(order),
                (_, error) => {
                    let e = error.unwrap_or_default();
                    Leg::Refused(ApiError::Refused { status: r.status, code: e.code, message: e.message })
                }
            })
            .collect())
    }

    /// Moves an open order to `price` with `size` in all (filled part included).
    pub async fn amend(&self, order_id: &str, price: &str, size: &str) -> Result<OrderState, ApiError> {
        let body = serde_json::to_vec(&serde_json::json!({ "price": price, "size": size }))
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        self.send(reqwest::Method::PATCH, &format!("/v1/orders/{order_id}"), Some(body)).await
    }

    /// Cancels up to 100 orders by id. A leg the API could not serve (anything but done,
    /// 404 or 409) makes the whole call an error: what rests is then unknown.
    pub async fn cancel(&self, ids: &[String]) -> Result<Cancelled, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            results: Vec<CancelLeg>,
        }
        #[derive(Deserialize)]
        struct CancelLeg {
            id: String,
            status: u16,
            #[serde(default)]
            order: Option<OrderState>,
            #[serde(default)]
            error: Option<ErrorDetail>,
        }
        let body =
            serde_json::to_vec(&serde_json::json!({ "ids": ids })).map_err(|e| ApiError::Transport(e.to_string()))?;
        let answer: Answer = self.send(reqwest::Method::POST, "/v1/orders/cancel", Some(body)).await?;
        if answer.results.len() != ids.len() {
            return Err(ApiError::Unreadable {
                path: "/v1/orders/cancel".into(),
                cause: format!("{} answers for {} ids", answer.results.len(), ids.len()),
            });
        }
        let mut cancelled = Cancelled::default();
        for leg in answer.results {
            match (leg.status, leg.order) {
                (200..=299, Some(order)) => cancelled.orders.push(order),
                (404 | 409, _) => cancelled.gone.push(leg.id),
                (status, _) => {
                    let e = leg.error.unwrap_or_default();
                    return Err(ApiError::Refused { status, code: e.code, message: e.message });
                }
            }
        }
        Ok(cancelled)
    }

    /// Cancels every open order of the key's account in `market_id`; returns them as
    /// cancelled (with what each had filled).
    pub async fn cancel_all(&self, market_id: &str) -> Result<Vec<OrderState>, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            cancelled: Vec<OrderState>,
        }
        let answer: Answer =
            self.send(reqwest::Method::DELETE, &format!("/v1/orders?market_id={market_id}"), None).await?;
        Ok(answer.cancelled)
    }

    /// The account's shares of each outcome of `market_id` (micro-shares, by outcome index).
    pub async fn positions(&self, market_id: &str) -> Result<Vec<(u32, i64)>, ApiError> {
        #[derive(Deserialize)]
        struct Answer {
            positions: Vec<Position>,
        }
        #[derive(Deserialize)]
        struct Position {
            market_id: String,
            outcome: u32,
            size: String,
        }
        let answer: Answer = self.send(reqwest::Method::GET, "/v1/positions", None).await?;
        answer
            .positions
            .into_iter()
            .filter(|p| p.market_id == market_id)
            .map(|p| {
                kairos_domain::parse_micros(&p.size).map(|size| (p.outcome, size)).map_err(|e| ApiError::Unreadable {
                    path: "/v1/positions".into(),
                    cause: format!("size {:?}: {e}", p.size),
                })
            })
            .collect()
    }

    /// Arms (or renews) the dead-man's switch: every order of the account is cancelled unless
    /// another heartbeat comes within `timeout_ms`.
    pub async fn heartbeat(&self, timeout_ms: u64) -> Result<(), ApiError> {
        let body = serde_json::to_vec(&serde_json::json!({ "timeout_ms": timeout_ms }))
            .map_err(|e| ApiError::Transport(e.to_string()))?;
        let _: serde_json::Value = self.send(reqwest::Method::POST, "/v1/heartbeat", Some(body)).await?;
        Ok(())
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ApiError> {
        let bytes = body.unwrap_or_default();
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in self.signer.headers(method.as_str(), path, &bytes) {
            request = request.header(name, value);
        }
        if !bytes.is_empty() {
            request = request.header("content-type", "application/json").body(bytes);
        }
        let response = request.send().await.map_err(|e| ApiError::Transport(e.to_string()))?;
        let status = response.status().as_u16();
        let text = response.bytes().await.map_err(|e| ApiError::Transport(e.to_string()))?;
        if !(200..300).contains(&status) {
            #[derive(Deserialize)]
            struct ErrorBody {
                error: ErrorDetail,
            }
            let detail = serde_json::from_slice::<ErrorBody>(&text).map(|b| b.error).unwrap_or_else(|_| ErrorDetail {
                code: "http_error".to_string(),
                message: String::from_utf8_lossy(&text).chars().take(200).collect(),
            });
            return Err(ApiError::Refused { status, code: detail.code, message: detail.message });
        }
        serde_json::from_slice(&text).map_err(|e| ApiError::Unreadable { path: path.to_string(), cause: e.to_string() })
    }
}

/// Unix milliseconds on this machine's clock.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, Default, Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}
