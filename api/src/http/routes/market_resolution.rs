//! `POST /v1/admin/markets/{id}/resolve`: operators resolve a paper market. Open orders are
//! cancelled, every share is retired and each winning share pays one unit of collateral, in
//! one transaction with its audit entry.

use axum::Extension;
use axum::extract::State;
use kairos_domain::ErrorCode;
use kairos_domain::{Venue, parse_id};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::http::middleware::RequestId;
use crate::http::routes::orders::venue_error;
use crate::state::AppState;
use crate::trading::market_view::MarketBody;
use kairos_venues::paper::sequencer::{Reply, Request};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// 0-based index of the outcome that won.
    #[schema(minimum = 0, maximum = 255)]
    pub winning_outcome: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResolvedBody {
    pub market: MarketBody,
    pub cancelled_orders: usize,
    /// Holdings retired (each user and outcome counts once).
    pub settled_holdings: usize,
}

/// Resolves a paper market and settles every position in it.
#[utoipa::path(post, operation_id = "resolve_market", path = "/v1/admin/markets/{id}/resolve", tag = "admin", request_body = ResolveRequest,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ResolvedBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Already resolved, or not a paper market", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    Json(req): Json<ResolveRequest>,
) -> Result<axum::Json<ResolvedBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "market id must be a UUID"))?;
    let market = kairos_platform::storage::markets::get(state.db(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such market"))?;
    if market.venue != Venue::Paper {
        return Err(ApiError::conflict(
            ErrorCode::NotAPaperMarket,
            "only paper markets are resolved here; venues resolve their own",
        ));
    }
    let reply = state
        .venues()
        .paper_call(Request::Resolve {
            market_id: id.clone(),
            winning_outcome: req.winning_outcome,
            actor: caller.actor(),
            request_id: request_id.0.clone(),
        })
        .await
        .map_err(venue_error)?;
    let Reply::Resolved { cancelled, holders } = reply else {
        return Err(ApiError::internal(anyhow::anyhow!("unexpected reply {reply:?}")));
    };
    state.catalog().refresh(state.db()).await?;
    let market = kairos_platform::storage::markets::get(state.db(), &id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such market"))?;
    Ok(axum::Json(ResolvedBody {
        market: MarketBody::from(&market),
        cancelled_orders: cancelled,
        settled_holdings: holders,
    }))
}
