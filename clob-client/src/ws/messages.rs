//! The websocket channels' messages: the subscribe frames we send and the events the server
//! pushes. A frame may carry one event object or an array of them.

use serde::{Deserialize, Serialize};

use crate::http::types::ApiKeyCredentials;

/// `{"assets_ids":[…],"type":"market","initial_dump":true,"level":2}`: a snapshot of each
/// book first, then its changes.
pub fn market_subscription(asset_ids: &[String]) -> String {
    serde_json::json!({ "assets_ids": asset_ids, "type": "market", "initial_dump": true, "level": 2 }).to_string()
}

/// `{"auth":{apiKey,secret,passphrase},"markets":[condition ids],"type":"user"}`.
pub fn user_subscription(credentials: &ApiKeyCredentials, markets: &[String]) -> String {
    serde_json::json!({
        "auth": {
            "apiKey": credentials.api_key,
            "secret": credentials.secret,
            "passphrase": credentials.passphrase,
        },
        "markets": markets,
        "type": "user",
    })
    .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Level {
    pub price: String,
    pub size: String,
}

/// A book snapshot for one asset.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct BookEvent {
    pub asset_id: String,
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub bids: Vec<Level>,
    #[serde(default)]
    pub asks: Vec<Level>,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub hash: String,
}

/// One level's new size (`"0"` removes it), with the book's hash after the change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PriceChange {
    pub asset_id: String,
    pub price: String,
    pub size: String,
    /// `BUY` (a bid level) or `SELL` (an ask level).
    pub side: String,
    #[serde(default)]
    pub hash: String,
    #[serde(default)]
    pub best_bid: String,
    #[serde(default)]
    pub best_ask: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PriceChangeEvent {
    #[serde(default)]
    pub market: String,
    #[serde(default)]
    pub timestamp: String,
    pub price_changes: Vec<PriceChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TickSizeChangeEvent {
    pub asset_id: String,
    #[serde(default)]
    pub market: String,
    pub old_tick_size: String,
    pub new_tick_size: String,
    #[serde(default)]
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LastTradePriceEvent {
    pub asset_id: String,
    #[serde(default)]
    pub market: String,
    pub price: String,
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub fee_rate_bps: String,
    #[serde(default)]
    pub timestamp: String,
}

/// What the market channel pushes. Event kinds we do not model arrive as `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum MarketEvent {
    Book(BookEvent),
    PriceChange(PriceChangeEvent),
    TickSizeChange(TickSizeChangeEvent),
    LastTradePrice(LastTradePriceEvent),
    #[serde(other)]
    Other,
}

/// A maker order a trade filled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct MakerOrder {
    pub order_id: String,
    pub asset_id: String,
    pub matched_amount: String,
    pub price: String,
    pub outcome: String,
    pub owner: String,
}

/// A trade touching our orders, with its settlement status: `MATCHED`, `MINED`,
/// `CONFIRMED`, `RETRYING` or `FAILED` (the same trade id comes again as it moves on).
/// Fields the server leaves out read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct TradeEvent {
    pub id: String,
    pub market: String,
    pub asset_id: String,
    pub side: String,
    pub size: String,
    pub price: String,
    pub status: String,
    pub taker_order_id: String,
    pub maker_orders: Vec<MakerOrder>,
    pub trader_side: String,
    pub transaction_hash: String,
    pub timestamp: String,
}

/// An order's placement, update (a fill) or cancellation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct OrderEvent {
    pub id: String,
    pub market: String,
    pub asset_id: String,
    pub side: String,
    pub price: String,
    /// `PLACEMENT`, `UPDATE` or `CANCELLATION`.
    #[serde(rename = "type")]
    pub kind: String,
    pub original_size: String,
    pub size_matched: String,
    pub status: String,
    pub timestamp: String,
}

/// What the user channel pushes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "event_type", rename_all = "snake_case")]
pub enum UserEvent {
    Trade(TradeEvent),
    Order(OrderEvent),
    #[serde(other)]
    Other,
}

/// The events in one text frame: an object or an array of objects.
pub fn parse_frame<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    match value {
        serde_json::Value::Array(items) => items.into_iter().map(serde_json::from_value).collect(),
        other => Ok(vec![serde_json::from_value(other)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_hold_one_event_or_an_array() {
        let one = r#"{"event_type":"last_trade_price","asset_id":"1","price":"0.5","side":"BUY","size":"10"}"#;
        let events: Vec<MarketEvent> = parse_frame(one).expect("one");
        assert!(matches!(&events[..], [MarketEvent::LastTradePrice(e)] if e.price == "0.5"));
        let many = r#"[{"event_type":"book","asset_id":"1","bids":[{"price":"0.4","size":"5"}],"asks":[]},
                       {"event_type":"best_bid_ask","asset_id":"1"}]"#;
        let events: Vec<MarketEvent> = parse_frame(many).expect("array");
        assert!(matches!(&events[..], [MarketEvent::Book(_), MarketEvent::Other]));
        let user = r#"{"event_type":"trade","id":"t1","status":"MATCHED","maker_orders":[{"order_id":"0xabc"}]}"#;
        let events: Vec<UserEvent> = parse_frame(user).expect("user");
        assert!(matches!(&events[..], [UserEvent::Trade(t)] if t.maker_orders[0].order_id == "0xabc"));
        assert!(parse_frame::<MarketEvent>("not json").is_err());
    }
}
