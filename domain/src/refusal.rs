//! Why a venue refuses an order request: one type for the matching engine, every venue and the
//! HTTP layer, which maps each to its status and code.

use crate::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum Refusal {
    #[error("no such order")]
    NotFound,
    #[error("client_order_id {0:?} was used for a different order")]
    ClientOrderIdReused(String),
    #[error("insufficient {asset}: {needed} needed, {available} available")]
    Insufficient { asset: String, needed: i64, available: i64 },
    /// An account limit (open orders, price band, exposure): [`crate::risk`].
    #[error(transparent)]
    Limit(#[from] crate::risk::LimitBreach),
    #[error("the new size is not above what has already filled")]
    SizeBelowFilled,
    /// The price is not a whole number of the market's ticks between 0 and 1.
    #[error("the price is not on the market's tick grid between 0 and 1")]
    PriceOffGrid,
    /// Amounts of the order (its notional, fee or reservation) would leave `i64`.
    #[error("the order's amounts are beyond the representable range")]
    AmountOutOfRange,
    #[error("the market is not matched here")]
    UnknownMarket,
    #[error("the market is already resolved")]
    MarketResolved,
    #[error("the market has no outcome {0}")]
    NoSuchOutcome(u32),
    /// The venue cannot trade this market or outcome (e.g. it has no CLOB token id).
    #[error("the venue cannot trade this: {0}")]
    NotTradable(String),
    /// The venue has no amend (the Polymarket CLOB): cancel and place a new order.
    #[error("this venue cannot amend orders; cancel the order and place a new one")]
    AmendNotSupported,
    /// Another instance matches this market now (`address` is where it takes requests).
    #[error("another instance matches this market now; retry")]
    MarketMoved { address: String },
    /// The CLOB heartbeat is not known to be alive, so the CLOB may cancel open orders at any
    /// moment: no new ones until it is (cancels still go).
    #[error("the Polymarket CLOB heartbeat is not confirmed; new orders wait until it is (cancels still pass)")]
    HeartbeatLost,
    /// The user's share of the venue's order budget is spent for this second (cancels pass).
    #[error("you are placing orders on this venue faster than your share of its budget; retry in a second")]
    VenueBusy,
    /// The order names a group that does not exist, was deleted or is another account's.
    #[error("no such order group")]
    OrderGroupNotFound,
    /// The group tripped its market-maker protection: no new orders in it until it thaws or
    /// is reset (cancels still pass).
    #[error("the order group is frozen by its market-maker protection until {until}; reset it or wait")]
    OrderGroupFrozen { until: String },
}

impl Refusal {
    pub fn code(&self) -> ErrorCode {
        match self {
            Refusal::NotFound => ErrorCode::OrderNotFound,
            Refusal::ClientOrderIdReused(_) => ErrorCode::ClientOrderIdReused,
            Refusal::Insufficient { .. } => ErrorCode::InsufficientBalance,
            Refusal::Limit(breach) => breach.code(),
            Refusal::SizeBelowFilled => ErrorCode::SizeBelowFilled,
            Refusal::AmountOutOfRange => ErrorCode::AmountOutOfRange,
            Refusal::PriceOffGrid => ErrorCode::PriceOffTick,
            Refusal::UnknownMarket => ErrorCode::MarketNotMatchedHere,
            Refusal::MarketResolved => ErrorCode::MarketResolved,
            Refusal::NoSuchOutcome(_) => ErrorCode::InvalidOutcome,
            Refusal::NotTradable(_) => ErrorCode::MarketNotTradable,
            Refusal::AmendNotSupported => ErrorCode::AmendNotSupported,
            Refusal::MarketMoved { .. } => ErrorCode::MarketMoved,
            Refusal::HeartbeatLost => ErrorCode::VenueHeartbeatLost,
            Refusal::VenueBusy => ErrorCode::VenueRateLimited,
            Refusal::OrderGroupNotFound => ErrorCode::NotFound,
            Refusal::OrderGroupFrozen { .. } => ErrorCode::OrderGroupFrozen,
        }
    }
}
