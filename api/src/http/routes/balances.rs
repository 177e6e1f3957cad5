//! Balances, the caller's ledger, and the dev faucet.

use axum::extract::State;
use kairos_domain::ErrorCode;
use kairos_domain::ledger::{Account, COLLATERAL, INSUFFICIENT_FUNDS, Transfer};
use kairos_domain::{format_micros, format_rfc3339_us, parse_micros};
use kairos_platform::config::Profile;
use kairos_platform::storage::StorageError;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::ledger;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    pub asset: String,
    /// Decimal string in collateral units.
    pub available: String,
    /// Held for open orders.
    pub reserved: String,
    /// From sales an external venue matched but has not settled yet: spendable once it does.
    pub pending: String,
    pub total: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BalancesBody {
    pub balances: Vec<Balance>,
}

/// The collateral balance of `user_id` (zero when nothing was ever credited).
pub async fn balances_of(state: &AppState, user_id: &str) -> Result<BalancesBody, ApiError> {
    let rows = ledger::user_balances(state.db(), user_id).await?;
    let get =
        |account: &Account| rows.iter().find(|(a, asset, _)| a == account && asset == COLLATERAL).map_or(0, |r| r.2);
    let available = get(&ledger::available(user_id));
    let reserved = get(&ledger::reserved(user_id));
    let pending = get(&ledger::pending(user_id));
    Ok(BalancesBody {
        balances: vec![Balance {
            asset: COLLATERAL.to_string(),
            available: format_micros(available),
            reserved: format_micros(reserved),
            pending: format_micros(pending),
            total: format_micros(available.saturating_add(reserved).saturating_add(pending)),
        }],
    })
}

/// The caller's balances.
#[utoipa::path(get, path = "/v1/balances", tag = "account",
    responses((status = 200, body = BalancesBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn balances(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<axum::Json<BalancesBody>, ApiError> {
    Ok(axum::Json(balances_of(&state, caller.user_id()).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerRow {
    pub id: String,
    pub transfer_id: String,
    /// `available`, `reserved` or `pending`.
    pub account: String,
    pub asset: String,
    /// Signed decimal string: positive credits the account.
    pub amount: String,
    pub kind: String,
    pub reference: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub data: Vec<LedgerRow>,
    pub next_cursor: Option<String>,
}

/// The caller's ledger entries, oldest first.
#[utoipa::path(get, path = "/v1/ledger", tag = "account", params(LedgerQuery),
    responses((status = 200, body = LedgerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn ledger_entries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(q): Query<LedgerQuery>,
) -> Result<axum::Json<LedgerPage>, ApiError> {
    let limit = crate::http::routes::paging::page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => 0,
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidCursor, "cursor is not a next_cursor this API returned")
        })?,
    };
    let user = caller.user_id();
    let mut rows = ledger::entries_for(state.db(), user, after, limit + 1).await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more { rows.last().map(|e| e.seq.to_string()) } else { None };
    let data = rows
        .into_iter()
        .map(|e| LedgerRow {
            account: e.account.rsplit(':').next().unwrap_or_default().to_string(),
            id: e.id,
            transfer_id: e.transfer_id,
            asset: e.asset,
            amount: format_micros(e.amount_micros),
            kind: e.kind,
            reference: e.reference,
            created_at: format_rfc3339_us(e.created_at_us),
        })
        .collect();
    Ok(axum::Json(LedgerPage { data, next_cursor }))
}

/// Largest faucet drip, in micro-units.
const MAX_FAUCET_MICROS: i64 = 10_000 * 1_000_000;

/// Parses a positive amount no larger than `max`.
pub fn amount(text: &str, max: i64) -> Result<i64, ApiError> {
    let micros = parse_micros(text).map_err(|e| ApiError::bad_request(ErrorCode::InvalidAmount, e.to_string()))?;
    if micros <= 0 || micros > max {
        return Err(ApiError::Unprocessable {
            code: ErrorCode::AmountOutOfRange,
            message: format!("amount must be positive and at most {}", format_micros(max)),
        });
    }
    Ok(micros)
}

/// Credits `user_id` from the deposits account, audited in the same transaction.
pub async fn credit(
    state: &AppState,
    user_id: &str,
    amount_micros: i64,
    kind: &str,
    actor: &str,
    request_id: &str,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        actor: actor.to_string(),
        action: format!("ledger.{kind}"),
        target: Some(format!("user:{user_id}")),
        request_id: Some(request_id.to_string()),
        before: None,
        after: Some(serde_json::json!({ "amount": format_micros(amount_micros), "asset": COLLATERAL }).to_string()),
    };
    audit_log::with_audit(state.db(), |conn| {
        let (user_id, kind, request_id, entry) =
            (user_id.to_string(), kind.to_string(), request_id.to_string(), entry.clone());
        Box::pin(async move {
            credit_in(conn, &user_id, amount_micros, &kind, &request_id).await?;
            Ok(((), entry))
        })
    })
    .await
    .map_err(|e| match e {
        StorageError::Invalid(m) if m.starts_with(INSUFFICIENT_FUNDS) => {
            ApiError::Unprocessable { code: ErrorCode::InsufficientBalance, message: m }
        }
        other => other.into(),
    })?;
    Ok(())
}

/// The credit itself (deposits account to the user's available balance), on the caller's
/// transaction, which also holds its audit entry.
pub async fn credit_in(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    amount_micros: i64,
    kind: &str,
    request_id: &str,
) -> Result<(), StorageError> {
    let transfer = Transfer::between(
        Account::Deposits,
        ledger::available(user_id),
        amount_micros,
        kind,
        Some(request_id.to_string()),
    );
    ledger::append_in(conn, &transfer).await.map(|_| ())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FaucetRequest {
    /// Decimal string in collateral units, at most 10000.
    #[schema(example = "100")]
    pub amount: String,
}

/// Dev profile only, and never while the Polymarket venue is on: credits the caller with play
/// collateral.
#[utoipa::path(post, path = "/v1/faucet", tag = "account", request_body = FaucetRequest,
    responses((status = 200, body = BalancesBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Not the dev profile, or the Polymarket venue is on", body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn faucet(
    State(state): State<AppState>,
    Caller(caller): Caller,
    axum::Extension(request_id): axum::Extension<crate::http::middleware::RequestId>,
    Json(req): Json<FaucetRequest>,
) -> Result<axum::Json<BalancesBody>, ApiError> {
    if state.settings().core.profile != Profile::Dev {
        return Err(ApiError::forbidden(ErrorCode::FaucetDisabled, "the faucet exists only in the dev profile"));
    }
    // Play money must never fund real orders: with the Polymarket venue on, collateral enters
    // the ledger only as operators' credits of real deposits.
    if state.venues().polymarket.is_enabled() {
        return Err(ApiError::forbidden(
            ErrorCode::FaucetDisabled,
            "the faucet is off while the Polymarket venue is on: its collateral is real",
        ));
    }
    let micros = amount(&req.amount, MAX_FAUCET_MICROS)?;
    credit(&state, caller.user_id(), micros, "faucet", &caller.actor(), &request_id.0).await?;
    Ok(axum::Json(balances_of(&state, caller.user_id()).await?))
}
