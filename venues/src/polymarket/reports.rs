//! What the CLOB tells us, in Kairos's terms: a trade becomes one fill per order of ours it
//! touched (the taker's, and each maker order's), and an order's state becomes
//! [`VenueOrder`]. The websocket and REST speak the same facts in slightly different shapes;
//! both arrive here. Decimal strings are parsed exactly; anything unreadable is an error,
//! never a zero.

use kairos_clob_client::http::types::{OpenOrder, Trade};
use kairos_clob_client::ws::messages::OrderEvent;
use kairos_domain::{Finality, Liquidity, Price, Size, parse_micros};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable CLOB report: {0}")]
pub struct ReportError(pub String);

fn micros(field: &str, text: &str) -> Result<i64, ReportError> {
    parse_micros(text).map_err(|e| ReportError(format!("{field} {text:?}: {e}")))
}

/// A price of a share: between 0 and 1. What the money of a fill is computed from, so a notional
/// never exceeds its size.
fn price(field: &str, text: &str) -> Result<Price, ReportError> {
    let p = micros(field, text)?;
    if !(0..=kairos_domain::money::MICROS_PER_UNIT).contains(&p) {
        return Err(ReportError(format!("{field} {text:?} is not between 0 and 1")));
    }
    Ok(Price::from_micros(p))
}

/// A size: not negative.
fn size(field: &str, text: &str) -> Result<Size, ReportError> {
    let s = micros(field, text)?;
    if s < 0 {
        return Err(ReportError(format!("{field} {text:?} is negative")));
    }
    Ok(Size::from_micros(s))
}

/// One order's side of one trade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueFill {
    /// The order's id on the CLOB (its hash).
    pub venue_order_id: String,
    pub trade_id: String,
    pub price: Price,
    pub size: Size,
    pub liquidity: Liquidity,
    pub finality: Finality,
}

/// MATCHED, MINED and RETRYING are not final; CONFIRMED and FAILED are.
pub fn finality(status: &str) -> Result<Finality, ReportError> {
    match status.to_ascii_uppercase().trim_start_matches("TRADE_STATUS_") {
        "MATCHED" | "MINED" | "RETRYING" => Ok(Finality::Matched),
        "CONFIRMED" => Ok(Finality::Confirmed),
        "FAILED" => Ok(Finality::Failed),
        other => Err(ReportError(format!("trade status {other:?}"))),
    }
}

/// Every order side of a trade; the caller keeps the ones that are ours.
pub fn fills_of_trade(trade: &Trade) -> Result<Vec<VenueFill>, ReportError> {
    let finality = finality(&trade.status)?;
    let mut out = Vec::with_capacity(1 + trade.maker_orders.len());
    if !trade.taker_order_id.is_empty() {
        out.push(VenueFill {
            venue_order_id: trade.taker_order_id.clone(),
            trade_id: trade.id.clone(),
            price: price("price", &trade.price)?,
            size: size("size", &trade.size)?,
            liquidity: Liquidity::Taker,
            finality,
        });
    }
    for maker in &trade.maker_orders {
        out.push(VenueFill {
            venue_order_id: maker.order_id.clone(),
            trade_id: trade.id.clone(),
            price: price("maker price", &maker.price)?,
            size: size("matched_amount", &maker.matched_amount)?,
            liquidity: Liquidity::Maker,
            finality,
        });
    }
    Ok(out)
}

/// Where an order stands on the CLOB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueStatus {
    /// On the book (or accepted and delayed).
    Live,
    /// Fully matched: nothing of it rests.
    Matched,
    /// Cancelled (by us, by the heartbeat, by resolution) or refused after acceptance.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueOrder {
    pub status: VenueStatus,
    /// How much of it the CLOB has matched, whether or not we have seen those trades yet.
    pub size_matched: Size,
    /// The trades it took part in, when the report lists them.
    pub trade_ids: Vec<String>,
}

/// Both `ORDER_STATUS_LIVE` (REST) and `LIVE` (websocket) spellings.
pub fn status(text: &str) -> Result<VenueStatus, ReportError> {
    let upper = text.to_ascii_uppercase();
    match upper.trim_start_matches("ORDER_STATUS_") {
        "LIVE" | "DELAYED" | "UNMATCHED" => Ok(VenueStatus::Live),
        "MATCHED" => Ok(VenueStatus::Matched),
        s if s.starts_with("CANCELED") || s.starts_with("CANCELLED") || s == "INVALID" => Ok(VenueStatus::Cancelled),
        other => Err(ReportError(format!("order status {other:?}"))),
    }
}

