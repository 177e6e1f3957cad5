//! Markets and their outcomes, as every venue sees them.

use std::str::FromStr;

use crate::money::{Price, Size};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// The built-in paper exchange.
    Paper,
    /// The Polymarket CLOB.
    Polymarket,
}

impl Venue {
    pub const ALL: [Venue; 2] = [Venue::Paper, Venue::Polymarket];

    pub fn as_str(self) -> &'static str {
        match self {
            Venue::Paper => "paper",
            Venue::Polymarket => "polymarket",
        }
    }
}

impl serde::Serialize for Venue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Venue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Venue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Venue::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown venue {s:?}; expected paper or polymarket"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketStatus {
    Open,
    /// Stopped by an operator; no new orders, cancels allowed.
    Suspended,
    /// Trading has ended; waiting for resolution.
    Closed,
    Resolved,
}

impl MarketStatus {
    pub const ALL: [MarketStatus; 4] =
        [MarketStatus::Open, MarketStatus::Suspended, MarketStatus::Closed, MarketStatus::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            MarketStatus::Open => "open",
            MarketStatus::Suspended => "suspended",
            MarketStatus::Closed => "closed",
            MarketStatus::Resolved => "resolved",
        }
    }
}

impl FromStr for MarketStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MarketStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown market status {s:?}; expected open, suspended, closed or resolved"))
    }
}

/// The settlement protocol of a Polymarket market, as Gamma's `version` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MarketProtocol {
    /// `"v1"`: CTF token ids (`clobTokenIds`), order version 2.
    CtfV1,
    /// `"v2"`: PositionManager position ids (`positionIds`), ExchangeV3, order version 3.
    PositionsV2,
}

impl MarketProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            MarketProtocol::CtfV1 => "v1",
            MarketProtocol::PositionsV2 => "v2",
        }
    }
}

impl FromStr for MarketProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v1" => Ok(MarketProtocol::CtfV1),
            "v2" => Ok(MarketProtocol::PositionsV2),
            other => Err(format!("unknown market protocol version {other:?}; expected v1 or v2")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// 0-based position in the market's outcome list; what orders refer to.
    pub index: u32,
    pub label: String,
    /// The venue's token id, when the venue has one (a Polymarket CTF token id, or a
    /// position id on a Protocol V2 market).
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub id: String,
    pub venue: Venue,
    /// The venue's own id (the Polymarket condition id).
    pub external_id: Option<String>,
    pub slug: String,
    pub question: String,
    pub description: String,
    pub status: MarketStatus,
    /// Price increment (10_000 micro-units = 0.01).
    pub tick_size: Price,
    /// Smallest order size.
    pub min_size: Size,
    pub end_time_us: Option<i64>,
    /// How the venue settles it (Polymarket only; `None` when not known).
    pub protocol: Option<MarketProtocol>,
    pub resolved_outcome: Option<u32>,
    /// Seeded by `dev` for newcomers; not a real market.
    pub is_sample: bool,
    pub outcomes: Vec<Outcome>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// A market to insert; the storage layer gives it an id and timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMarket {
    pub venue: Venue,
    pub external_id: Option<String>,
    pub slug: String,
    pub question: String,
    pub description: String,
    pub status: MarketStatus,
    pub tick_size: Price,
    pub min_size: Size,
    pub end_time_us: Option<i64>,
    pub protocol: Option<MarketProtocol>,
    pub is_sample: bool,
    pub outcomes: Vec<Outcome>,
}

/// A market no venue accepts, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidMarket(pub String);

impl NewMarket {
    /// Checks what no venue accepts: no outcomes, a tick outside (0, 1), a non-positive minimum.
    pub fn validate(&self) -> Result<(), InvalidMarket> {
        if self.outcomes.len() < 2 {
            return Err(InvalidMarket(format!("market {:?} needs at least two outcomes", self.slug)));
        }
        if !(1..super::money::MICROS_PER_UNIT).contains(&self.tick_size.micros()) {
            return Err(InvalidMarket(format!("market {:?}: tick size must be between 0 and 1", self.slug)));
        }
        if !self.min_size.is_positive() {
            return Err(InvalidMarket(format!("market {:?}: minimum size must be positive", self.slug)));
        }
        if self.question.trim().is_empty() {
            return Err(InvalidMarket(format!("market {:?} has no question", self.slug)));
        }
        Ok(())
    }
}
