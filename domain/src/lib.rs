//! Domain types: parsed at the edge, trusted inside. They know nothing of HTTP, SQL or Solana,
//! and nothing here does I/O, so the matching engine and the quoter link them without a runtime.
//! [`ledger`] is the ledger's model (accounts, transfers); [`risk`] the stateless pre-trade checks
//! that every venue and the quoter share.

pub mod access;
pub mod error_code;
pub mod ledger;
pub mod market;
pub mod money;
pub mod network;
pub mod order;
pub mod order_group;
pub mod refusal;
pub mod risk;
pub mod time;
pub mod trading_state;

pub use access::{Role, Scope};
pub use error_code::ErrorCode;
pub use market::{Market, MarketProtocol, MarketStatus, NewMarket, Outcome, Venue};
pub use money::{Collateral, MoneyError, Price, Size, format_micros, parse_micros};
pub use network::IpRule;
pub use order::{Fill, Finality, Hold, Liquidity, Order, OrderStatus, OrderType, Side, Stp, TimeInForce};
pub use order_group::{GroupLimits, GroupState, OrderGroup};
pub use refusal::Refusal;
pub use time::{format_rfc3339_us, now_us, parse_rfc3339_us};
pub use trading_state::TradingState;

/// A fresh id: a UUIDv7, so ids sort by creation time (cursor pagination relies on it).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Parses an id from a request: any UUID spelling (upper case, no hyphens, braces, URN),
/// returned in the canonical hyphenated lower-case form that the database holds.
pub fn parse_id(input: &str) -> Option<String> {
    uuid::Uuid::try_parse(input).ok().map(|id| id.hyphenated().to_string())
}
