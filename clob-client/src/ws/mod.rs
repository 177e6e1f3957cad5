//! The CLOB's websocket feeds: the public market channel (book snapshots, price changes,
//! tick-size changes, last trades) and the authenticated user channel (our orders and
//! trades), kept alive by [`connection`], and a local book per asset kept from the market
//! channel ([`book`]) and resynced from REST when its hash disagrees or after a gap.

pub mod book;
pub mod books;
pub mod connection;
pub mod messages;

pub use connection::{RawFrame, Subscription, WsConfig, WsEvent, subscribe, subscribe_raw};
pub use messages::{MarketEvent, UserEvent};

use crate::http::types::ApiKeyCredentials;

pub const MARKET_URL: &str = "wss://ws-subscriptions-clob.polymarket.com/ws/market";
pub const USER_URL: &str = "wss://ws-subscriptions-clob.polymarket.com/ws/user";

/// The market channel for these token ids.
pub fn market(config: WsConfig, asset_ids: &[String]) -> Subscription<MarketEvent> {
    subscribe(config, messages::market_subscription(asset_ids))
}

/// The market channel for these token ids, each frame whole and unparsed with the moment it
/// was read (for a consumer with its own parser, such as the quoter).
pub fn market_raw(config: WsConfig, asset_ids: &[String]) -> Subscription<RawFrame> {
    subscribe_raw(config, messages::market_subscription(asset_ids))
}

/// The user channel for these markets (condition ids).
pub fn user(config: WsConfig, credentials: &ApiKeyCredentials, markets: &[String]) -> Subscription<UserEvent> {
    subscribe(config, messages::user_subscription(credentials, markets))
}
