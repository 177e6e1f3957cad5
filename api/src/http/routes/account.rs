//! What a caller may do: its rate limits.

use axum::extract::State;
use kairos_platform::config::RateClass;
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassLimit {
    /// `read`, `trade`, `cancel` or `auth`.
    pub class: String,
    pub requests_per_second: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LimitsBody {
    /// `user` or `key`.
    pub principal_kind: String,
    pub role: String,
    pub limits: Vec<ClassLimit>,
    /// Whether the budget is shared by every API instance (Redis) or per instance.
    pub shared: bool,
}

/// The caller's rate limits per class.
#[utoipa::path(get, path = "/v1/account/limits", tag = "account",
    responses((status = 200, body = LimitsBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn limits(State(state): State<AppState>, Caller(caller): Caller) -> Result<axum::Json<LimitsBody>, ApiError> {
    let limits = state.limiter().limits();
    let kind = caller.kind();
    Ok(axum::Json(LimitsBody {
        principal_kind: kind.as_str().to_string(),
        role: caller.role().as_str().to_string(),
        limits: RateClass::ALL
            .iter()
            .map(|c| ClassLimit { class: c.as_str().to_string(), requests_per_second: limits.get(*c, kind) })
            .collect(),
        shared: state.redis().is_some(),
    }))
}
