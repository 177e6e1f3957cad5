//! The old platform's order routes, kept as thin aliases of the `/v1` routes so the existing
//! frontend keeps working while it moves. Every answer carries `Deprecation: true` and a
//! `Link` to its successor; the OpenAPI document marks them deprecated.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query};
use crate::http::routes::orders::{ListOrdersQuery, cancel_one, list_page, place_one, placed_response};
use crate::state::AppState;
use crate::trading::orders::placement::PlaceOrderRequest;
use crate::trading::orders::wire::{OrderBody, OrderPage};

fn deprecated(response: impl IntoResponse, successor: &'static str) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static("deprecation"), HeaderValue::from_static("true"));
    headers.insert(
        axum::http::header::LINK,
        HeaderValue::from_str(&format!("<{successor}>; rel=\"successor-version\""))
            .unwrap_or(HeaderValue::from_static("")),
    );
    response
}

/// Deprecated: use `POST /v1/orders`.
#[utoipa::path(post, operation_id = "legacy_submit_order", path = "/api/orders/submit", tag = "legacy", request_body = PlaceOrderRequest,
    responses((status = 201, body = OrderBody), (status = 200, body = OrderBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[deprecated = "use POST /v1/orders"]
pub async fn submit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(req): Json<PlaceOrderRequest>,
) -> Response {
    let result = place_one(&state, caller.user_id(), &req).await.map(|(o, replay)| placed_response(&o, replay));
    deprecated(result, "/v1/orders")
}

/// Deprecated: use `GET /v1/orders/{id}`.
#[utoipa::path(get, operation_id = "legacy_order_status", path = "/api/orders/{id}/status", tag = "legacy", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[deprecated = "use GET /v1/orders/{id}"]
pub async fn status(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let result = crate::http::routes::orders::get(State(state), caller, Path(id)).await;
    deprecated(result, "/v1/orders/{id}")
}

/// Deprecated: use `DELETE /v1/orders/{id}`.
#[utoipa::path(post, operation_id = "legacy_cancel_order", path = "/api/orders/{id}/cancel", tag = "legacy", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[deprecated = "use DELETE /v1/orders/{id}"]
pub async fn cancel(State(state): State<AppState>, Caller(caller): Caller, Path(id): Path<String>) -> Response {
    let result: Result<axum::Json<OrderBody>, ApiError> =
        cancel_one(&state, caller.user_id(), &id).await.map(|o| axum::Json(OrderBody::from(&o)));
    deprecated(result, "/v1/orders/{id}")
}

/// Deprecated: use `GET /v1/orders`.
#[utoipa::path(get, operation_id = "legacy_list_orders", path = "/api/orders", tag = "legacy", params(ListOrdersQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[deprecated = "use GET /v1/orders"]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller, Query(q): Query<ListOrdersQuery>) -> Response {
    let result = list_page(&state, caller.user_id(), &q).await.map(axum::Json);
    deprecated(result, "/v1/orders")
}
