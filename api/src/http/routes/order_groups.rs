//! Order groups: market-maker protection. A group's limits cap what its orders may fill within a
//! rolling interval; past one, the venue cancels the group's open orders in the same step as the
//! fill and freezes the group (409 `order_group_frozen` for new orders in it) until
//! `frozen_until` or a reset. Handlers parse and check, [`kairos_venues::Venues`] does the work.

use axum::extract::State;
use axum::http::StatusCode;
use kairos_domain::order_group::GroupLimits;
use kairos_domain::{Collateral, ErrorCode, OrderGroup, Size, format_rfc3339_us, new_id, now_us, parse_id};
use kairos_platform::storage::{Db, order_groups};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::http::routes::orders::venue_error;
use crate::state::AppState;
use crate::trading::orders::wire::OrderBody;

/// What a group tolerates within `interval_ms`; going past any limit trips it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupLimitsBody {
    /// The rolling interval, 1 to 3,600,000 ms.
    #[schema(minimum = 1, maximum = 3600000)]
    pub interval_ms: i64,
    /// Shares filled (buys and sells), a decimal string above 0, at most 1,000,000,000.
    #[schema(example = "100")]
    pub max_filled_size: String,
    /// Collateral traded (price × size), a decimal string above 0, at most 1,000,000,000.
    #[schema(example = "50")]
    pub max_filled_notional: String,
    /// Shares bought minus shares sold (each order in its own outcome), in absolute value.
    #[schema(example = "40")]
    pub max_delta: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderGroupRequest {
    pub limits: GroupLimitsBody,
    /// How long a tripped group stays frozen, 0 to 86,400,000 ms; 0 keeps it frozen until a
    /// reset.
    #[schema(minimum = 0, maximum = 86400000)]
    pub freeze_ms: i64,
}

/// The current window: the fills that count now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupWindowBody {
    pub fills: usize,
    pub filled_size: String,
    pub filled_notional: String,
    /// Shares bought minus sold.
    pub delta: String,
    /// Fills from this time on count (the interval's start, or the last trip or reset).
    pub since: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderGroupBody {
    #[schema(format = Uuid)]
    pub id: String,
    pub limits: GroupLimitsBody,
    pub freeze_ms: i64,
    /// `active` or `frozen`.
    pub state: String,
    /// While frozen: until when (absent when it waits for a reset).
    pub frozen_until: Option<String>,
    pub trips: i64,
    pub window: GroupWindowBody,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderGroupList {
    pub data: Vec<OrderGroupBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedOrderGroup {
    #[schema(format = Uuid)]
    pub id: String,
    /// The group's orders this cancelled (reason `order_group_deleted`).
    pub cancelled: Vec<OrderBody>,
}

fn decimal(field: &'static str, text: &str) -> Result<i64, ApiError> {
    kairos_domain::parse_micros(text)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidAmount, format!("{field}: {e}")))
}

/// The limits a request asks for, checked against [`GroupLimits::validate`].
pub fn parse_limits(req: &CreateOrderGroupRequest) -> Result<GroupLimits, ApiError> {
    let l = &req.limits;
    let limits = GroupLimits {
        interval_ms: l.interval_ms,
        max_filled_size: Size::from_micros(decimal("limits.max_filled_size", &l.max_filled_size)?),
        max_filled_notional: Collateral::from_micros(decimal("limits.max_filled_notional", &l.max_filled_notional)?),
        max_delta: l.max_delta.as_deref().map(|d| decimal("limits.max_delta", d)).transpose()?.map(Size::from_micros),
    };
    limits
        .validate(req.freeze_ms)
        .map_err(|e| ApiError::Unprocessable { code: ErrorCode::InvalidRequest, message: e.to_string() })?;
    Ok(limits)
}

/// A group as served, with its window read now.
pub fn body(group: &OrderGroup, window: &kairos_domain::order_group::GroupWindow, now: i64) -> OrderGroupBody {
    let state = group.state(now);
    OrderGroupBody {
        id: group.id.clone(),
        limits: GroupLimitsBody {
            interval_ms: group.limits.interval_ms,
            max_filled_size: group.limits.max_filled_size.to_string(),
            max_filled_notional: group.limits.max_filled_notional.to_string(),
            max_delta: group.limits.max_delta.map(|d| d.to_string()),
        },
        freeze_ms: group.freeze_ms,
        state: state.as_str().to_string(),
        frozen_until: match (state, group.frozen_until_us) {
            (kairos_domain::GroupState::Frozen, Some(t)) if t != i64::MAX => Some(format_rfc3339_us(t)),
            _ => None,
        },
        trips: group.trips,
        window: GroupWindowBody {
            fills: window.fills(),
            filled_size: window.filled_size().to_string(),
            filled_notional: window.filled_notional().to_string(),
            delta: kairos_domain::format_micros(window.delta()),
            since: format_rfc3339_us(group.counts_from(now)),
        },
        created_at: format_rfc3339_us(group.created_at_us),
        updated_at: format_rfc3339_us(group.updated_at_us),
    }
}

