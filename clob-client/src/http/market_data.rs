//! Public market-data endpoints beyond the book and prices: price history, the market of a
//! token, the compact CLOB market, and the sampling and simplified market listings.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::ClobError;
use super::client::{Auth, ClobClient};
use super::types::Page;

/// One point of `GET /prices-history`. The price is kept as the server's JSON number, never
/// read into a float.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PricePoint {
    pub t: i64,
    pub p: serde_json::Number,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PriceHistory {
    #[serde(default)]
    pub history: Vec<PricePoint>,
}

/// The window of a price history: explicit bounds, or one of the server's intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryWindow {
    Range {
        start_ts: i64,
        end_ts: i64,
    },
    /// `max`, `1w`, `1d`, `6h` or `1h`.
    Interval(String),
}

/// The market listings `GET /markets` has siblings of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Sampling,
    Simplified,
    SamplingSimplified,
}

impl ClobClient {
    /// Prices of one token over a window; `fidelity` is the resolution in minutes.
    pub async fn prices_history(
        &self,
        token_id: &str,
        window: &HistoryWindow,
        fidelity: Option<u32>,
    ) -> Result<PriceHistory, ClobError> {
        let mut path = format!("/prices-history?market={token_id}");
        match window {
            HistoryWindow::Range { start_ts, end_ts } => path.push_str(&format!("&startTs={start_ts}&endTs={end_ts}")),
            HistoryWindow::Interval(i) if ["max", "1w", "1d", "6h", "1h"].contains(&i.as_str()) => {
                path.push_str(&format!("&interval={i}"));
            }
            HistoryWindow::Interval(i) => return Err(ClobError::Decode(format!("unknown interval {i:?}"))),
        }
        if let Some(f) = fidelity {
            path.push_str(&format!("&fidelity={f}"));
        }
        Self::decode(&self.idempotent(Method::GET, &path, None, Auth::Public).await?)
    }

    /// The market a token belongs to.
    pub async fn market_by_token(&self, token_id: &str) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::GET, &format!("/markets-by-token/{token_id}"), None, Auth::Public).await?)
    }

    /// The compact market (`GET /clob-markets/{condition_id}`): tokens, tick and order minimums.
    pub async fn clob_market(&self, condition_id: &str) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::GET, &format!("/clob-markets/{condition_id}"), None, Auth::Public).await?)
    }

    pub async fn market_listing(&self, listing: Listing, cursor: &str) -> Result<Page<serde_json::Value>, ClobError> {
        let path = match listing {
            Listing::Sampling => "/sampling-markets",
            Listing::Simplified => "/simplified-markets",
            Listing::SamplingSimplified => "/sampling-simplified-markets",
        };
        let q = if cursor.is_empty() { String::new() } else { format!("?next_cursor={cursor}") };
        Self::decode(&self.idempotent(Method::GET, &format!("{path}{q}"), None, Auth::Public).await?)
    }
}
