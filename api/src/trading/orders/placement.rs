//! `POST /v1/orders` bodies into [`Order`]s: exact decimal parsing, the market's tick, minimum
//! and size step, the notional limit, time in force and expiry, and the digest that tells a
//! replay from a reused client order id.

use kairos_domain::ErrorCode;
use kairos_domain::risk::{self, OrderAction, Rejection, RejectionKind};
use kairos_domain::{
    Collateral, Market, Order, OrderStatus, OrderType, Price, Side, Size, Stp, TimeInForce, TradingState, new_id,
    parse_rfc3339_us,
};
use kairos_platform::config::Trading;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::http::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SideWire {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderTypeWire {
    Limit,
    Market,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForceWire {
    Gtc,
    Gtd,
    Ioc,
    Fok,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StpWire {
    CancelNewest,
    CancelOldest,
    CancelBoth,
}

/// The largest outcome index the schema allows.
pub const MAX_OUTCOME: u32 = 255;

/// A new order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequest {
    #[schema(format = Uuid)]
    pub market_id: String,
    /// 0-based index in the market's outcome list (binary markets: 0 = YES, 1 = NO).
    #[schema(minimum = 0, maximum = 255)]
    pub outcome: u32,
    pub side: SideWire,
    /// Decimal string on the market's tick grid, e.g. `"0.42"`. For a market order: the worst
    /// price accepted.
    #[schema(example = "0.42")]
    pub price: String,
    /// Decimal string in shares, at least the market's minimum, in steps of its size step.
    #[schema(example = "10")]
    pub size: String,
    /// `limit` (default) or `market` (takes liquidity up to `price`, never rests).
    #[serde(rename = "type")]
    pub order_type: Option<OrderTypeWire>,
    /// Default `gtc` for limit orders and `ioc` for market orders.
    pub time_in_force: Option<TimeInForceWire>,
    /// RFC 3339; required with `gtd`, refused otherwise.
    pub expires_at: Option<String>,
    /// Refuse the order if it would take liquidity.
    pub post_only: Option<bool>,
    /// Self-trade prevention; default `cancel_newest`.
    pub stp: Option<StpWire>,
    /// Unique per account, 1–64 characters of `A–Z a–z 0–9 - _ . :`. Repeating a request with
    /// the same id returns the original order (header `Idempotent-Replayed: true`).
    pub client_order_id: Option<String>,
    /// The order group (market-maker protection) the order joins: the group must be the
    /// account's own and not frozen.
    #[schema(format = Uuid)]
    pub order_group_id: Option<String>,
}

fn rejection(r: Rejection) -> ApiError {
    let code = r.code();
    match r.kind() {
        RejectionKind::Malformed => ApiError::bad_request(code, r.to_string()),
        RejectionKind::Rule => ApiError::Unprocessable { code, message: r.to_string() },
        RejectionKind::Unavailable => ApiError::Unavailable { code, message: r.to_string() },
    }
}

/// The kill switch, for anything but a cancel.
pub fn check_trading(state: TradingState) -> Result<(), ApiError> {
    risk::check_trading(state, OrderAction::Place).map_err(rejection)
}

pub fn valid_client_order_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Checks a price against the market: exact, on the grid.
pub fn parse_price(text: &str, market: &Market) -> Result<Price, ApiError> {
    let ticks = risk::price_ticks(text, market.tick_size).map_err(rejection)?;
    Ok(Price::from_micros(i64::from(ticks) * market.tick_size.micros()))
}

/// Checks a size against the market: exact, at least the minimum, on the size step.
pub fn parse_size(text: &str, market: &Market) -> Result<Size, ApiError> {
    let size = risk::parse_size(text, market.min_size).map_err(rejection)?;
    risk::check_lot(size, market.tick_size).map_err(rejection)?;
    Ok(size)
}

pub fn check_notional(price: Price, size: Size, trading: &Trading) -> Result<(), ApiError> {
    risk::check_notional(price, size, Collateral::from_micros(trading.max_order_notional_micros)).map_err(rejection)
}

/// Builds the order a request asks for (status `pending`), or the first reason it cannot be.
pub fn build(
    req: &PlaceOrderRequest,
    market: &Market,
    user_id: &str,
    trading: &Trading,
    now_us: i64,
) -> Result<Order, ApiError> {
    risk::check_market(market.status).map_err(rejection)?;
    if req.outcome > MAX_OUTCOME {
        return Err(ApiError::bad_request(ErrorCode::InvalidOutcome, format!("outcome is at most {MAX_OUTCOME}")));
    }
    if req.outcome as usize >= market.outcomes.len() {
        return Err(ApiError::Unprocessable {
            code: ErrorCode::InvalidOutcome,
            message: format!("outcome must be between 0 and {}", market.outcomes.len().saturating_sub(1)),
        });
    }
    let order_type = match req.order_type.unwrap_or(OrderTypeWire::Limit) {
        OrderTypeWire::Limit => OrderType::Limit,
        OrderTypeWire::Market => OrderType::Market,
    };
    let time_in_force = match (order_type, req.time_in_force) {
        (OrderType::Limit, None) => TimeInForce::Gtc,
        (OrderType::Market, None) => TimeInForce::Ioc,
        (_, Some(TimeInForceWire::Gtc)) => TimeInForce::Gtc,
        (_, Some(TimeInForceWire::Gtd)) => TimeInForce::Gtd,
        (_, Some(TimeInForceWire::Ioc)) => TimeInForce::Ioc,
        (_, Some(TimeInForceWire::Fok)) => TimeInForce::Fok,
    };
    let post_only = req.post_only.unwrap_or(false);
    if order_type == OrderType::Market && matches!(time_in_force, TimeInForce::Gtc | TimeInForce::Gtd) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidTimeInForce,
            "a market order is ioc or fok; it never rests",
        ));
    }
    if post_only && (order_type == OrderType::Market || matches!(time_in_force, TimeInForce::Ioc | TimeInForce::Fok)) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidPostOnly,
            "post_only needs a limit order that can rest (gtc or gtd)",
        ));
    }
    let expires_at_us = match (time_in_force, req.expires_at.as_deref()) {
        (TimeInForce::Gtd, None) => {
            return Err(ApiError::bad_request(ErrorCode::MissingExpiresAt, "a gtd order needs expires_at (RFC 3339)"));
        }
        (TimeInForce::Gtd, Some(text)) => {
            let at = parse_rfc3339_us(text).ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidExpiresAt, "expires_at must be an RFC 3339 time")
            })?;
            if at <= now_us {
                return Err(ApiError::Unprocessable {
                    code: ErrorCode::ExpiresAtInPast,
                    message: "expires_at must be in the future".to_string(),
                });
            }
            Some(at)
        }
        (_, Some(_)) => {
            return Err(ApiError::bad_request(
                ErrorCode::UnexpectedExpiresAt,
                "expires_at goes only with time_in_force gtd",
            ));
        }
        (_, None) => None,
    };
    let price = parse_price(&req.price, market)?;
    let size = parse_size(&req.size, market)?;
    check_notional(price, size, trading)?;
    let id = new_id();
    let client_order_id = match &req.client_order_id {
        Some(c) if valid_client_order_id(c) => c.clone(),
        Some(_) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidClientOrderId,
                "client_order_id must be 1-64 characters of A-Z a-z 0-9 - _ . :",
            ));
        }
        None => id.clone(),
    };
    let order_group_id = match &req.order_group_id {
        None => None,
        Some(g) => Some(
            kairos_domain::parse_id(g)
                .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "order_group_id must be a UUID"))?,
        ),
    };
    let side = match req.side {
        SideWire::Buy => Side::Buy,
        SideWire::Sell => Side::Sell,
    };
    let stp = match req.stp.unwrap_or(StpWire::CancelNewest) {
        StpWire::CancelNewest => Stp::CancelNewest,
        StpWire::CancelOldest => Stp::CancelOldest,
        StpWire::CancelBoth => Stp::CancelBoth,
    };
    let mut order = Order {
        id,
        user_id: user_id.to_string(),
        client_order_id,
        request_hash: String::new(),
        market_id: market.id.clone(),
        outcome: req.outcome,
        side,
        order_type,
        time_in_force,
        post_only,
        stp,
        price,
        size,
        filled: Size::ZERO,
        reserved_micros: 0,
        fees: Collateral::ZERO,
        status: OrderStatus::Pending,
        reason: None,
        venue: market.venue,
        venue_order_id: None,
        order_group_id,
        expires_at_us,
        priority: 0,
        created_at_us: now_us,
        updated_at_us: now_us,
    };
    order.request_hash = request_hash(&order);
    Ok(order)
}

