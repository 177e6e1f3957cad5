//! Flash markets: `GET /v1/flash/config`, operators' `POST /v1/admin/flash-markets`, the public
//! reads, the wallets' unsigned transactions and the dev faucet. The logic is in
//! [`crate::flash`].

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_flash::MarketRequest;
use kairos_platform::storage::flash_markets;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::Caller;
use crate::flash::view::{FlashMarketBody, FlashMarketPage, FlashStatus, PositionBody, PositionsBody, RuleBody};
use crate::flash::{markets, wallet};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query};
use crate::http::middleware::RequestId;
use crate::http::routes::paging::{id_cursor, page_limit};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FlashConfigBody {
    /// `mainnet-beta`, `devnet`, `testnet` or `localnet`.
    #[schema(example = "localnet")]
    pub cluster: String,
    /// The JSON-RPC endpoint wallets may use; null when the deployment's endpoint carries
    /// credentials (wallets then use their own).
    pub rpc_url: Option<String>,
    pub program_id: String,
    /// The SPL mint bets are made in (6 decimals).
    pub collateral_mint: String,
}

/// The URL wallets are told: never one with credentials in it (user info or a query string,
/// where RPC providers put API keys).
fn public_rpc_url(url: &str) -> Option<String> {
    let authority = url.split("://").nth(1).unwrap_or("").split('/').next().unwrap_or("");
    (!authority.contains('@') && !url.contains('?')).then(|| url.to_string())
}

/// What a wallet needs to send the transactions below: the cluster, an RPC endpoint, the
/// program and the collateral mint (read from the program's config on chain).
#[utoipa::path(get, path = "/v1/flash/config", tag = "flash",
    responses((status = 200, body = FlashConfigBody), (status = 503, description = "No chain configured, or it does not answer", body = ErrorBody)))]
