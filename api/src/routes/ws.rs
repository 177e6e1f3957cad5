//! `GET /v1/ws`: the websocket that streams private data. It authenticates itself: a connection
//! without a valid token (header, or `?token=` since browsers cannot set headers) or signed key
//! is closed with code 4401 and a reason, and a token's connection is closed with 4401 when the
//! token expires. No channel is served yet (books, trades and private orders come with the
//! orders work): subscribing answers an error naming that.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use crate::access::{AuthFailure, Principal, authenticate_token};
use crate::state::AppState;

pub const CLOSE_UNAUTHORIZED: u16 = 4401;
const PING_EVERY: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// Access token, for clients that cannot set the Authorization header.
    pub token: Option<String>,
}

/// Upgrades to a websocket (authenticated; see the description of close code 4401).
#[utoipa::path(get, path = "/v1/ws", tag = "streams", params(WsQuery),
    responses((status = 101, description = "Switching protocols; closes with 4401 when unauthenticated or when the token expires"),
        (status = 400, description = "Not a websocket upgrade", body = crate::error::ErrorBody)))]
pub async fn ws(
    State(state): State<AppState>,
    Query(q): Query<WsQuery>,
    principal: Option<axum::Extension<Principal>>,
    failure: Option<axum::Extension<AuthFailure>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, crate::error::ApiError> {
    let upgrade = upgrade
        .map_err(|_| crate::error::ApiError::bad_request("not_a_websocket", "this route needs a websocket upgrade"))?;
    let auth: Result<Principal, &'static str> = match (principal, q.token) {
        (Some(axum::Extension(p)), _) => Ok(p),
        (None, Some(token)) => authenticate_token(&state, &token).await.map_err(|e| e.code()),
        (None, None) => Err(failure.map_or("missing_credentials", |f| f.0.0)),
    };
    Ok(upgrade.on_upgrade(move |socket| session(socket, auth)))
}

async fn close(mut socket: WebSocket, reason: &'static str) {
    let frame = CloseFrame { code: CLOSE_UNAUTHORIZED, reason: reason.into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn session(mut socket: WebSocket, auth: Result<Principal, &'static str>) {
    let principal = match auth {
        Ok(p) => p,
        Err(code) => return close(socket, code).await,
    };
    let expires_in = match &principal {
        Principal::User { expires_at_s, .. } => {
            let now_s = kairos_platform::domain::now_us() / 1_000_000;
            Some(Duration::from_secs(u64::try_from(expires_at_s - now_s).unwrap_or(0)))
        }
        Principal::Key { .. } => None,
    };
    let expiry = async {
        match expires_in {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            () = &mut expiry => return close(socket, "token_expired").await,
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { return; }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(_))) => {
                    let reply = r#"{"type":"error","code":"no_channels","message":"no channels are served yet"}"#;
                    if socket.send(Message::Text(reply.into())).await.is_err() { return; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}
