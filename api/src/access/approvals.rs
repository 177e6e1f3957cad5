//! Actions one operator may not take alone. A credit above
//! `KAIROS_CREDIT__APPROVAL_ABOVE`, or to the operator's own account, needs
//! `KAIROS_KILL_SWITCH__APPROVALS` distinct operators; a promotion to operator or admin needs a
//! second admin (otherwise one admin defeats every M-of-N rule by promoting a second wallet of
//! their own). The proposer's request waits with their approval; the last approval applies it
//! in the transaction that closes it, only while it is still open, within the kill switch's
//! window (`KAIROS_KILL_SWITCH__WINDOW_SECS`). The beneficiary of an action never approves it.

use kairos_domain::ErrorCode;
use kairos_domain::{Role, format_micros, format_rfc3339_us, new_id, now_us};
use kairos_platform::storage::StorageError;
use kairos_platform::storage::approvals::{self as store, ApprovalRequest};
use kairos_platform::storage::audit_log::{self, AuditEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::state::AppState;

/// What waits for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    Credit { user_id: String, amount_micros: i64 },
    SetRole { user_id: String, role: String },
}

impl Action {
    fn kind(&self) -> &'static str {
        match self {
            Action::Credit { .. } => "credit",
            Action::SetRole { .. } => "set_role",
        }
    }

    /// Whose account or role it changes: they may not approve it.
    fn beneficiary(&self) -> &str {
        match self {
            Action::Credit { user_id, .. } | Action::SetRole { user_id, .. } => user_id,
        }
    }

    /// The role an approver needs.
    fn approver_role(&self) -> Role {
        match self {
            Action::Credit { .. } => Role::Operator,
            Action::SetRole { .. } => Role::Admin,
        }
    }
}

/// Whether a credit of `amount_micros` to `user_id` by `operator` needs other operators.
pub fn credit_needs_approval(state: &AppState, operator: &str, user_id: &str, amount_micros: i64) -> bool {
    state.settings().kill_switch_approvals > 1
        && (operator == user_id || amount_micros > state.settings().credit_approval_above_micros)
}

/// Whether setting `role` needs a second admin: promotions to operator or admin do.
pub fn role_needs_approval(role: Role) -> bool {
    matches!(role, Role::Operator | Role::Admin)
}

/// Approvals an action needs in all (the proposer's included).
fn required(state: &AppState, action: &Action) -> usize {
    match action {
        Action::Credit { .. } => usize::try_from(state.settings().kill_switch_approvals).unwrap_or(usize::MAX),
        Action::SetRole { .. } => 2,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalBody {
    pub id: String,
    /// `credit` or `set_role`.
    pub kind: String,
    /// The action: `{"kind":"credit","user_id","amount"}` or `{"kind":"set_role","user_id","role"}`.
    #[schema(value_type = Object)]
    pub action: serde_json::Value,
    pub proposed_by: String,
    /// User ids of those who approved, the proposer first.
    pub approvals: Vec<String>,
    /// Approvals needed in all.
    pub required: usize,
    /// `open`, `applied` or `expired`.
    pub status: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

fn body(state: &AppState, r: &ApprovalRequest) -> Result<ApprovalBody, ApiError> {
    let action: Action = serde_json::from_str(&r.payload)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("approval request {}: {e}", r.id)))?;
    let shown = match &action {
        Action::Credit { user_id, amount_micros } => {
            serde_json::json!({ "kind": "credit", "user_id": user_id, "amount": format_micros(*amount_micros) })
        }
        Action::SetRole { user_id, role } => {
            serde_json::json!({ "kind": "set_role", "user_id": user_id, "role": role })
        }
    };
    Ok(ApprovalBody {
        id: r.id.clone(),
        kind: r.kind.clone(),
        action: shown,
        proposed_by: r.proposed_by.clone(),
        approvals: r.approvals.clone(),
        required: required(state, &action),
        status: r.status.clone(),
        expires_at: format_rfc3339_us(r.expires_at_us),
    })
}

fn entry(actor: &str, action: &str, id: &str, request_id: &str, after: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor: format!("user:{actor}"),
        action: action.to_string(),
        target: Some(format!("approval:{id}")),
        request_id: Some(request_id.to_string()),
        before: None,
        after: Some(after.to_string()),
    }
}

/// Records `action` as waiting for approval, with the proposer's own; audited.
pub async fn propose(
    state: &AppState,
    proposer: &str,
    action: Action,
    request_id: &str,
) -> Result<ApprovalBody, ApiError> {
    let now = now_us();
    let window_us = i64::try_from(state.settings().kill_switch_window.as_micros()).unwrap_or(i64::MAX);
    let request = ApprovalRequest {
        id: new_id(),
        kind: action.kind().to_string(),
        payload: serde_json::to_string(&action).map_err(ApiError::internal)?,
        proposed_by: proposer.to_string(),
        status: "open".to_string(),
        created_at_us: now,
        expires_at_us: now.saturating_add(window_us),
        applied_at_us: None,
        approvals: vec![proposer.to_string()],
    };
    let audit = entry(proposer, "approval.propose", &request.id, request_id, serde_json::json!({ "action": action }));
    audit_log::with_audit(state.db(), |conn| {
        let (request, audit) = (request.clone(), audit.clone());
        Box::pin(async move {
            store::insert_in(conn, &request).await?;
            Ok(((), audit))
        })
    })
    .await?;
    body(state, &request)
}

