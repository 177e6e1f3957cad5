//! Wallet sign-in, sessions and the server clock.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::sessions::{self, ChallengeBody, LoginRequest, TokenBody};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::Json;
use crate::http::middleware::RequestId;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChallengeRequest {
    /// Base58 Solana address (an ed25519 public key).
    #[schema(pattern = "^[1-9A-HJ-NP-Za-km-z]{32,44}$")]
    pub wallet: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A one-time message for the wallet to sign (valid 5 minutes, single use).
#[utoipa::path(post, path = "/v1/auth/challenge", tag = "auth", request_body = ChallengeRequest,
    responses((status = 200, body = ChallengeBody), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn challenge(
    State(state): State<AppState>,
    Json(req): Json<ChallengeRequest>,
) -> Result<axum::Json<ChallengeBody>, ApiError> {
    Ok(axum::Json(sessions::challenge(&state, &req.wallet).await?))
}

/// Signs in with the signed challenge; creates the user on first login.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenBody>, ApiError> {
    Ok(axum::Json(sessions::login(&state, &req, &request_id.0).await?))
}

/// Rotates the refresh token. Reusing a rotated token revokes the whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenBody>, ApiError> {
    Ok(axum::Json(sessions::refresh(&state, &req.refresh_token, &request_id.0).await?))
}

/// Revokes the session of this refresh token.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Signed out"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    sessions::logout(&state, &req.refresh_token, &request_id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimeBody {
    /// Server time, Unix milliseconds (what `KAIROS-TIMESTAMP` is checked against).
    pub epoch_ms: i64,
    /// The same, RFC 3339 UTC.
    pub iso: String,
}

/// The server clock, so clients can correct their skew before signing.
#[utoipa::path(get, path = "/v1/time", tag = "auth", responses((status = 200, body = TimeBody), (status = 429, body = ErrorBody)))]
pub async fn time() -> axum::Json<TimeBody> {
    let now = kairos_domain::now_us();
    axum::Json(TimeBody { epoch_ms: now / 1_000, iso: kairos_domain::format_rfc3339_us(now) })
}
