//! `GET /v1/ws`: books, trades, and the caller's orders and fills (the protocol is in
//! [`crate::http::streams::protocol`]). It authenticates itself: a connection without a valid token
//! (header, or `?token=` since browsers cannot set headers) or signed key is closed with code
//! 4401 and a reason, and a token's connection is closed with 4401 when the token expires.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::Response;
use kairos_domain::ErrorCode;
use serde::Deserialize;

use crate::access::{AuthFailure, Principal, authenticate_token};
use crate::http::streams::limits;
use crate::http::streams::session::CLOSE_UNAUTHORIZED;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Access token, for clients that cannot set the Authorization header.
    pub token: Option<String>,
}

/// Upgrades to a websocket (authenticated; see the description of close code 4401).
#[utoipa::path(get, path = "/v1/ws", tag = "streams", params(WsQuery),
    responses((status = 101, description = "Switching protocols. Closes with 4401 when unauthenticated, when the token expires, or when the credentials are revoked or the role changes (checked every 2 s and at once on this instance); 4408 when the client cannot keep up; 1009 for a message over 64 KiB. Each message spends the caller's read budget; the orders and fills channels need the read scope"),
        (status = 400, description = "Not a websocket upgrade", body = crate::http::error::ErrorBody),
        (status = 429, description = "Already 8 connections open for this user or key", body = crate::http::error::ErrorBody)))]
pub async fn ws(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    principal: Option<axum::Extension<Principal>>,
    failure: Option<axum::Extension<AuthFailure>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, crate::http::error::ApiError> {
    let upgrade = upgrade.map_err(|_| {
        crate::http::error::ApiError::bad_request(ErrorCode::NotAWebsocket, "this route needs a websocket upgrade")
    })?;
    let auth: Result<Principal, ErrorCode> = match (principal, q.token) {
        (Some(axum::Extension(p)), _) => Ok(p),
        (None, Some(token)) => authenticate_token(&state, &token).await.map_err(|e| e.code()),
        (None, None) => Err(failure.map_or(ErrorCode::MissingCredentials, |f| f.0.0)),
    };
    let slot = match &auth {
        Ok(p) => Some(
            state
                .ws_connections()
                .open(&p.rate_key())
                .ok_or_else(|| crate::http::error::ApiError::RateLimited { retry_after_secs: 1 })?,
        ),
        Err(_) => None,
    };
    let upgrade = upgrade.max_message_size(limits::MAX_MESSAGE_BYTES).max_frame_size(limits::MAX_MESSAGE_BYTES);
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        match auth {
            Ok(principal) => {
                crate::http::streams::session::run(socket, state, principal).await;
                drop(slot);
            }
            Err(code) => crate::http::streams::session::close(&mut socket, CLOSE_UNAUTHORIZED, code).await,
        }
    }))
}
