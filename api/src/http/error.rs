//! The API's error type and its wire shape `{"error":{"code","message","request_id"}}`.
//! Codes are stable strings that clients branch on; messages are for people. Internal error
//! text never reaches a client: it is logged once, by [`crate::http::middleware::error_envelope`].

use kairos_domain::ErrorCode;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Input that cannot be parsed or breaks the schema.
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// Missing, invalid, expired, stale, replayed or wrongly signed credentials.
    #[error("{message}")]
    Unauthorized { code: ErrorCode, message: String },
    /// Authenticated, but without the route's role or scope.
    #[error("{message}")]
    Forbidden { code: ErrorCode, message: String },
    #[error("{message}")]
    NotFound { message: String },
    /// A conflict with existing state.
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Well-formed, but a rule rejects it.
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    #[error("the request body is larger than the limit")]
    PayloadTooLarge,
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A dependency the request needs is not available.
    #[error("{message}")]
    Unavailable { code: ErrorCode, message: String },
    /// A venue could not do what it was asked for a reason of its own (storage, the CLOB, an
    /// instance). The reason may name internals (SQL, addresses, other accounts in a shared
    /// batch): it is logged, and the client gets the code and the request id.
    #[error("the venue cannot take this request right now; retry, and quote the request id if it persists")]
    VenueUnavailable(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::BadRequest { code, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound { message: message.into() }
    }

    pub fn unauthorized(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Unauthorized { code, message: message.into() }
    }

    pub fn forbidden(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Forbidden { code, message: message.into() }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Conflict { code, message: message.into() }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable { .. } | ApiError::VenueUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unavailable { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Unprocessable { code, .. } => *code,
            ApiError::NotFound { .. } => ErrorCode::NotFound,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::VenueUnavailable(_) => ErrorCode::VenueUnavailable,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The cause that is logged and never sent, when there is one.
    pub fn internal_cause(&self) -> Option<String> {
        match self {
            ApiError::Internal(e) => Some(format!("{e:?}")),
            ApiError::VenueUnavailable(detail) => Some(detail.clone()),
            _ => None,
        }
    }

    /// What the client is told: never the internal cause.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error; quote the request id when reporting it".to_string(),
            other => other.to_string(),
        }
    }
}

/// The error object clients receive.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_query`, `not_found`: one of the enum's values.
    #[schema(schema_with = error_code_schema)]
    pub code: ErrorCode,
    pub message: String,
    /// The request's `x-request-id`.
    pub request_id: String,
}

/// Carried in the response extensions so the envelope middleware can add the request id and
/// log the internal cause once.
#[derive(Debug, Clone)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    pub internal: Option<Arc<anyhow::Error>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            // Another instance holds the market, or will within a lease: try again shortly.
            ApiError::Conflict { code: ErrorCode::MarketMoved, .. } => Some(1),
            _ => None,
        };
        let payload = ErrorPayload {
            code: self.code(),
            message: self.public_message(),
            internal: match self {
                ApiError::Internal(e) => Some(Arc::new(e)),
                ApiError::VenueUnavailable(detail) => Some(Arc::new(anyhow::anyhow!("venue unavailable: {detail}"))),
                _ => None,
            },
        };
        let mut response = render(status, payload.code, &payload.message, "");
        if let Some(secs) = retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response.extensions_mut().insert(payload);
        response
    }
}

/// `ErrorDetail.code` in the OpenAPI document: a string, one of [`ErrorCode::ALL`].
fn error_code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
        .build()
}

/// The JSON error response itself.
pub fn render(status: StatusCode, code: ErrorCode, message: &str, request_id: &str) -> Response {
    let body =
        ErrorBody { error: ErrorDetail { code, message: message.to_string(), request_id: request_id.to_string() } };
    (status, axum::Json(body)).into_response()
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(ErrorCode::InvalidQuery, r.body_text())
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection as J;
        match r {
            J::MissingJsonContentType(_) => {
                ApiError::bad_request(ErrorCode::InvalidContentType, "expected Content-Type: application/json")
            }
            other => ApiError::bad_request(ErrorCode::InvalidJson, other.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(ErrorCode::InvalidPath, r.body_text())
    }
}

impl From<kairos_platform::storage::StorageError> for ApiError {
    fn from(e: kairos_platform::storage::StorageError) -> Self {
        use kairos_platform::storage::StorageError as S;
        match e {
            S::Unreachable(_) | S::Query(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)) => {
                ApiError::Unavailable {
                    code: ErrorCode::DatabaseUnavailable,
                    message: "the database is not reachable; retry later".to_string(),
                }
            }
            // Storage refuses these for a reason the request can fix or should know of: they
            // are answers, not failures.
            S::NotFound(what) => ApiError::NotFound { message: format!("{what} does not exist") },
            S::Conflict(message) => ApiError::Conflict { code: ErrorCode::Conflict, message },
            S::Invalid(message) => ApiError::Unprocessable { code: ErrorCode::InvalidRequest, message },
            other => ApiError::Internal(other.into()),
        }
    }
}

/// The refusal of an order request: its code and whether it is the caller's fault (4xx).
pub fn refusal_status(r: &kairos_domain::Refusal) -> u16 {
    match r {
        kairos_domain::Refusal::NotFound | kairos_domain::Refusal::OrderGroupNotFound => 404,
        kairos_domain::Refusal::ClientOrderIdReused(_)
        | kairos_domain::Refusal::MarketResolved
        | kairos_domain::Refusal::OrderGroupFrozen { .. }
        | kairos_domain::Refusal::MarketMoved { .. } => 409,
        kairos_domain::Refusal::UnknownMarket | kairos_domain::Refusal::HeartbeatLost => 503,
        kairos_domain::Refusal::VenueBusy => 429,
        _ => 422,
    }
}

#[cfg(test)]
mod tests {
    use kairos_platform::storage::StorageError;

    use super::ApiError;

    #[test]
    fn storage_refusals_are_answers_and_only_failures_are_500() {
        let status = |e: StorageError| ApiError::from(e).status().as_u16();
        assert_eq!(status(StorageError::NotFound("user u".into())), 404);
        assert_eq!(status(StorageError::Conflict("already revoked".into())), 409);
        assert_eq!(status(StorageError::Invalid("a transfer's postings must sum to zero".into())), 422);
        assert_eq!(status(StorageError::Unreachable(sqlx::Error::PoolTimedOut)), 503);
        assert_eq!(status(StorageError::Corrupt("bad row".into())), 500);
    }
}