/// A digest of what the order asks for (not of how it was spelled): the same order sent
/// twice has the same digest; any change of parameters changes it.
pub fn request_hash(o: &Order) -> String {
    let mut canonical = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        o.market_id,
        o.outcome,
        o.side,
        o.order_type,
        o.time_in_force,
        // In micro-units, as the digests already stored were computed.
        o.price.micros(),
        o.size.micros(),
        o.expires_at_us.map_or(String::new(), |t| t.to_string()),
        o.post_only,
        o.stp,
    );
    // Only orders in a group carry it, so the digests stored before groups existed still match.
    if let Some(group) = &o.order_group_id {
        canonical.push_str("|group:");
        canonical.push_str(group);
    }
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use kairos_domain::{MarketStatus, Outcome, Venue};

    use super::*;

    fn market() -> Market {
        Market {
            id: "m".into(),
            venue: Venue::Paper,
            external_id: None,
            slug: "m".into(),
            question: "q".into(),
            description: String::new(),
            status: MarketStatus::Open,
            tick_size: Price::from_micros(10_000),
            min_size: Size::from_micros(1_000_000),
            end_time_us: None,
            protocol: None,
            resolved_outcome: None,
            is_sample: false,
            outcomes: vec![
                Outcome { index: 0, label: "YES".into(), external_id: None },
                Outcome { index: 1, label: "NO".into(), external_id: None },
            ],
            created_at_us: 0,
            updated_at_us: 0,
        }
    }

    fn request(price: &str, size: &str) -> PlaceOrderRequest {
        PlaceOrderRequest {
            market_id: "m".into(),
            outcome: 0,
            side: SideWire::Buy,
            price: price.into(),
            size: size.into(),
            order_type: None,
            time_in_force: None,
            expires_at: None,
            post_only: None,
            stp: None,
            client_order_id: Some("abc-1".into()),
            order_group_id: None,
        }
    }

    const TRADING: Trading = Trading {
        maker_fee_bps: 0,
        taker_fee_bps: 0,
        max_order_notional_micros: 1_000 * 1_000_000,
        max_open_orders: 0,
        price_band_micros: 0,
        max_market_exposure_micros: 0,
    };

    fn code(r: Result<Order, ApiError>) -> &'static str {
        r.expect_err("refused").code().as_str()
    }

    #[test]
    fn a_good_request_becomes_a_pending_order() {
        let o = build(&request("0.42", "10.5"), &market(), "u", &TRADING, 1).expect("order");
        assert_eq!((o.price.micros(), o.size.micros(), o.time_in_force), (420_000, 10_500_000, TimeInForce::Gtc));
        assert_eq!((o.status, o.client_order_id.as_str()), (OrderStatus::Pending, "abc-1"));
        let again = build(&request("0.420", "10.50"), &market(), "u", &TRADING, 2).expect("order");
        assert_eq!(o.request_hash, again.request_hash, "the same order spelled differently is a replay");
        let other = build(&request("0.43", "10.5"), &market(), "u", &TRADING, 2).expect("order");
        assert_ne!(o.request_hash, other.request_hash);
    }

    #[test]
    fn each_mistake_has_its_own_code() {
        let m = market();
        assert_eq!(code(build(&request("0.425", "10"), &m, "u", &TRADING, 1)), "price_off_tick");
        assert_eq!(code(build(&request("0.42", "0.5"), &m, "u", &TRADING, 1)), "size_below_minimum");
        assert_eq!(code(build(&request("0.42", "1.00001"), &m, "u", &TRADING, 1)), "size_off_lot");
        assert_eq!(code(build(&request("0.5", "5000"), &m, "u", &TRADING, 1)), "order_notional_too_large");
        let mut r = request("0.42", "10");
        r.outcome = 2;
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1)), "invalid_outcome");
        let mut r = request("0.42", "10");
        r.time_in_force = Some(TimeInForceWire::Gtd);
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1)), "missing_expires_at");
        r.expires_at = Some("2020-01-01T00:00:00Z".into());
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1_700_000_000_000_000)), "expires_at_in_past");
        let mut r = request("0.42", "10");
        r.order_type = Some(OrderTypeWire::Market);
        r.time_in_force = Some(TimeInForceWire::Gtc);
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1)), "invalid_time_in_force");
        let mut r = request("0.42", "10");
        r.post_only = Some(true);
        r.time_in_force = Some(TimeInForceWire::Ioc);
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1)), "invalid_post_only");
        let mut r = request("0.42", "10");
        r.client_order_id = Some("has space".into());
        assert_eq!(code(build(&r, &m, "u", &TRADING, 1)), "invalid_client_order_id");
        let mut suspended = market();
        suspended.status = MarketStatus::Suspended;
        assert_eq!(code(build(&request("0.42", "10"), &suspended, "u", &TRADING, 1)), "market_not_open");
        assert_eq!(check_trading(TradingState::CancelOnly).expect_err("cancel only").code(), "cancel_only");
    }
}
