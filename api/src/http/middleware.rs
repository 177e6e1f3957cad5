//! Cross-cutting request handling: request ids, the JSON error envelope, request metrics.
//! Order (outermost first) is set in [`crate::http::server::app`].

use kairos_domain::ErrorCode;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::error::{self, ErrorPayload};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id, in the request extensions for handlers and spans.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Keeps a well-formed incoming `x-request-id` (so a trace spans services) or makes a UUIDv7,
/// and echoes it on the response. Ids that are long or carry odd characters are replaced, so
/// nothing a client sends can forge log lines.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let incoming = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable_request_id(v))
        .map(str::to_string);
    let id = incoming.unwrap_or_else(new_request_id);
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    req.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
    req.extensions_mut().insert(RequestId(id));
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, value);
    response
}

/// A UUIDv7 whose random part comes from the thread's generator (seeded from the OS once),
/// not from a `getrandom` call per request as `Uuid::now_v7` makes. Request ids need no order
/// within a millisecond, unlike the ids of stored rows (`kairos_domain::new_id`).
fn new_request_id() -> String {
    let ms = u64::try_from(kairos_domain::now_us() / 1_000).unwrap_or(0);
    let mut random = [0u8; 10];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
    uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid().to_string()
}

pub fn is_acceptable_request_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Gives every error response the JSON envelope with the request id, whoever produced it:
/// a handler's [`crate::http::error::ApiError`], or a layer (timeout, body limit, 405, 404) that
/// answers with a bare status. Logs internal causes here, once.
pub async fn error_envelope(req: Request, next: Next) -> Response {
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let (code, message) = match parts.extensions.remove::<ErrorPayload>() {
        Some(payload) => {
            if let Some(cause) = &payload.internal {
                tracing::error!(request_id = %request_id, route = route.as_deref().unwrap_or("-"), error = ?cause, "internal error");
            }
            (payload.code, payload.message)
        }
        None if is_json(&parts.headers) => return Response::from_parts(parts, body),
        None => {
            let (code, message) = default_error_for(status);
            (code, message.to_string())
        }
    };
    let rendered = error::render(status, code, &message, &request_id);
    let (rendered_parts, rendered_body) = rendered.into_parts();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    drop(rendered_parts);
    Response::from_parts(parts, rendered_body)
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"))
}

/// Codes for errors produced outside handlers.
pub fn default_error_for(status: StatusCode) -> (ErrorCode, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "method not allowed on this route"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (ErrorCode::UnsupportedMediaType, "unsupported content type"),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => {
            (ErrorCode::Timeout, "the request took too long; retry later")
        }
        s if s.is_server_error() => (ErrorCode::Internal, "internal error; quote the request id when reporting it"),
        _ => (ErrorCode::BadRequest, "bad request"),
    }
}

/// Counts requests and records their latency by method, route template and status.
pub async fn record_metrics(req: Request<Body>, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_string();
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("kairos_http_requests_total", &labels).increment(1);
    metrics::histogram!("kairos_http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_ids_are_v7_and_distinct() {
        let (a, b) = (super::new_request_id(), super::new_request_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("uuid");
        assert_eq!(parsed.get_version_num(), 7);
    }

    #[test]
    fn request_ids_from_clients_are_bounded() {
        assert!(super::is_acceptable_request_id("0192f-abc_def.1:2"));
        assert!(!super::is_acceptable_request_id(""));
        assert!(!super::is_acceptable_request_id("has space"));
        assert!(!super::is_acceptable_request_id("line\nbreak"));
        assert!(!super::is_acceptable_request_id(&"a".repeat(129)));
    }
}
