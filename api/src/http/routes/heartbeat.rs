//! `POST /v1/heartbeat`: the dead-man's switch (see [`crate::trading::dead_man`]).

use axum::extract::State;
use kairos_domain::format_rfc3339_us;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// Cancel all my open orders if no heartbeat follows within this many milliseconds
    /// (1000 to 600000); 0 disarms.
    #[schema(minimum = 0, maximum = 600000)]
    pub timeout_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatBody {
    pub armed: bool,
    pub timeout_ms: u64,
    /// When the orders will be cancelled unless another heartbeat arrives.
    pub deadline: Option<String>,
}

/// Arms, renews or disarms the caller's dead-man's switch.
#[utoipa::path(post, operation_id = "heartbeat", path = "/v1/heartbeat", tag = "orders", request_body = HeartbeatRequest,
    responses((status = 200, body = HeartbeatBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Json(req): Json<HeartbeatRequest>,
) -> Result<axum::Json<HeartbeatBody>, ApiError> {
    let deadline = crate::trading::dead_man::heartbeat(&state, caller.user_id(), req.timeout_ms).await?;
    Ok(axum::Json(HeartbeatBody {
        armed: deadline.is_some(),
        timeout_ms: req.timeout_ms,
        deadline: deadline.map(format_rfc3339_us),
    }))
}