pub async fn config(State(state): State<AppState>) -> Result<axum::Json<FlashConfigBody>, ApiError> {
    let chain = wallet::chain(&state)?;
    let collateral = chain.collateral().await.map_err(wallet::chain_error)?;
    Ok(axum::Json(FlashConfigBody {
        cluster: state.settings().core.solana.cluster.clone(),
        rpc_url: public_rpc_url(chain.url()),
        program_id: chain.program_id().to_string(),
        collateral_mint: collateral.mint.to_string(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenFlashMarketRequest {
    pub rule: RuleBody,
    /// The price feed's asset id (CoinGecko's: `bitcoin`, `solana`).
    #[schema(example = "bitcoin")]
    pub symbol: String,
    /// Seconds bets are taken for, from now: betting closes at `lock_at`.
    #[schema(minimum = 10, maximum = 86400, example = 60)]
    pub betting_s: i64,
    /// Seconds between the oracle's ticks, observed after `lock_at`.
    #[schema(minimum = 1, maximum = 3600, example = 5)]
    pub tick_interval_s: i64,
}

/// Opens a flash market: recorded as `pending` until a keeper creates it on chain. Betting
/// closes at `lock_at = now + betting_s`; the oracle then observes its ticks, so nobody can bet
/// while the ticks that decide the market are observed; the deadline leaves the resolve
/// window to prove and confirm.
#[utoipa::path(post, path = "/v1/admin/flash-markets", tag = "admin", request_body = OpenFlashMarketRequest,
    responses((status = 201, body = FlashMarketBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = "Terms the program or the circuit cannot take", body = ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<OpenFlashMarketRequest>,
) -> Result<(StatusCode, axum::Json<FlashMarketBody>), ApiError> {
    let request = MarketRequest {
        rule: req.rule.to_spec(),
        symbol: req.symbol,
        betting_s: req.betting_s,
        tick_interval_s: req.tick_interval_s,
    };
    let row = markets::open(&state, &caller.actor(), &request_id.0, &request).await?;
    Ok((StatusCode::CREATED, axum::Json(FlashMarketBody::from(&row))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlashMarketsQuery {
    pub status: Option<FlashStatus>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Flash markets in creation order, optionally of one status.
#[utoipa::path(get, path = "/v1/flash-markets", tag = "flash", params(FlashMarketsQuery),
    responses((status = 200, body = FlashMarketPage), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<FlashMarketsQuery>,
) -> Result<axum::Json<FlashMarketPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = id_cursor(q.cursor.as_deref())?;
    let status = q.status.map(FlashStatus::as_str);
    let mut rows = flash_markets::page(state.db(), status, after.as_deref(), limit + 1).await?;
    let next_cursor = (rows.len() as i64 > limit).then(|| {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last().map(|r| r.id.clone())
    });
    Ok(axum::Json(FlashMarketPage {
        data: rows.iter().map(FlashMarketBody::from).collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

/// One flash market.
#[utoipa::path(get, path = "/v1/flash-markets/{id}", tag = "flash", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = FlashMarketBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<FlashMarketBody>, ApiError> {
    Ok(axum::Json(FlashMarketBody::from(&markets::get(&state, &id).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PositionsQuery {
    /// Only this wallet's positions (base58).
    pub wallet: Option<String>,
}

/// The market's positions as the chain holds them (synced by the keepers).
#[utoipa::path(get, path = "/v1/flash-markets/{id}/positions", tag = "flash",
    params(("id" = String, Path, format = Uuid), PositionsQuery),
    responses((status = 200, body = PositionsBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn positions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PositionsQuery>,
) -> Result<axum::Json<PositionsBody>, ApiError> {
    let wallet = q.wallet.as_deref().map(wallet::wallet).transpose()?.map(|w| w.to_string());
    let market = markets::get(&state, &id).await?;
    let rows = flash_markets::positions(state.db(), &market.id, wallet.as_deref()).await?;
    Ok(axum::Json(PositionsBody { positions: rows.iter().map(PositionBody::from).collect() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BetRequest {
    /// The betting wallet (base58): the transaction's fee payer and only signer.
    pub wallet: String,
    pub outcome: u32,
    /// Collateral to stake, decimal string (at most six decimals), from the wallet's
    /// associated token account.
    #[schema(example = "25")]
    pub amount: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    pub wallet: String,
    pub outcome: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionBody {
    /// An unsigned legacy transaction, base64 of the wire format: the wallet signs it (it is
    /// the fee payer and only signer) and sends it itself before its blockhash expires.
    pub transaction: String,
}

/// An unsigned bet transaction for the wallet to sign and send.
#[utoipa::path(post, path = "/v1/flash-markets/{id}/transactions/bet", tag = "flash", request_body = BetRequest,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TransactionBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The market takes no bets", body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn bet(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<BetRequest>,
) -> Result<axum::Json<TransactionBody>, ApiError> {
    let who = wallet::wallet(&req.wallet)?;
    let market = markets::get(&state, &id).await?;
    let transaction = wallet::bet(&state, &market, &who, req.outcome, &req.amount).await?;
    Ok(axum::Json(TransactionBody { transaction }))
}

/// An unsigned claim transaction (winnings, or the stake of a voided market) for the wallet
/// to sign and send; it creates the wallet's token account when missing.
#[utoipa::path(post, path = "/v1/flash-markets/{id}/transactions/claim", tag = "flash", request_body = ClaimRequest,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = TransactionBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Neither resolved nor voided yet", body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(req): Json<ClaimRequest>,
) -> Result<axum::Json<TransactionBody>, ApiError> {
    let who = wallet::wallet(&req.wallet)?;
    let market = markets::get(&state, &id).await?;
    let transaction = wallet::claim(&state, &market, &who, req.outcome).await?;
    Ok(axum::Json(TransactionBody { transaction }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlashFaucetRequest {
    pub wallet: String,
    /// Collateral, decimal string, at most 10000.
    #[schema(example = "100")]
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlashFaucetBody {
    pub wallet: String,
    /// SOL given for fees, in lamports.
    pub lamports: u64,
    pub amount: String,
}

/// Dev and test only: gives the wallet SOL for fees and collateral on the local chain.
#[utoipa::path(post, path = "/v1/flash/faucet", tag = "flash", request_body = FlashFaucetRequest,
    responses((status = 200, body = FlashFaucetBody), (status = 400, body = ErrorBody),
        (status = 403, description = "Not dev or test, or not the local chain", body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn faucet(
    State(state): State<AppState>,
    Json(req): Json<FlashFaucetRequest>,
) -> Result<axum::Json<FlashFaucetBody>, ApiError> {
    let who = wallet::wallet(&req.wallet)?;
    wallet::faucet(&state, &who, &req.amount).await?;
    let amount = kairos_domain::format_micros(kairos_domain::parse_micros(&req.amount).unwrap_or_default());
    Ok(axum::Json(FlashFaucetBody { wallet: who.to_string(), lamports: wallet::FAUCET_LAMPORTS, amount }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_are_never_told_an_endpoint_with_credentials() {
        assert_eq!(public_rpc_url("http://127.0.0.1:8899").as_deref(), Some("http://127.0.0.1:8899"));
        assert_eq!(public_rpc_url("https://api.devnet.solana.com/").as_deref(), Some("https://api.devnet.solana.com/"));
        assert_eq!(public_rpc_url("https://user:pw@rpc.example.com"), None);
        assert_eq!(public_rpc_url("https://rpc.example.com/?api-key=secret"), None);
    }
}
