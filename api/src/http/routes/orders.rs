//! The order API: place (one or a batch), amend, cancel (one, some, all), read orders, fills
//! and positions. Handlers parse, call [`crate::trading::orders`] for the checks and
//! [`kairos_venues::Venues`] for the work, and shape the answer.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use kairos_domain::ErrorCode;
use kairos_domain::order::parse_share_asset;
use kairos_domain::{Market, Order, OrderStatus, Refusal, format_micros, now_us, parse_id};
use kairos_platform::storage::{ledger, orders};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody, ErrorDetail};
use crate::http::extract::{Json, Path, Query};
use crate::http::routes::paging::{id_cursor, id_filter, page_limit};
use crate::state::AppState;
use crate::trading::orders::placement::{self, PlaceOrderRequest};
use crate::trading::orders::wire::{
    CancelledBody, FillBody, FillPage, OrderBody, OrderPage, PositionBody, PositionsBody,
};
use kairos_venues::VenueError;

use crate::http::error::refusal_status;

/// Header on a response that repeats an order already placed with the same client order id.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

pub fn venue_error(e: VenueError) -> ApiError {
    match e {
        VenueError::Refused(r) => {
            let (code, message) = (r.code(), r.to_string());
            match refusal_status(&r) {
                404 => ApiError::NotFound { message },
                429 => ApiError::RateLimited { retry_after_secs: 1 },
                409 => ApiError::Conflict { code, message },
                503 => ApiError::Unavailable { code, message },
                _ => ApiError::Unprocessable { code, message },
            }
        }
        VenueError::Unavailable(detail) => ApiError::VenueUnavailable(detail),
        VenueError::Disabled(message) => ApiError::Conflict { code: ErrorCode::VenueDisabled, message },
    }
}

/// A venue's answer to a request about an order the caller was just shown to own and to be
/// live: the venue not knowing it any more means it was filled or cancelled in between (the
/// paper engine holds live orders only), which is 409 `order_not_live`, never 404.
fn own_live_order_error(e: VenueError) -> ApiError {
    match e {
        VenueError::Refused(Refusal::NotFound) => ApiError::conflict(
            ErrorCode::OrderNotLive,
            "the order stopped being live (filled or cancelled) before this request reached it",
        ),
        other => venue_error(other),
    }
}

fn order_id(text: &str) -> Result<String, ApiError> {
    parse_id(text).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "order id must be a UUID"))
}

