//! Opening and reading flash markets. An operator's terms are recorded once, as `pending`,
//! with the audit entry in the same transaction; the `flash-create` keeper puts them on chain.

use kairos_domain::{ErrorCode, new_id, now_us, parse_id};
use kairos_flash::terms::{self, Circuit, MarketRequest};
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};

use crate::http::error::ApiError;
use crate::state::AppState;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Records a new market from `request`, audited as `flash_market.open`.
pub async fn open(
    state: &AppState,
    actor: &str,
    request_id: &str,
    request: &MarketRequest,
) -> Result<FlashMarketRow, ApiError> {
    let flash = &state.settings().core.flash;
    let circuit = Circuit {
        circuit_id: flash.circuit_id,
        ticks: flash.ticks,
        resolve_window_s: i64::try_from(flash.resolve_window.as_secs()).unwrap_or(i64::MAX),
    };
    let id = new_id();
    let uuid = uuid::Uuid::parse_str(&id).map_err(ApiError::internal)?;
    let now = now_us();
    // Whole seconds, as the program keeps time; rounded up so betting is never shorter.
    let now_s = (now + MICROS_PER_SECOND - 1) / MICROS_PER_SECOND;
    let t = terms::terms(request, circuit, &state.flash_program_id(), &uuid, now_s)
        .map_err(|e| ApiError::Unprocessable { code: ErrorCode::InvalidTerms, message: e.to_string() })?;
    let row = FlashMarketRow {
        id,
        market_id: hex::encode(t.market_id),
        address: t.address.to_string(),
        symbol: request.symbol.clone(),
        rule_kind: t.rule_kind.to_string(),
        rule_params: t.rule.params[..usize::from(t.rule.count)].to_vec(),
        outcome_count: i64::from(t.outcome_count),
        circuit_id: i64::from(circuit.circuit_id),
        ticks: i64::from(circuit.ticks),
        tick_interval_s: request.tick_interval_s,
        oracle: None,
        created_at_us: now,
        lock_at_us: t.lock_at_s * MICROS_PER_SECOND,
        deadline_at_us: t.deadline_s * MICROS_PER_SECOND,
        status: "pending".to_string(),
        commitment: None,
        winning_outcome: None,
        totals: vec![0; usize::from(t.outcome_count)],
        create_signature: None,
        lock_signature: None,
        resolve_signature: None,
        void_signature: None,
        slot: 0,
        created_by: actor.to_string(),
    };
    let after = serde_json::to_string(&crate::flash::view::FlashMarketBody::from(&row)).map_err(ApiError::internal)?;
    audit_log::with_audit(state.db(), |conn| {
        let (row, after) = (row.clone(), after.clone());
        let entry = AuditEntry {
            actor: actor.to_string(),
            action: "flash_market.open".to_string(),
            target: Some(format!("flash_market:{}", row.id)),
            request_id: Some(request_id.to_string()),
            before: None,
            after: Some(after),
        };
        Box::pin(async move {
            flash_markets::insert_in(conn, &row).await?;
            Ok(((), entry))
        })
    })
    .await?;
    Ok(row)
}

/// The market named by a path id: 400 when it is not an id, 404 when there is none.
pub async fn get(state: &AppState, id: &str) -> Result<FlashMarketRow, ApiError> {
    let id = parse_id(id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "market id must be a UUID"))?;
    flash_markets::get(state.db(), &id).await?.ok_or_else(|| ApiError::not_found("no such flash market"))
}
