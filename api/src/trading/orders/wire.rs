//! Orders, fills and positions as the API serves them: decimal strings for money, RFC 3339
//! for time, the same words as the requests.

use kairos_domain::{Fill, Order, format_micros, format_rfc3339_us};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderBody {
    #[schema(format = Uuid)]
    pub id: String,
    pub client_order_id: String,
    #[schema(format = Uuid)]
    pub market_id: String,
    pub outcome: u32,
    /// `buy` or `sell`.
    pub side: String,
    /// `limit` or `market`.
    #[serde(rename = "type")]
    pub order_type: String,
    /// `gtc`, `gtd`, `ioc` or `fok`.
    pub time_in_force: String,
    pub post_only: bool,
    pub stp: String,
    pub price: String,
    pub size: String,
    pub filled_size: String,
    pub remaining: String,
    /// Collateral (buys) or shares (sells) still held for the order.
    pub reserved: String,
    pub fees: String,
    /// `pending`, `open`, `partially_filled`, `filled`, `cancelled`, `expired` or `rejected`.
    pub status: String,
    /// Why it was rejected or cancelled: `post_only_would_cross`, `fok_unfillable`,
    /// `unfilled`, `self_trade_prevented`, `expired`, `cancelled`, `dead_man_switch`…
    pub reason: Option<String>,
    pub venue: String,
    /// The venue's own id for the order once it has one (on Polymarket, the CLOB order hash).
    pub venue_order_id: Option<String>,
    /// The order group (market-maker protection) it belongs to.
    #[schema(format = Uuid)]
    pub order_group_id: Option<String>,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Order> for OrderBody {
    fn from(o: &Order) -> Self {
        OrderBody {
            id: o.id.clone(),
            client_order_id: o.client_order_id.clone(),
            market_id: o.market_id.clone(),
            outcome: o.outcome,
            side: o.side.as_str().to_string(),
            order_type: o.order_type.as_str().to_string(),
            time_in_force: o.time_in_force.as_str().to_string(),
            post_only: o.post_only,
            stp: o.stp.as_str().to_string(),
            price: o.price.to_string(),
            size: o.size.to_string(),
            filled_size: o.filled.to_string(),
            remaining: o.remaining().to_string(),
            reserved: format_micros(o.reserved_micros),
            fees: o.fees.to_string(),
            status: o.status.as_str().to_string(),
            reason: o.reason.clone(),
            venue: o.venue.as_str().to_string(),
            venue_order_id: o.venue_order_id.clone(),
            order_group_id: o.order_group_id.clone(),
            expires_at: o.expires_at_us.map(format_rfc3339_us),
            created_at: format_rfc3339_us(o.created_at_us),
            updated_at: format_rfc3339_us(o.updated_at_us),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FillBody {
    #[schema(format = Uuid)]
    pub id: String,
    /// Both sides of one match share it.
    pub trade_id: String,
    #[schema(format = Uuid)]
    pub order_id: String,
    #[schema(format = Uuid)]
    pub market_id: String,
    pub outcome: u32,
    pub side: String,
    /// In the order's own outcome.
    pub price: String,
    pub size: String,
    pub fee: String,
    /// `maker` or `taker`.
    pub liquidity: String,
    /// `matched` (on the book, not yet settled), `confirmed` (final) or `failed`.
    pub finality: String,
    pub created_at: String,
}

impl From<&Fill> for FillBody {
    fn from(f: &Fill) -> Self {
        FillBody {
            id: f.id.clone(),
            trade_id: f.trade_id.clone(),
            order_id: f.order_id.clone(),
            market_id: f.market_id.clone(),
            outcome: f.outcome,
            side: f.side.as_str().to_string(),
            price: f.price.to_string(),
            size: f.size.to_string(),
            fee: f.fee.to_string(),
            liquidity: f.liquidity.as_str().to_string(),
            finality: f.finality.as_str().to_string(),
            created_at: format_rfc3339_us(f.created_at_us),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionBody {
    #[schema(format = Uuid)]
    pub market_id: String,
    pub outcome: u32,
    /// Shares held: settled plus pending.
    pub size: String,
    /// Shares from confirmed fills: final.
    pub settled_size: String,
    /// Shares from fills matched but not yet confirmed by the venue (always 0 on paper).
    pub pending_size: String,
    /// Of `size`, shares held for open sell orders.
    pub reserved: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub data: Vec<OrderBody>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FillPage {
    pub data: Vec<FillBody>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionsBody {
    pub positions: Vec<PositionBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledBody {
    /// The orders this request cancelled.
    pub cancelled: Vec<OrderBody>,
}
