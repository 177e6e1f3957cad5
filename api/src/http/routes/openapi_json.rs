//! The OpenAPI document, as checked in at `openapi/v1.json`.

use axum::http::header;
use axum::response::IntoResponse;

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], crate::http::openapi::spec_json())
}
