//! `POST /internal/v1/paper`: a paper-venue request forwarded by another instance of the
//! deployment (see [`crate::venues::forwarding`]). Signed with the deployment's forwarding key;
//! run here and never forwarded again.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::venues::forwarding::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::venues::paper::sequencer::Request;

/// Runs a paper-venue request forwarded by another API instance. Not for clients: it needs the
/// `kairos-instance-timestamp` and `kairos-instance-signature` headers only instances make.
#[utoipa::path(post, operation_id = "forwarded_paper_request", path = "/internal/v1/paper", tag = "internal",
    request_body(content = String, description = "A paper-venue request, JSON", content_type = "application/json"),
    responses((status = 200, description = "The venue's answer, JSON"), (status = 400, body = ErrorBody),
        (status = 401, description = "Not signed by an instance of this deployment", body = ErrorBody)))]
pub async fn forwarded(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let now_ms = kairos_platform::domain::now_us() / 1_000;
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
            "invalid_instance_signature",
            "not a request from an instance of this deployment",
        ));
    }
    let request: Request = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("not a venue request: {e}")))?;
    let result = state.venues().paper.call(request).await;
    serde_json::to_value(result).map(axum::Json).map_err(ApiError::internal)
}
