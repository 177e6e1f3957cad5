//! The CLOB's answers that the client reads field by field; amounts stay decimal strings.

use serde::{Deserialize, Serialize};

/// `POST /order` answer (and each leg of `POST /orders`). Since the CLOB's asynchronous
/// execution (py-clob-client-v2 1.1.0 release notes, polymarket_client_sdk_v2 0.7.0 changelog)
/// a matched order's answer names its trades in `tradeIDs` and may leave `transactionsHashes`
/// empty; answers from before carried the hashes and no trade ids. Either may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PostOrderResponse {
    #[serde(default)]
    pub success: bool,
    #[serde(rename = "orderID", default)]
    pub order_id: String,
    /// `live`, `matched`, `delayed` or `unmatched`.
    #[serde(default)]
    pub status: String,
    #[serde(rename = "makingAmount", default)]
    pub making_amount: String,
    #[serde(rename = "takingAmount", default)]
    pub taking_amount: String,
    #[serde(rename = "errorMsg", default)]
    pub error_msg: String,
    /// The trades this order made when it was placed; later fills of a resting order are not
    /// listed here.
    #[serde(rename = "tradeIDs", default, deserialize_with = "null_as_empty")]
    pub trade_ids: Vec<String>,
    #[serde(rename = "transactionsHashes", default, deserialize_with = "null_as_empty")]
    pub transactions_hashes: Vec<String>,
}

/// A list the CLOB may send as `null`.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Answer of every cancel endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct CancelResponse {
    #[serde(default)]
    pub canceled: Vec<String>,
    #[serde(default)]
    pub not_canceled: std::collections::BTreeMap<String, String>,
}

/// An order as `GET /data/order/{id}` and `GET /data/orders` give it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OpenOrder {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub asset_id: String,
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    pub original_size: String,
    #[serde(default)]
    pub size_matched: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub order_type: String,
    #[serde(default)]
    pub associate_trades: Vec<String>,
}

/// A trade as `GET /data/trades` gives it; `status` is its finality (MATCHED, MINED,
/// CONFIRMED, RETRYING, FAILED). `size` and `price` are the taker's; each maker order the
/// trade filled is in `maker_orders` with its own amount and price.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Trade {
    pub id: String,
    #[serde(default)]
    pub taker_order_id: String,
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub asset_id: String,
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub price: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub maker_orders: Vec<crate::ws::messages::MakerOrder>,
    /// `TAKER` or `MAKER`: which side of the trade the account was on.
    #[serde(default)]
    pub trader_side: String,
    #[serde(default)]
    pub fee_rate_bps: String,
    #[serde(default)]
    pub match_time: String,
    #[serde(default)]
    pub transaction_hash: String,
}

impl From<crate::ws::messages::TradeEvent> for Trade {
    /// The user channel's trade event carries the same facts as the REST trade.
    fn from(e: crate::ws::messages::TradeEvent) -> Trade {
        Trade {
            id: e.id,
            taker_order_id: e.taker_order_id,
            market: e.market,
            asset_id: e.asset_id,
            side: e.side,
            size: e.size,
            price: e.price,
            status: e.status,
            maker_orders: e.maker_orders,
            trader_side: e.trader_side,
            fee_rate_bps: String::new(),
            match_time: e.timestamp,
            transaction_hash: e.transaction_hash,
        }
    }
}

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub next_cursor: String,
}

impl<T> Page<T> {
    /// The first page's cursor.
    pub const FIRST: &'static str = "MA==";

    /// Whether this was the last page (`LTE=` or empty).
    pub fn is_last(&self) -> bool {
        self.next_cursor.is_empty() || self.next_cursor == "LTE="
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Level {
    pub price: String,
    pub size: String,
}

/// `GET /book`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Book {
    #[serde(default)]
    pub market: String,
    pub asset_id: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub hash: String,
    #[serde(default)]
    pub bids: Vec<Level>,
    #[serde(default)]
    pub asks: Vec<Level>,
    #[serde(default)]
    pub tick_size: String,
    #[serde(default)]
    pub min_order_size: String,
    #[serde(default)]
    pub neg_risk: bool,
    #[serde(default)]
    pub last_trade_price: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct HeartbeatResponse {
    #[serde(default)]
    pub heartbeat_id: String,
    #[serde(default)]
    pub error_msg: Option<String>,
}

/// L2 credentials as the CLOB returns them; `Debug` never shows the secret or passphrase.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiKeyCredentials {
    #[serde(rename = "apiKey")]
    pub api_key: String,
    pub secret: String,
    pub passphrase: String,
}

impl std::fmt::Debug for ApiKeyCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyCredentials").field("api_key", &self.api_key).finish_non_exhaustive()
    }
}
