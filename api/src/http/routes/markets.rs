//! `GET /v1/markets` and `GET /v1/markets/{id}`, served from the market catalog.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kairos_domain::ErrorCode;
use kairos_domain::{MarketStatus, Venue, parse_id};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Path, Query};
use crate::state::AppState;
use crate::trading::market_catalog::{Filter, decode_cursor};
use crate::trading::market_view::{MarketBody, MarketPage, MarketStatusParam, VenueParam};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
const MAX_QUERY_LEN: usize = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMarketsQuery {
    /// Only markets in this status.
    pub status: Option<MarketStatusParam>,
    /// Only markets on this venue.
    pub venue: Option<VenueParam>,
    /// Case-insensitive text in the question or slug.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The validated form of [`ListMarketsQuery`].
#[derive(Debug)]
pub struct ListMarkets {
    pub filter: Filter,
    pub after: Option<String>,
    pub limit: usize,
}

impl ListMarketsQuery {
    pub fn validate(self) -> Result<ListMarkets, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        if self.q.as_ref().is_some_and(|q| q.chars().count() > MAX_QUERY_LEN) {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("q is longer than {MAX_QUERY_LEN} characters"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ApiError::bad_request(ErrorCode::InvalidCursor, "cursor is not a next_cursor this API returned")
            })?),
        };
        Ok(ListMarkets {
            filter: Filter {
                status: self.status.map(|s| match s {
                    MarketStatusParam::Open => MarketStatus::Open,
                    MarketStatusParam::Suspended => MarketStatus::Suspended,
                    MarketStatusParam::Closed => MarketStatus::Closed,
                    MarketStatusParam::Resolved => MarketStatus::Resolved,
                }),
                venue: self.venue.map(|v| match v {
                    VenueParam::Paper => Venue::Paper,
                    VenueParam::Polymarket => Venue::Polymarket,
                }),
                text: self.q.filter(|q| !q.is_empty()),
            },
            after,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        })
    }
}

/// Markets, oldest first, with cursor pagination. Each answer carries an `ETag`; a request
/// whose `If-None-Match` names it gets 304 with no body (the catalog refreshes every 500 ms).
/// Compressed with gzip for clients that accept it.
#[utoipa::path(get, path = "/v1/markets", tag = "markets", params(ListMarketsQuery),
    responses(
        (status = 200, description = "A page of markets", body = MarketPage),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 400, description = "Malformed filter, limit or cursor", body = ErrorBody),
    ))]
pub async fn list_markets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListMarketsQuery>,
) -> Result<Response, ApiError> {
    let request = query.validate()?;
    let page = state.catalog().rendered_page(&request.filter, request.after.as_deref(), request.limit);
    let etag = HeaderValue::from_str(&page.etag).map_err(ApiError::internal)?;
    if if_none_match(&headers, &page.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        page.body.clone(),
    )
        .into_response())
}

/// Whether `If-None-Match` lists `etag` (or is `*`); weak and strong forms compare alike.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        },
    )
}

/// One market with its outcomes.
#[utoipa::path(get, path = "/v1/markets/{id}", tag = "markets",
    params(("id" = String, Path, format = Uuid, description = "Market id (UUID)")),
    responses(
        (status = 200, description = "The market", body = MarketBody),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such market", body = ErrorBody),
    ))]
pub async fn get_market(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "market id must be a UUID"))?;
    match state.catalog().get(state.db(), &id).await? {
        Some(json) => Ok(([(header::CONTENT_TYPE, "application/json")], String::from(json)).into_response()),
        None => Err(ApiError::not_found(format!("no market with id {id}"))),
    }
}