/// Open requests.
pub async fn open(state: &AppState) -> Result<Vec<ApprovalBody>, ApiError> {
    store::expire_due(state.db(), now_us()).await?;
    store::open(state.db()).await?.iter().map(|r| body(state, r)).collect()
}

/// Adds `approver`'s approval; the last one needed applies the action.
pub async fn approve(
    state: &AppState,
    id: &str,
    approver: &str,
    approver_role: Role,
    request_id: &str,
) -> Result<ApprovalBody, ApiError> {
    let now = now_us();
    let r = store::get(state.db(), id).await?.ok_or_else(|| ApiError::not_found("no such approval request"))?;
    if r.status != "open" {
        return Err(ApiError::conflict(ErrorCode::ApprovalClosed, format!("this request is already {}", r.status)));
    }
    if r.expires_at_us <= now {
        store::expire_due(state.db(), now).await?;
        return Err(ApiError::conflict(
            ErrorCode::ApprovalExpired,
            "this request's window has passed; propose it again",
        ));
    }
    let action: Action = serde_json::from_str(&r.payload).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    if !approver_role.satisfies(action.approver_role()) {
        return Err(ApiError::forbidden(
            ErrorCode::InsufficientRole,
            format!("approving this needs the {} role", action.approver_role().as_str()),
        ));
    }
    if action.beneficiary() == approver {
        return Err(ApiError::forbidden(ErrorCode::OwnRequest, "the user an action benefits may not approve it"));
    }
    let needed = required(state, &action);
    let applied = audit_log::with_audit(state.db(), |conn| {
        let (id, approver, request_id, action) =
            (r.id.clone(), approver.to_string(), request_id.to_string(), action.clone());
        Box::pin(async move {
            if !store::vote_in(&mut *conn, &id, &approver, now).await? {
                return Err(StorageError::Conflict(ALREADY_APPROVED.to_string()));
            }
            let votes = store::get_in(&mut *conn, &id).await?.map_or(0, |r| r.approvals.len());
            let mut effect = serde_json::Value::Null;
            if votes >= needed {
                if !store::close_in(&mut *conn, &id, "applied", Some(now)).await? {
                    return Err(StorageError::Conflict(NO_LONGER_OPEN.to_string()));
                }
                effect = apply_in(conn, &action, &request_id).await?;
            }
            let audit = entry(
                &approver,
                "approval.approve",
                &id,
                &request_id,
                serde_json::json!({
                    "votes": votes, "required": needed, "applied": votes >= needed, "effect": effect,
                }),
            );
            Ok((votes >= needed, audit))
        })
    })
    .await;
    match applied {
        Ok((true, _)) => after_apply(state, &action),
        Ok((false, _)) => {}
        Err(StorageError::Conflict(m)) if m == ALREADY_APPROVED => {
            return Err(ApiError::conflict(
                ErrorCode::AlreadyApproved,
                "you already approved this; another approver must",
            ));
        }
        Err(StorageError::Conflict(m)) if m == NO_LONGER_OPEN => {
            return Err(ApiError::conflict(ErrorCode::ApprovalClosed, "this request was closed meanwhile"));
        }
        Err(StorageError::Invalid(m)) if m.starts_with(kairos_platform::storage::ledger::INSUFFICIENT_FUNDS) => {
            return Err(ApiError::Unprocessable { code: ErrorCode::InsufficientBalance, message: m });
        }
        Err(e) => return Err(e.into()),
    }
    let r = store::get(state.db(), id).await?.ok_or_else(|| ApiError::not_found("no such approval request"))?;
    body(state, &r)
}

const ALREADY_APPROVED: &str = "already approved by this user";
const NO_LONGER_OPEN: &str = "the request is no longer open";

/// The action itself, on the approval's transaction; returns what it did, for the audit entry.
async fn apply_in(
    conn: &mut sqlx::AnyConnection,
    action: &Action,
    request_id: &str,
) -> Result<serde_json::Value, StorageError> {
    match action {
        Action::Credit { user_id, amount_micros } => {
            crate::http::routes::balances::credit_in(conn, user_id, *amount_micros, "credit", request_id).await?;
            Ok(serde_json::json!({ "credited": format_micros(*amount_micros), "user_id": user_id }))
        }
        Action::SetRole { user_id, role } => {
            let role: Role = role.parse().map_err(StorageError::Invalid)?;
            let (before, after, revoked) = crate::http::routes::admin::set_role_in(conn, user_id, role).await?;
            Ok(serde_json::json!({
                "user_id": user_id, "before": before.role.as_str(), "after": after.role.as_str(),
                "revoked_api_keys": revoked,
            }))
        }
    }
}

/// What an applied action changes outside the database: caches and open streams.
fn after_apply(state: &AppState, action: &Action) {
    if let Action::SetRole { user_id, .. } = action {
        state.user_cache().forget(user_id);
        state.credentials_changed(user_id);
    }
}