fn matched_or_zero(text: &str) -> Result<Size, ReportError> {
    if text.is_empty() { Ok(Size::ZERO) } else { micros("size_matched", text).map(Size::from_micros) }
}

impl VenueOrder {
    pub fn from_rest(o: &OpenOrder) -> Result<VenueOrder, ReportError> {
        Ok(VenueOrder {
            status: status(&o.status)?,
            size_matched: matched_or_zero(&o.size_matched)?,
            trade_ids: o.associate_trades.clone(),
        })
    }

    /// A websocket order event: `CANCELLATION` cancels whatever `status` says.
    pub fn from_event(e: &OrderEvent) -> Result<VenueOrder, ReportError> {
        let status =
            if e.kind.eq_ignore_ascii_case("CANCELLATION") { VenueStatus::Cancelled } else { status(&e.status)? };
        Ok(VenueOrder { status, size_matched: matched_or_zero(&e.size_matched)?, trade_ids: Vec::new() })
    }
}

#[cfg(test)]
mod tests {
    use kairos_clob_client::ws::messages::MakerOrder;

    use super::*;

    #[test]
    fn a_trade_is_a_fill_for_the_taker_and_each_maker() {
        let trade = Trade {
            id: "t1".into(),
            taker_order_id: "0xtaker".into(),
            market: "0xcond".into(),
            asset_id: "1".into(),
            side: "BUY".into(),
            size: "15".into(),
            price: "0.52".into(),
            status: "MINED".into(),
            maker_orders: vec![
                MakerOrder {
                    order_id: "0xm1".into(),
                    matched_amount: "10".into(),
                    price: "0.5".into(),
                    ..Default::default()
                },
                MakerOrder {
                    order_id: "0xm2".into(),
                    matched_amount: "5".into(),
                    price: "0.56".into(),
                    ..Default::default()
                },
            ],
            trader_side: "TAKER".into(),
            fee_rate_bps: String::new(),
            match_time: String::new(),
            transaction_hash: String::new(),
        };
        let fills = fills_of_trade(&trade).expect("fills");
        assert_eq!(fills.len(), 3);
        assert_eq!(
            (fills[0].size, fills[0].price, fills[0].liquidity),
            (Size::from_micros(15_000_000), Price::from_micros(520_000), Liquidity::Taker)
        );
        assert_eq!((fills[2].size, fills[2].price), (Size::from_micros(5_000_000), Price::from_micros(560_000)));
        assert!(fills.iter().all(|f| f.finality == Finality::Matched));
        let mut bad = trade.clone();
        let mut above_one = trade.clone();
        above_one.price = "1.5".into();
        assert!(fills_of_trade(&above_one).is_err(), "a price above 1 is unreadable");
        let mut negative = trade.clone();
        negative.size = "-1".into();
        assert!(fills_of_trade(&negative).is_err(), "a negative size is unreadable");
        bad.size = "fifteen".into();
        assert!(fills_of_trade(&bad).is_err(), "never read as zero");
        bad.status = "SETTLED?".into();
        assert!(fills_of_trade(&bad).is_err());
    }

    #[test]
    fn order_states_read_in_both_spellings() {
        assert_eq!(status("ORDER_STATUS_LIVE"), Ok(VenueStatus::Live));
        assert_eq!(status("live"), Ok(VenueStatus::Live));
        assert_eq!(status("ORDER_STATUS_CANCELED_MARKET_RESOLVED"), Ok(VenueStatus::Cancelled));
        assert_eq!(status("MATCHED"), Ok(VenueStatus::Matched));
        assert!(status("").is_err());
        let e = OrderEvent {
            kind: "CANCELLATION".into(),
            status: "LIVE".into(),
            size_matched: "2.5".into(),
            ..Default::default()
        };
        assert_eq!(
            VenueOrder::from_event(&e),
            Ok(VenueOrder {
                status: VenueStatus::Cancelled,
                size_matched: Size::from_micros(2_500_000),
                trade_ids: vec![]
            })
        );
        assert_eq!(finality("CONFIRMED"), Ok(Finality::Confirmed));
        assert_eq!(finality("RETRYING"), Ok(Finality::Matched));
    }
}