fn group_id(text: &str) -> Result<String, ApiError> {
    parse_id(text).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "order group id must be a UUID"))
}

/// The caller's group with its current window, or 404; a deleted one only when `deleted` may
/// be (a DELETE is retried until every venue has cancelled its orders).
async fn own_group(db: &Db, user_id: &str, id: &str, deleted: bool) -> Result<OrderGroupBody, ApiError> {
    let id = group_id(id)?;
    let now = now_us();
    let mut conn = db.pool().acquire().await.map_err(kairos_platform::storage::StorageError::from)?;
    match order_groups::load_in(&mut conn, &[id], now).await?.pop() {
        Some((g, w)) if g.user_id == user_id && (deleted || g.deleted_at_us.is_none()) => Ok(body(&g, &w, now)),
        _ => Err(ApiError::NotFound { message: "no such order group".to_string() }),
    }
}

/// Creates an order group; orders join it with `order_group_id`.
#[utoipa::path(post, operation_id = "create_order_group", path = "/v1/order-groups", tag = "order-groups",
    request_body = CreateOrderGroupRequest,
    responses((status = 201, body = OrderGroupBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = "A limit out of bounds", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(req): Json<CreateOrderGroupRequest>,
) -> Result<(StatusCode, axum::Json<OrderGroupBody>), ApiError> {
    let limits = parse_limits(&req)?;
    let now = now_us();
    let group = OrderGroup::new(&new_id(), caller.user_id(), &caller.actor(), limits, req.freeze_ms, now);
    order_groups::insert(state.db(), &group).await?;
    Ok((StatusCode::CREATED, axum::Json(body(&group, &Default::default(), now))))
}

/// The caller's order groups (not deleted), oldest first.
#[utoipa::path(get, operation_id = "list_order_groups", path = "/v1/order-groups", tag = "order-groups",
    responses((status = 200, body = OrderGroupList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<axum::Json<OrderGroupList>, ApiError> {
    let groups = order_groups::of_user(state.db(), caller.user_id()).await?;
    let now = now_us();
    let mut conn = state.db().pool().acquire().await.map_err(kairos_platform::storage::StorageError::from)?;
    let data =
        order_groups::with_windows_in(&mut conn, groups, now).await?.iter().map(|(g, w)| body(g, w, now)).collect();
    Ok(axum::Json(OrderGroupList { data }))
}

/// One of the caller's order groups: limits, the current window's counters, state.
#[utoipa::path(get, operation_id = "get_order_group", path = "/v1/order-groups/{id}", tag = "order-groups",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderGroupBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderGroupBody>, ApiError> {
    Ok(axum::Json(own_group(state.db(), caller.user_id(), &id, false).await?))
}

/// Makes a group active again with an empty window (whether it was frozen or not).
#[utoipa::path(post, operation_id = "reset_order_group", path = "/v1/order-groups/{id}/reset", tag = "order-groups",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderGroupBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderGroupBody>, ApiError> {
    let id = group_id(&id)?;
    let group = state.venues().reset_group(caller.user_id(), &id).await.map_err(venue_error)?;
    Ok(axum::Json(body(&group, &Default::default(), now_us())))
}

/// Deletes a group and cancels its open orders on every venue. Idempotent: repeat it when a
/// venue failed (503), until it answers 200.
#[utoipa::path(delete, operation_id = "delete_order_group", path = "/v1/order-groups/{id}", tag = "order-groups",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = DeletedOrderGroup), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<DeletedOrderGroup>, ApiError> {
    // A group that is not the caller's is a 404 before anything runs. Deleting a deleted group
    // again cancels what is left of it (after a venue failed the first time) and answers 200.
    let id = own_group(state.db(), caller.user_id(), &id, true).await?.id;
    let cancelled = state.venues().delete_group(state.db(), caller.user_id(), &id).await.map_err(venue_error)?;
    Ok(axum::Json(DeletedOrderGroup { id, cancelled: cancelled.iter().map(OrderBody::from).collect() }))
}
