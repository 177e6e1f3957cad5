//! Axum's extractors, wrapped so a malformed request still gets the JSON error shape.

use axum::extract::{FromRequest, FromRequestParts};

use crate::http::error::ApiError;

/// `axum::extract::Query` answering 400 `invalid_query` in the API's error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` answering 400 `invalid_path` in the API's error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::Json` answering 400 `invalid_json` / `invalid_content_type` in the API's error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);
