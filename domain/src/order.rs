//! Orders and fills as every venue sees them: the words of the order API, parsed once.

use std::str::FromStr;

use crate::money::{Collateral, Price, Size};

/// An enum spelled on the wire as lower-case words; `ALL` lists them for error messages.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("{s:?} is not one of {}", names.join(", "))
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(Side { Buy => "buy", Sell => "sell" });

wire_enum!(OrderType {
    Limit => "limit",
    /// Takes what is there up to its price (the worst it accepts), never rests.
    Market => "market",
});

wire_enum!(TimeInForce { Gtc => "gtc", Gtd => "gtd", Ioc => "ioc", Fok => "fok" });

wire_enum!(
    /// Self-trade prevention.
    Stp { CancelNewest => "cancel_newest", CancelOldest => "cancel_oldest", CancelBoth => "cancel_both" }
);

wire_enum!(OrderStatus {
    /// Accepted, not yet on a venue's book (venues that acknowledge later).
    Pending => "pending",
    Open => "open",
    PartiallyFilled => "partially_filled",
    Filled => "filled",
    Cancelled => "cancelled",
    Expired => "expired",
    Rejected => "rejected",
});

impl OrderStatus {
    /// Still working: it may trade.
    pub fn is_live(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Open | OrderStatus::PartiallyFilled)
    }
}

wire_enum!(Liquidity { Maker => "maker", Taker => "taker" });

wire_enum!(
    /// How final a fill is: matched on the book, confirmed (settled), or failed after matching.
    Finality { Matched => "matched", Confirmed => "confirmed", Failed => "failed" }
);

/// One order as stored (and as instances forward it to each other).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub id: String,
    pub user_id: String,
    pub client_order_id: String,
    pub request_hash: String,
    pub market_id: String,
    pub outcome: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub post_only: bool,
    pub stp: Stp,
    // The serialized names keep the `_micros` of the format instances already exchange.
    #[serde(rename = "price_micros")]
    pub price: Price,
    #[serde(rename = "size_micros")]
    pub size: Size,
    #[serde(rename = "filled_micros")]
    pub filled: Size,
    /// Collateral (buys) or shares (sells) still held for the order: its unit is the side's,
    /// so it stays a bare count of micro-units; [`Order::reserved`] gives it its type.
    pub reserved_micros: i64,
    #[serde(rename = "fees_micros")]
    pub fees: Collateral,
    pub status: OrderStatus,
    pub reason: Option<String>,
    pub venue: super::Venue,
    pub venue_order_id: Option<String>,
    /// The market-maker protection group it belongs to ([`crate::order_group`]).
    #[serde(default)]
    pub order_group_id: Option<String>,
    pub expires_at_us: Option<i64>,
    pub priority: i64,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

/// What an order holds: collateral for a buy, shares for a sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    Collateral(Collateral),
    Shares(Size),
}

impl Hold {
    /// `micros` of what an order on `side` holds.
    pub fn of(side: Side, micros: i64) -> Hold {
        match side {
            Side::Buy => Hold::Collateral(Collateral::from_micros(micros)),
            Side::Sell => Hold::Shares(Size::from_micros(micros)),
        }
    }
}

impl Order {
    pub fn remaining(&self) -> Size {
        self.size - self.filled
    }

    /// The reservation in its unit.
    pub fn reserved(&self) -> Hold {
        Hold::of(self.side, self.reserved_micros)
    }
}

/// One side of one match.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fill {
    pub id: String,
    pub trade_id: String,
    pub order_id: String,
    pub user_id: String,
    pub market_id: String,
    pub outcome: u32,
    pub side: Side,
    /// In the order's own outcome.
    #[serde(rename = "price_micros")]
    pub price: Price,
    #[serde(rename = "size_micros")]
    pub size: Size,
    #[serde(rename = "fee_micros")]
    pub fee: Collateral,
    pub liquidity: Liquidity,
    pub finality: Finality,
    pub created_at_us: i64,
}

/// The ledger asset of a market outcome's shares.
pub fn share_asset(market_id: &str, outcome: u32) -> String {
    format!("shares:{market_id}:{outcome}")
}

/// (market id, outcome) of a share asset.
pub fn parse_share_asset(asset: &str) -> Option<(&str, u32)> {
    let rest = asset.strip_prefix("shares:")?;
    let (market, outcome) = rest.rsplit_once(':')?;
    Some((market, outcome.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_words_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>(), Ok(*s));
        }
        assert_eq!("cancel_both".parse::<Stp>(), Ok(Stp::CancelBoth));
        assert_eq!("BUY".parse::<Side>(), Err("\"BUY\" is not one of buy, sell".to_string()));
        assert!(OrderStatus::PartiallyFilled.is_live() && !OrderStatus::Filled.is_live());
    }

    #[test]
    fn share_assets_name_their_market_and_outcome() {
        let asset = share_asset("0190-ab", 1);
        assert_eq!(asset, "shares:0190-ab:1");
        assert_eq!(parse_share_asset(&asset), Some(("0190-ab", 1)));
        assert_eq!(parse_share_asset("USDC"), None);
    }
}
