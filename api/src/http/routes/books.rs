//! `GET /v1/markets/{id}/book`: a paper market's book as last published (the snapshot the
//! websocket's book channel starts from, with the same `seq`).

use axum::extract::State;
use kairos_domain::ErrorCode;
use kairos_domain::{Venue, parse_id};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Level {
    pub price: String,
    pub size: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookBody {
    pub market_id: String,
    /// Binary markets have one book, in outcome 0's prices (a bid for outcome 1 at `q` shows
    /// as an ask at `1 − q`); other markets have a book per outcome.
    pub book: usize,
    /// Grows by one with every change; websocket deltas continue from it.
    pub seq: u64,
    /// Best first.
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

pub fn levels(v: &[(kairos_domain::Price, kairos_domain::Size)]) -> Vec<Level> {
    v.iter().map(|(p, s)| Level { price: p.to_string(), size: s.to_string() }).collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookQuery {
    /// Which book (0 for binary markets; the outcome index otherwise).
    pub book: Option<usize>,
}

/// A paper market's order book.
#[utoipa::path(get, operation_id = "get_book", path = "/v1/markets/{id}/book", tag = "markets", params(("id" = String, Path, format = Uuid), BookQuery),
    responses((status = 200, body = BookBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not a paper market", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn book(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<BookQuery>,
) -> Result<axum::Json<BookBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "market id must be a UUID"))?;
    let market = state.catalog().market(state.db(), &id).await?.ok_or_else(|| ApiError::not_found("no such market"))?;
    if market.venue != Venue::Paper {
        return Err(ApiError::conflict(ErrorCode::NotAPaperMarket, "books are served for paper markets only"));
    }
    let books = if market.outcomes.len() == 2 { 1 } else { market.outcomes.len() };
    let book = q.book.unwrap_or(0);
    if book >= books {
        return Err(ApiError::bad_request(ErrorCode::InvalidQuery, format!("book must be below {books}")));
    }
    let view = state.venues().paper.book(&id, book);
    Ok(axum::Json(BookBody { market_id: id, book, seq: view.seq, bids: levels(&view.bids), asks: levels(&view.asks) }))
}
