//! The M-of-N kill switch. Turning trading off is one operator's call and takes effect at once
//! (stopping is never blocked); anything else (`enabled`, `cancel_only`) is a proposal that
//! applies when M distinct operators approved it inside the window. The state lives in the
//! settings table, which every instance re-reads each second.

use kairos_domain::ErrorCode;
use kairos_domain::{Role, TradingState, format_rfc3339_us, new_id, now_us};
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::kill_switch::{self as store, Proposal};
use kairos_platform::storage::{StorageError, settings, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TradingStateParam {
    Enabled,
    CancelOnly,
    Disabled,
}

impl From<TradingStateParam> for TradingState {
    fn from(p: TradingStateParam) -> Self {
        match p {
            TradingStateParam::Enabled => TradingState::Enabled,
            TradingStateParam::CancelOnly => TradingState::CancelOnly,
            TradingStateParam::Disabled => TradingState::Disabled,
        }
    }
}

impl From<TradingState> for TradingStateParam {
    fn from(s: TradingState) -> Self {
        match s {
            TradingState::Enabled => TradingStateParam::Enabled,
            TradingState::CancelOnly => TradingStateParam::CancelOnly,
            TradingState::Disabled => TradingStateParam::Disabled,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalBody {
    pub id: String,
    pub state: TradingStateParam,
    /// User id of the proposer.
    pub proposed_by: String,
    /// User ids of the operators who approved, the proposer first.
    pub approvals: Vec<String>,
    /// `open`, `applied` or `expired`.
    pub status: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KillSwitchBody {
    pub state: TradingStateParam,
    /// Approvals needed (M).
    pub approvals_required: u32,
    pub proposals: Vec<ProposalBody>,
}

fn body(p: &Proposal) -> Result<ProposalBody, ApiError> {
    let state: TradingState =
        p.state.parse().map_err(|e: String| ApiError::internal(anyhow::anyhow!("proposal {}: {e}", p.id)))?;
    Ok(ProposalBody {
        id: p.id.clone(),
        state: state.into(),
        proposed_by: p.proposed_by.clone(),
        approvals: p.approvals.clone(),
        status: p.status.clone(),
        expires_at: format_rfc3339_us(p.expires_at_us),
    })
}

async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    target: &str,
    request_id: &str,
    after: String,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        actor: format!("user:{actor}"),
        action: action.to_string(),
        target: Some(target.to_string()),
        request_id: Some(request_id.to_string()),
        before: None,
        after: Some(after),
    };
    audit_log::append(state.db(), &entry).await?;
    Ok(())
}

/// What [`apply`] met in the database.
const NO_LONGER_OPEN: &str = "the proposal is no longer open";

/// Writes the state and its audit entry in one transaction, and in that same transaction
/// closes the proposal when it was approved (only if still open: a stop committed first wins)
/// or, when it turns trading off, expires every open proposal (so an older "enable" cannot
/// restart trading later). Returns false when the approved proposal was no longer open.
async fn apply(
    state: &AppState,
    p: &Proposal,
    operator: &str,
    request_id: &str,
    approved_at_us: Option<i64>,
) -> Result<bool, ApiError> {
    let (new_state, operator, request_id, proposal) =
        (p.state.clone(), format!("user:{operator}"), request_id.to_string(), p.id.clone());
    let stops = p.state == TradingState::Disabled.as_str();
    let result = audit_log::with_audit(state.db(), |conn| {
        let (new_state, operator, request_id, proposal) =
            (new_state.clone(), operator.clone(), request_id.clone(), proposal.clone());
        Box::pin(async move {
            if let Some(at) = approved_at_us
                && !store::close_in(&mut *conn, &proposal, "applied", Some(at)).await?
            {
                return Err(StorageError::Conflict(NO_LONGER_OPEN.to_string()));
            }
            if stops {
                store::expire_all_open_in(&mut *conn).await?;
            }
            let before = settings::get_in(&mut *conn, TradingState::SETTINGS_KEY).await?;
            settings::put_in(conn, TradingState::SETTINGS_KEY, &new_state).await?;
            let entry = AuditEntry {
                actor: operator,
                action: "kill_switch.apply".to_string(),
                target: Some(format!("proposal:{proposal}")),
                request_id: Some(request_id),
                before: before.map(|b| serde_json::json!({ "state": b }).to_string()),
                after: Some(serde_json::json!({ "state": new_state }).to_string()),
            };
            Ok(((), entry))
        })
    })
    .await;
    match result {
        Ok(_) => {}
        Err(StorageError::Conflict(m)) if m == NO_LONGER_OPEN => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    crate::runtime_settings::announce_change(state.runtime(), state.db(), state.redis()).await?;
    Ok(true)
}

pub async fn propose(
    state: &AppState,
    operator: &str,
    wanted: TradingState,
    request_id: &str,
) -> Result<ProposalBody, ApiError> {
    let now = now_us();
    store::expire_due(state.db(), now).await?;
    let window_us = i64::try_from(state.settings().kill_switch_window.as_micros()).unwrap_or(i64::MAX);
    let mut p = Proposal {
        id: new_id(),
        state: wanted.as_str().to_string(),
        proposed_by: operator.to_string(),
        status: "open".to_string(),
        created_at_us: now,
        expires_at_us: now.saturating_add(window_us),
        applied_at_us: None,
        approvals: vec![operator.to_string()],
    };
    let immediate = wanted == TradingState::Disabled || state.settings().kill_switch_approvals <= 1;
    if immediate {
        p.status = "applied".to_string();
        p.applied_at_us = Some(now);
    }
    store::insert(state.db(), &p).await?;
    audit(
        state,
        operator,
        "kill_switch.propose",
        &format!("proposal:{}", p.id),
        request_id,
        serde_json::json!({ "state": p.state }).to_string(),
    )
    .await?;
    if immediate {
        apply(state, &p, operator, request_id, None).await?;
    } else {
        let operators = users::count_with_roles(state.db(), &[Role::Operator, Role::Admin]).await?;
        if operators < i64::from(state.settings().kill_switch_approvals) {
            tracing::warn!(
                operators,
                required = state.settings().kill_switch_approvals,
                "fewer operators than KAIROS_KILL_SWITCH__APPROVALS: this proposal cannot be approved"
            );
        }
    }
    body(&p)
}

pub async fn approve(
    state: &AppState,
    proposal_id: &str,
    operator: &str,
    request_id: &str,
) -> Result<ProposalBody, ApiError> {
    let now = now_us();
    let p = store::get(state.db(), proposal_id).await?.ok_or_else(|| ApiError::not_found("no such proposal"))?;
    if p.status != "open" {
        return Err(ApiError::conflict(ErrorCode::ProposalClosed, format!("this proposal is already {}", p.status)));
    }
    if p.expires_at_us <= now {
        store::close(state.db(), &p.id, "expired", None).await?;
        return Err(ApiError::conflict(
            ErrorCode::ProposalExpired,
            "this proposal's approval window has passed; propose again",
        ));
    }
    if !store::approve(state.db(), &p.id, operator, now).await? {
        return Err(ApiError::conflict(
            ErrorCode::AlreadyApproved,
            "you already approved this proposal; another operator must",
        ));
    }
    audit(
        state,
        operator,
        "kill_switch.approve",
        &format!("proposal:{}", p.id),
        request_id,
        serde_json::json!({ "state": p.state }).to_string(),
    )
    .await?;
    let mut p = store::get(state.db(), &p.id).await?.ok_or_else(|| ApiError::not_found("no such proposal"))?;
    let required = usize::try_from(state.settings().kill_switch_approvals).unwrap_or(usize::MAX);
    if p.approvals.len() >= required {
        // Applies only while still open: a stop committed since expired it, and wins.
        if apply(state, &p, operator, request_id, Some(now)).await? {
            p.status = "applied".to_string();
            p.applied_at_us = Some(now);
        } else if let Some(closed) = store::get(state.db(), &p.id).await? {
            p = closed;
        }
    }
    body(&p)
}

pub async fn current(state: &AppState) -> Result<KillSwitchBody, ApiError> {
    store::expire_due(state.db(), now_us()).await?;
    let open = store::open(state.db()).await?;
    let current = settings::get(state.db(), TradingState::SETTINGS_KEY)
        .await?
        .and_then(|s| s.parse::<TradingState>().ok())
        .unwrap_or(TradingState::Disabled);
    Ok(KillSwitchBody {
        state: current.into(),
        approvals_required: state.settings().kill_switch_approvals,
        proposals: open.iter().map(body).collect::<Result<_, _>>()?,
    })
}