async fn market_of(state: &AppState, market_id: &str) -> Result<Market, ApiError> {
    let id = parse_id(market_id)
        .ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidMarketId, "market_id must be a UUID"))?;
    state
        .catalog()
        .market(state.db(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no market {id}")))
}

/// The caller's order, or 404 (another user's order is not found either).
async fn own_order(state: &AppState, user_id: &str, id: &str) -> Result<Order, ApiError> {
    let id = order_id(id)?;
    match orders::get(state.db(), &id).await? {
        Some(o) if o.user_id == user_id => Ok(o),
        _ => Err(ApiError::not_found("no such order")),
    }
}

/// Places one order; returns it and whether it is a replay of an earlier request.
pub async fn place_one(state: &AppState, user_id: &str, req: &PlaceOrderRequest) -> Result<(Order, bool), ApiError> {
    placement::check_trading(state.runtime().latest().trading)?;
    let market = market_of(state, &req.market_id).await?;
    let order = placement::build(req, &market, user_id, &state.settings().trading, now_us())?;
    let placed = state.venues().submit(market.venue, order.clone()).await.map_err(venue_error)?;
    let replay = placed.id != order.id;
    Ok((placed, replay))
}

pub type Placed = (StatusCode, HeaderMap, axum::Json<OrderBody>);

pub fn placed_response(order: &Order, replay: bool) -> Placed {
    let mut headers = HeaderMap::new();
    if replay {
        headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    let status = if replay { StatusCode::OK } else { StatusCode::CREATED };
    (status, headers, axum::Json(OrderBody::from(order)))
}

/// Places an order. Book rejections (post-only crossing, unfillable FOK) are recorded orders
/// with status `rejected` and a reason; refusals before the book (balance, limits, market)
/// are errors and record nothing.
#[utoipa::path(post, operation_id = "place_order", path = "/v1/orders", tag = "orders", request_body = PlaceOrderRequest,
    responses(
        (status = 201, description = "Accepted: the order as the venue left it", body = OrderBody),
        (status = 200, description = "A replay of an order placed with the same client_order_id (header Idempotent-Replayed: true)", body = OrderBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such market, or no such order group of the caller's", body = ErrorBody),
        (status = 409, description = "client_order_id reused with other parameters; venue disabled; order_group_frozen", body = ErrorBody),
        (status = 422, description = "A market or risk rule refuses it", body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, description = "Trading disabled or cancel-only; venue unavailable; `venue_heartbeat_lost`: the Polymarket CLOB heartbeat is not confirmed", body = ErrorBody)))]
pub async fn place(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(req): Json<PlaceOrderRequest>,
) -> Result<Placed, ApiError> {
    let (order, replay) = place_one(&state, caller.user_id(), &req).await?;
    Ok(placed_response(&order, replay))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceBatchRequest {
    /// 1 to 50 orders, placed independently.
    pub orders: Vec<PlaceOrderRequest>,
}

/// One leg's answer: the status its own request would have had, and the order or the error
/// (the other key is absent).
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct BatchLeg {
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct BatchBody {
    /// In the order of the request.
    pub results: Vec<BatchLeg>,
}

pub const MAX_BATCH: usize = 50;

/// A leg's answer from the order and the status it succeeded with, or the error.
fn leg(result: Result<(Order, u16), ApiError>, request_id: &str) -> BatchLeg {
    match result {
        Ok((order, status)) => BatchLeg { status, order: Some(OrderBody::from(&order)), error: None },
        Err(e) => {
            // A leg's error never passes the envelope middleware: its cause is logged here.
            if let Some(cause) = e.internal_cause() {
                tracing::error!(request_id, error = %cause, "a batch leg failed");
            }
            BatchLeg {
                status: e.status().as_u16(),
                order: None,
                error: Some(ErrorDetail {
                    code: e.code(),
                    message: e.public_message(),
                    request_id: request_id.to_string(),
                }),
            }
        }
    }
}

/// Places up to 50 orders at once; each leg succeeds or fails on its own.
#[utoipa::path(post, operation_id = "place_orders", path = "/v1/orders/batch", tag = "orders", request_body = PlaceBatchRequest,
    responses((status = 200, description = "A result per leg", body = BatchBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn place_batch(
    State(state): State<AppState>,
    Caller(caller): Caller,
    axum::Extension(request_id): axum::Extension<crate::http::middleware::RequestId>,
    Json(req): Json<PlaceBatchRequest>,
) -> Result<axum::Json<BatchBody>, ApiError> {
    if req.orders.is_empty() || req.orders.len() > MAX_BATCH {
        return Err(ApiError::bad_request(ErrorCode::InvalidBatch, format!("a batch holds 1 to {MAX_BATCH} orders")));
    }
    // What breaks the schema refuses the whole request, as it would a single order's; the
    // legs answer only for the rules of their market.
    if let Some(i) = req.orders.iter().position(|o| o.outcome > placement::MAX_OUTCOME) {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidBatch,
            format!("orders[{i}].outcome is above {}", placement::MAX_OUTCOME),
        ));
    }
    let user = caller.user_id();
    // A batch spends one trade request per order: the access layer took the first; each
    // further leg takes its own, and a leg past the budget is refused (429) and not placed.
    let mut allowed = vec![true];
    for _ in 1..req.orders.len() {
        allowed.push(crate::access::spend(&state, &caller, kairos_platform::config::RateClass::Trade).await.allowed);
    }
    let state = &state;
    let results = futures_util::future::join_all(req.orders.iter().zip(&allowed).map(|(o, ok)| async move {
        if *ok { place_one(state, user, o).await } else { Err(ApiError::RateLimited { retry_after_secs: 1 }) }
    }))
    .await;
    let legs =
        results.into_iter().map(|r| leg(r.map(|(o, replay)| (o, if replay { 200 } else { 201 })), &request_id.0));
    Ok(axum::Json(BatchBody { results: legs.collect() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendOrderRequest {
    /// New limit price (loses queue priority).
    pub price: Option<String>,
    /// New total size, above what has filled (a decrease alone keeps queue priority).
    pub size: Option<String>,
}

/// Amends price and/or size of an open order.
#[utoipa::path(patch, operation_id = "amend_order", path = "/v1/orders/{id}", tag = "orders", request_body = AmendOrderRequest,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn amend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Json(req): Json<AmendOrderRequest>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    if req.price.is_none() && req.size.is_none() {
        return Err(ApiError::bad_request(ErrorCode::EmptyAmend, "give a new price, a new size, or both"));
    }
    let order = own_order(&state, caller.user_id(), &id).await?;
    if !order.status.is_live() {
        return Err(ApiError::conflict(ErrorCode::OrderNotLive, format!("the order is {}", order.status)));
    }
    let market = market_of(&state, &order.market_id).await?;
    let price = req.price.as_deref().map(|p| placement::parse_price(p, &market)).transpose()?;
    let size = req.size.as_deref().map(|s| placement::parse_size(s, &market)).transpose()?;
    // Only lowering the size takes risk away; everything else meets the kill switch.
    let reduces_only = price.is_none_or(|p| p == order.price) && size.is_some_and(|s| s < order.size);
    if !reduces_only {
        placement::check_trading(state.runtime().latest().trading)?;
        kairos_domain::risk::check_market(market.status)
            .map_err(|r| ApiError::Unprocessable { code: r.code(), message: r.to_string() })?;
    }
    placement::check_notional(price.unwrap_or(order.price), size.unwrap_or(order.size), &state.settings().trading)?;
    let amended = state.venues().amend(&order, price, size).await.map_err(own_live_order_error)?;
    Ok(axum::Json(OrderBody::from(&amended)))
}

/// Cancels one order of the caller's; never refused by the kill switch.
pub async fn cancel_one(state: &AppState, user_id: &str, id: &str) -> Result<Order, ApiError> {
    let order = own_order(state, user_id, id).await?;
    if !order.status.is_live() {
        return Err(ApiError::conflict(ErrorCode::OrderNotLive, format!("the order is already {}", order.status)));
    }
    state.venues().cancel(&order).await.map_err(own_live_order_error)
}

/// Cancels an order.
#[utoipa::path(delete, operation_id = "cancel_order", path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Already filled, cancelled, expired or rejected", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    Ok(axum::Json(OrderBody::from(&cancel_one(&state, caller.user_id(), &id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelManyRequest {
    /// 1 to 100 order ids.
    pub ids: Vec<String>,
}

/// One id's answer: the id as sent, and the leg's status and order or error.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct CancelLeg {
    pub id: String,
    #[serde(flatten)]
    pub leg: BatchLeg,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct CancelManyBody {
    pub results: Vec<CancelLeg>,
}

/// Cancels orders by id; each succeeds or fails on its own.
#[utoipa::path(post, operation_id = "cancel_orders", path = "/v1/orders/cancel", tag = "orders", request_body = CancelManyRequest,
    responses((status = 200, body = CancelManyBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn cancel_many(
    State(state): State<AppState>,
    Caller(caller): Caller,
    axum::Extension(request_id): axum::Extension<crate::http::middleware::RequestId>,
    Json(req): Json<CancelManyRequest>,
) -> Result<axum::Json<CancelManyBody>, ApiError> {
    if req.ids.is_empty() || req.ids.len() > 100 {
        return Err(ApiError::bad_request(ErrorCode::InvalidIds, "give 1 to 100 order ids"));
    }
    let user = caller.user_id();
    let results = futures_util::future::join_all(req.ids.iter().map(|id| cancel_one(&state, user, id))).await;
    let results = req
        .ids
        .iter()
        .zip(results)
        .map(|(id, r)| CancelLeg { id: id.clone(), leg: leg(r.map(|o| (o, 200)), &request_id.0) })
        .collect();
    Ok(axum::Json(CancelManyBody { results }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CancelAllQuery {
    /// Only this market's orders.
    #[param(format = Uuid)]
    pub market_id: Option<String>,
}

/// Cancels every open order of the caller's, on every venue (optionally in one market).
#[utoipa::path(delete, operation_id = "cancel_all_orders", path = "/v1/orders", tag = "orders", params(CancelAllQuery),
    responses((status = 200, body = CancelledBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "No such market", body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn cancel_all(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<CancelAllQuery>,
) -> Result<axum::Json<CancelledBody>, ApiError> {
    let market = id_filter("market_id", q.market_id.as_deref())?;
    if let Some(id) = &market {
        // Naming a market that does not exist is a 404, as everywhere a request names one.
        market_of(&state, id).await?;
    }
    let cancelled =
        state.venues().cancel_everywhere(state.db(), caller.user_id(), market.as_deref()).await.map_err(venue_error)?;
    Ok(axum::Json(CancelledBody { cancelled: cancelled.iter().map(OrderBody::from).collect() }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    #[param(format = Uuid)]
    pub market_id: Option<String>,
    /// One status: pending, open, partially_filled, filled, cancelled, expired, rejected.
    pub status: Option<String>,
    /// Only orders that may still trade.
    pub open: Option<bool>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's orders, newest first.
pub async fn list_page(state: &AppState, user_id: &str, q: &ListOrdersQuery) -> Result<OrderPage, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = id_cursor(q.cursor.as_deref())?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            s.parse::<OrderStatus>().map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, format!("status: {e}")))
        })
        .transpose()?;
    let market_id = id_filter("market_id", q.market_id.as_deref())?;
    let filter = orders::OrderFilter { market_id, status, live_only: q.open.unwrap_or(false) };
    let mut rows = orders::list(state.db(), user_id, &filter, before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|o| o.id.clone()) } else { None };
    Ok(OrderPage { data: rows.iter().map(OrderBody::from).collect(), next_cursor })
}

/// The caller's orders, newest first.
#[utoipa::path(get, operation_id = "list_orders", path = "/v1/orders", tag = "orders", params(ListOrdersQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<ListOrdersQuery>,
) -> Result<axum::Json<OrderPage>, ApiError> {
    Ok(axum::Json(list_page(&state, caller.user_id(), &q).await?))
}

/// One of the caller's orders.
#[utoipa::path(get, operation_id = "get_order", path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    Ok(axum::Json(OrderBody::from(&own_order(&state, caller.user_id(), &id).await?)))
}

/// One of the caller's orders, by the client order id it was placed with.
#[utoipa::path(get, operation_id = "get_order_by_client_id", path = "/v1/orders/by-client-id/{client_order_id}", tag = "orders",
    params(("client_order_id" = String, Path)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get_by_client_id(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(client_order_id): Path<String>,
) -> Result<axum::Json<OrderBody>, ApiError> {
    if !placement::valid_client_order_id(&client_order_id) {
        return Err(ApiError::bad_request(ErrorCode::InvalidClientOrderId, "not a valid client_order_id"));
    }
    let order = orders::by_client_id(state.db(), caller.user_id(), &client_order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no order with this client_order_id"))?;
    Ok(axum::Json(OrderBody::from(&order)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FillsQuery {
    #[param(format = Uuid)]
    pub market_id: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The caller's fills, newest first.
#[utoipa::path(get, operation_id = "list_fills", path = "/v1/fills", tag = "orders", params(FillsQuery),
    responses((status = 200, body = FillPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn fills(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<FillsQuery>,
) -> Result<axum::Json<FillPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = id_cursor(q.cursor.as_deref())?;
    let market_id = id_filter("market_id", q.market_id.as_deref())?;
    let mut rows =
        orders::fills(state.db(), caller.user_id(), market_id.as_deref(), before.as_deref(), limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|f| f.id.clone()) } else { None };
    Ok(axum::Json(FillPage { data: rows.iter().map(FillBody::from).collect(), next_cursor }))
}

/// The caller's positions: share balances per market outcome, from the ledger.
pub async fn positions_of(state: &AppState, user_id: &str) -> Result<PositionsBody, ApiError> {
    let rows = ledger::user_balances(state.db(), user_id).await?;
    let (available, reserved, pending) =
        (ledger::available(user_id), ledger::reserved(user_id), ledger::pending(user_id));
    // (available, reserved, pending) shares per outcome.
    let mut by_outcome: std::collections::BTreeMap<(String, u32), (i64, i64, i64)> = Default::default();
    for (account, asset, balance) in &rows {
        let Some((market, outcome)) = parse_share_asset(asset) else { continue };
        let entry = by_outcome.entry((market.to_string(), outcome)).or_default();
        if *account == available {
            entry.0 += balance;
        } else if *account == reserved {
            entry.1 += balance;
        } else if *account == pending {
            entry.2 += balance;
        }
    }
    let data = by_outcome
        .into_iter()
        .filter(|(_, (a, r, p))| a + r + p != 0)
        .map(|((market_id, outcome), (a, r, p))| PositionBody {
            market_id,
            outcome,
            size: format_micros(a + r + p),
            settled_size: format_micros(a + r),
            pending_size: format_micros(p),
            reserved: format_micros(r),
        })
        .collect();
    Ok(PositionsBody { positions: data })
}

/// The caller's positions. Paper positions settle when an operator resolves the market.
/// Polymarket positions are shares the omnibus account holds on the CLOB for the user; Kairos
/// does not yet redeem a resolved Polymarket market on-chain or pay it out: those positions
/// stay here, unsettled, until an operator settles them (see the README, "Polymarket").
#[utoipa::path(get, operation_id = "list_positions", path = "/v1/positions", tag = "orders",
    responses((status = 200, body = PositionsBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn positions(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<axum::Json<PositionsBody>, ApiError> {
    Ok(axum::Json(positions_of(&state, caller.user_id()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_venue_failure_tells_the_client_the_code_and_not_the_cause() {
        let cause = "storage: error returned from database: relation \"ledger_entries\" (user:0191-other:available) at http://10.0.0.7:8080/internal/v1/paper";
        let e = venue_error(VenueError::Unavailable(cause.into()));
        assert_eq!((e.status().as_u16(), e.code().as_str()), (503, "venue_unavailable"));
        let public = e.public_message();
        for secret in ["storage", "ledger_entries", "user:", "10.0.0.7", "internal/v1"] {
            assert!(!public.contains(secret), "{public}");
        }
        assert_eq!(e.internal_cause().as_deref(), Some(cause), "kept for the log");
    }

    /// Found by the soak: a cancel racing the fill of its order answered 404 for an order the
    /// caller can still read.
    #[test]
    fn an_own_order_the_venue_no_longer_holds_is_no_longer_live() {
        let e = own_live_order_error(VenueError::Refused(Refusal::NotFound));
        assert_eq!((e.status().as_u16(), e.code().as_str()), (409, "order_not_live"));
        let other = own_live_order_error(VenueError::Refused(Refusal::MarketResolved));
        assert_eq!(other.status(), venue_error(VenueError::Refused(Refusal::MarketResolved)).status());
    }
}
