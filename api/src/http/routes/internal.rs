//! `POST /internal/v1/paper`: a paper-venue request forwarded by another instance of the
//! deployment (see `kairos_venues::forwarding`), on the internal listener only. Signed with
//! the deployment's forwarding key, each signature accepted once; the answer is signed for the
//! request it answers. Run here and never forwarded again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use kairos_domain::ErrorCode;

use axum::response::{IntoResponse as _, Response};

use crate::http::error::ApiError;
use crate::state::AppState;
use kairos_venues::forwarding::{self, REPLY_SIGNATURE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use kairos_venues::paper::sequencer::Request;

/// Runs a paper-venue request forwarded by another API instance. Not for clients: it needs the
/// `kairos-instance-timestamp` and `kairos-instance-signature` headers only instances make.
pub async fn forwarded(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let now_ms = kairos_domain::now_us() / 1_000;
    let key = state.venues().forwarder.key();
    if !forwarding::verify(
        key,
        header(TIMESTAMP_HEADER),
        &body,
        header(SIGNATURE_HEADER),
        now_ms,
        state.settings().signature_window,
    ) {
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidInstanceSignature,
            "not a request from an instance of this deployment",
        ));
    }
    let signature = header(SIGNATURE_HEADER);
    let window = state.settings().signature_window;
    if !crate::access::signed_request::first_use(
        state.local_replay_guard(),
        state.redis(),
        &format!("instance:{signature}"),
        window * 2 + REPLAY_MARGIN,
    )
    .await
    {
        return Err(ApiError::unauthorized(ErrorCode::ReplayedInstanceSignature, "this request was already run"));
    }
    let request: Request = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(ErrorCode::InvalidJson, format!("not a venue request: {e}")))?;
    let result = state.venues().paper.call(request).await;
    let answer = serde_json::to_vec(&result).map_err(ApiError::internal)?;
    let reply_signature = forwarding::sign_reply(key, signature, &answer);
    let mut response = answer.into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    if let Ok(value) = axum::http::HeaderValue::from_str(&reply_signature) {
        headers.insert(REPLY_SIGNATURE_HEADER, value);
    }
    Ok(response)
}

/// Remembered past twice the freshness window, with a margin for clock steps.
const REPLAY_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The internal listener's app: this one route, the body limit, and the request id and error
/// envelope every Kairos answer carries.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(forwarding::PATH, axum::routing::post(forwarded))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(axum::extract::DefaultBodyLimit::max(state.settings().body_limit_bytes))
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::http::middleware::error_envelope))
        .layer(axum::middleware::from_fn(crate::http::middleware::request_id))
}
