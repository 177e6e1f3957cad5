//! Order amounts (makerAmount, takerAmount in 1e-6 units) from price and size.
//!
//! Two modes: [`exact`] (the default, integer decimal arithmetic, agreeing with the official
//! Rust client) and [`python`], an opt-in mode that reproduces the official Python
//! client's binary floating point bit for bit, float surprises included, for users who need
//! order hashes identical to that client's.

pub mod exact;
pub mod python;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountSide {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    Limit,
    /// For BUY the amount is collateral, for SELL shares; the price is the worst acceptable.
    Market,
}

/// (makerAmount, takerAmount) in 1e-6 units.
pub type Amounts = (u64, u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoundingError {
    #[error("unsupported tick size {0:?}; expected 0.1, 0.01, 0.005, 0.0025, 0.001 or 0.0001")]
    UnknownTick(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("invalid price ({price}), min: {min} - max: {max}")]
    PriceOutOfRange { price: String, min: String, max: String },
    #[error("price {price} has more decimals than the tick {tick} ({decimals})")]
    PriceTooPrecise { price: String, tick: String, decimals: u32 },
    #[error("price {price} is not on the {tick} grid; nearest valid: {below} or {above}")]
    PriceOffTick { price: String, tick: String, below: String, above: String },
    #[error("size {0} rounds down to zero at 2 decimals")]
    SizeRoundsToZero(String),
    #[error("collateral amount {0} has more than 6 decimals")]
    AmountTooPrecise(String),
    #[error("the amount does not fit in 64 bits")]
    TooLarge,
}
