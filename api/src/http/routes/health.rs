//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::readiness::{ReadyReport, ReadyStatus};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// Always `ok` while the process answers.
    pub status: String,
}

/// Alive: the process answers. Says nothing about dependencies (see `/ready`).
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthBody)))]
pub async fn health() -> Json<HealthBody> {
    Json(HealthBody { status: "ok".to_string() })
}

/// Ready: whether this instance can serve, with each dependency's state. 200 while serving
/// (`ready`, or `degraded` on in-process fallbacks), 503 when a required store is down.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "Serving (ready or degraded)", body = ReadyReport),
        (status = 503, description = "Not serving: a required dependency is down", body = ReadyReport),
    ))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<ReadyReport>) {
    let report = state.readiness().latest();
    let status = match report.status {
        ReadyStatus::Ready | ReadyStatus::Degraded => StatusCode::OK,
        ReadyStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json((*report).clone()))
}
