//! Operator routes under `/v1/admin`: users and roles, keys, markets, feature flags, the audit
//! log, the kill switch. Every change is audited with its actor and request id.

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kairos_domain::ErrorCode;
use kairos_domain::now_us;
use kairos_domain::{MarketStatus, Role, format_rfc3339_us, parse_id};
use kairos_platform::storage::audit_log::{self, AuditEntry, AuditRecord};
use kairos_platform::storage::{StorageError, api_keys, markets, refresh_tokens, settings, users};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::Caller;
use crate::access::approvals::{self, ApprovalBody};
use crate::access::kill_switch::{self, KillSwitchBody, ProposalBody, TradingStateParam};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path, Query};
use crate::http::middleware::RequestId;
use crate::http::routes::paging::page_limit;
use crate::runtime_settings::FLAG_PREFIX;
use crate::state::AppState;
use crate::trading::market_view::MarketBody;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleParam {
    User,
    MarketMaker,
    Keeper,
    Operator,
    Admin,
}

impl From<RoleParam> for Role {
    fn from(r: RoleParam) -> Role {
        match r {
            RoleParam::User => Role::User,
            RoleParam::MarketMaker => Role::MarketMaker,
            RoleParam::Keeper => Role::Keeper,
            RoleParam::Operator => Role::Operator,
            RoleParam::Admin => Role::Admin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: String,
    pub wallet: String,
    pub role: String,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub data: Vec<UserBody>,
    pub next_cursor: Option<String>,
}

fn user_body(u: &users::User) -> UserBody {
    UserBody {
        id: u.id.clone(),
        wallet: u.wallet.clone(),
        role: u.role.as_str().to_string(),
        status: u.status.clone(),
        created_at: format_rfc3339_us(u.created_at_us),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    pub role: Option<RoleParam>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Users, oldest first.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", params(UsersQuery),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    Query(q): Query<UsersQuery>,
) -> Result<axum::Json<UserList>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        Some(c) => Some(parse_id(c).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidCursor, "cursor is not a next_cursor this API returned")
        })?),
        None => None,
    };
    let mut rows = users::list(state.db(), q.role.map(Role::from), after.as_deref(), limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { rows.last().map(|u| u.id.clone()) } else { None };
    Ok(axum::Json(UserList { data: rows.iter().map(user_body).collect(), next_cursor }))
}

/// One user.
#[utoipa::path(get, path = "/v1/admin/users/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_user(State(state): State<AppState>, Path(id): Path<String>) -> Result<axum::Json<UserBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "user id must be a UUID"))?;
    let user = users::get(state.db(), &id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(axum::Json(user_body(&user)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    pub role: RoleParam,
}

/// Sets a user's role (admins only). A demotion applies at once; a promotion to operator or
/// admin waits for a second admin (202 with the approval request; `POST
/// /v1/admin/approvals/{id}/approve`). When applied, the user's sessions end, and a role that
/// may not hold API keys revokes their keys, audited with the change; it takes effect at the
/// user's next request.
#[utoipa::path(put, path = "/v1/admin/users/{id}/role", tag = "admin", request_body = SetRoleRequest,
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Applied", body = UserBody),
        (status = 202, description = "A promotion: waits for a second admin", body = ApprovalBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
    Json(req): Json<SetRoleRequest>,
) -> Result<axum::response::Response, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "user id must be a UUID"))?;
    let role: Role = req.role.into();
    users::get(state.db(), &id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    if approvals::role_needs_approval(role) {
        let action = approvals::Action::SetRole { user_id: id, role: role.as_str().to_string() };
        let pending = approvals::propose(&state, caller.user_id(), action, &request_id.0).await?;
        return Ok((StatusCode::ACCEPTED, axum::Json(pending)).into_response());
    }
    let actor = caller.actor();
    // The role change, the end of the user's sessions, the keys it may not keep and the audit
    // entry are one transaction.
    let ((after, revoked_keys), _) = audit_log::with_audit(state.db(), |conn| {
        let (id, actor, request_id) = (id.clone(), actor.clone(), request_id.0.clone());
        Box::pin(async move {
            let (before, after, revoked_keys) = set_role_in(conn, &id, role).await?;
            let entry = AuditEntry {
                actor,
                action: "user.set_role".to_string(),
                target: Some(format!("user:{id}")),
                request_id: Some(request_id),
                before: Some(serde_json::json!({ "role": before.role.as_str() }).to_string()),
                after: Some(
                    serde_json::json!({ "role": after.role.as_str(), "revoked_api_keys": revoked_keys }).to_string(),
                ),
            };
            Ok(((after, revoked_keys), entry))
        })
    })
    .await
    .map_err(|e| match e {
        StorageError::NotFound(_) => ApiError::not_found("no such user"),
        other => other.into(),
    })?;
    state.user_cache().forget(&id);
    for key in &revoked_keys {
        state.key_cache().forget(key);
    }
    state.credentials_changed(&id);
    Ok(axum::Json(user_body(&after)).into_response())
}

/// A role change on the caller's transaction: the role, the end of the user's sessions, and
/// the API keys the new role may not hold (their ids returned).
pub async fn set_role_in(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    role: Role,
) -> Result<(users::User, users::User, Vec<String>), StorageError> {
    let (before, after) =
        users::set_role_in(&mut *conn, id, role).await?.ok_or_else(|| StorageError::NotFound(format!("user {id}")))?;
    refresh_tokens::revoke_all_for_user_in(&mut *conn, id, now_us()).await?;
    let revoked_keys = if crate::access::may_hold_keys(after.role) {
        Vec::new()
    } else {
        api_keys::revoke_all_for_user_in(conn, id, now_us()).await?
    };
    Ok((before, after, revoked_keys))
}

/// Revokes any user's API key.
#[utoipa::path(delete, path = "/v1/admin/api-keys/{id}", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = super::api_keys::find_key(&state, &id, None).await?;
    super::api_keys::revoke_key(&state, &key, &caller.actor(), &request_id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn set_market_status(
    state: &AppState,
    caller: &crate::access::Principal,
    request_id: &str,
    id: &str,
    status: MarketStatus,
) -> Result<axum::Json<MarketBody>, ApiError> {
    let id = parse_id(id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "market id must be a UUID"))?;
    let current = markets::get(state.db(), &id).await?.ok_or_else(|| ApiError::not_found("no such market"))?;
    let allowed_from = match status {
        MarketStatus::Suspended => MarketStatus::Open,
        _ => MarketStatus::Suspended,
    };
    if current.status != allowed_from {
        return Err(ApiError::conflict(
            ErrorCode::InvalidMarketStatus,
            format!(
                "market is {}; only a {} market can become {}",
                current.status.as_str(),
                allowed_from.as_str(),
                status.as_str()
            ),
        ));
    }
    let action = if status == MarketStatus::Suspended { "market.suspend" } else { "market.resume" };
    let actor = caller.actor();
    let (after, _) = audit_log::with_audit(state.db(), |conn| {
        let (id, actor, request_id) = (id.clone(), actor.clone(), request_id.to_string());
        Box::pin(async move {
            let (before, after) = markets::set_status_in(conn, &id, allowed_from, status)
                .await?
                .ok_or_else(|| StorageError::Conflict("status changed".to_string()))?;
            let entry = AuditEntry {
                actor,
                action: action.to_string(),
                target: Some(format!("market:{id}")),
                request_id: Some(request_id),
                before: Some(serde_json::json!({ "status": before.status.as_str() }).to_string()),
                after: Some(serde_json::json!({ "status": after.status.as_str() }).to_string()),
            };
            Ok((after, entry))
        })
    })
    .await
    .map_err(|e| match e {
        StorageError::Conflict(_) => {
            ApiError::conflict(ErrorCode::InvalidMarketStatus, "the market's status changed meanwhile; read it again")
        }
        other => other.into(),
    })?;
    Ok(axum::Json(MarketBody::from(&after)))
}

/// Suspends an open market: no new orders, cancels allowed.
#[utoipa::path(post, path = "/v1/admin/markets/{id}/suspend", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MarketBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn suspend_market(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<axum::Json<MarketBody>, ApiError> {
    set_market_status(&state, &caller, &request_id.0, &id, MarketStatus::Suspended).await
}

/// Resumes a suspended market.
#[utoipa::path(post, path = "/v1/admin/markets/{id}/resume", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MarketBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume_market(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<axum::Json<MarketBody>, ApiError> {
    set_market_status(&state, &caller, &request_id.0, &id, MarketStatus::Open).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FlagRequest {
    pub enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagBody {
    pub name: String,
    pub enabled: bool,
}

/// Sets a feature flag (every instance sees it within a second).
#[utoipa::path(put, path = "/v1/admin/flags/{name}", tag = "admin", request_body = FlagRequest,
    params(("name" = String, Path, pattern = "^[a-z0-9_.-]{1,64}$")),
    responses((status = 200, body = FlagBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_flag(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(name): Path<String>,
    Json(req): Json<FlagRequest>,
) -> Result<axum::Json<FlagBody>, ApiError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-'));
    if !valid {
        return Err(ApiError::bad_request(ErrorCode::InvalidFlag, "flag names are 1 to 64 of a-z, 0-9, _, . and -"));
    }
    let key = format!("{FLAG_PREFIX}{name}");
    let enabled = req.enabled;
    let actor = caller.actor();
    audit_log::with_audit(state.db(), |conn| {
        let (key, name, actor, request_id) = (key.clone(), name.clone(), actor.clone(), request_id.0.clone());
        Box::pin(async move {
            let before = settings::get_in(&mut *conn, &key).await?;
            settings::put_in(conn, &key, if enabled { "true" } else { "false" }).await?;
            let entry = AuditEntry {
                actor,
                action: "flag.set".to_string(),
                target: Some(format!("flag:{name}")),
                request_id: Some(request_id),
                before: before.map(|b| serde_json::json!({ "enabled": b == "true" }).to_string()),
                after: Some(serde_json::json!({ "enabled": enabled }).to_string()),
            };
            Ok(((), entry))
        })
    })
    .await?;
    crate::runtime_settings::announce_change(state.runtime(), state.db(), state.redis()).await?;
    Ok(axum::Json(FlagBody { name, enabled: req.enabled }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Exact actor, e.g. `user:<id>`.
    pub actor: Option<String>,
    /// Exact action, e.g. `auth.login`.
    pub action: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRow {
    pub seq: i64,
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub request_id: Option<String>,
    /// JSON text of the state before, where it applies.
    pub before: Option<String>,
    pub after: Option<String>,
    pub created_at: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub data: Vec<AuditRow>,
    pub next_cursor: Option<String>,
}

fn audit_row(r: AuditRecord) -> AuditRow {
    AuditRow {
        seq: r.seq,
        id: r.id,
        actor: r.entry.actor,
        action: r.entry.action,
        target: r.entry.target,
        request_id: r.entry.request_id,
        before: r.entry.before,
        after: r.entry.after,
        created_at: format_rfc3339_us(r.created_at_us),
        prev_hash: r.prev_hash,
        hash: r.hash,
    }
}

fn after_seq(cursor: Option<&str>) -> Result<i64, ApiError> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request(ErrorCode::InvalidCursor, "cursor is not a next_cursor this API returned")
        }),
    }
}

/// The audit log, oldest first, filtered.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = after_seq(q.cursor.as_deref())?;
    let mut rows = audit_log::list(state.db(), q.actor.as_deref(), q.action.as_deref(), after, limit + 1).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { rows.last().map(|r| r.seq.to_string()) } else { None };
    Ok(axum::Json(AuditPage { data: rows.into_iter().map(audit_row).collect(), next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// The whole (filtered) audit log as JSON lines, one row a line.
#[utoipa::path(get, path = "/v1/admin/audit/export", tag = "admin", params(ExportQuery),
    responses((status = 200, description = "JSON lines of AuditRow", content_type = "application/x-ndjson", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export_audit(State(state): State<AppState>, Query(q): Query<ExportQuery>) -> Result<Response, ApiError> {
    // Streamed a page at a time, so a seven-year log never sits in memory. A database error
    // mid-stream ends the body early (the client sees a truncated transfer) and is logged.
    let db = state.db().clone();
    let pages = futures_util::stream::unfold(Some(0i64), move |after| {
        let (db, actor, action) = (db.clone(), q.actor.clone(), q.action.clone());
        async move {
            let after = after?;
            match audit_log::list(&db, actor.as_deref(), action.as_deref(), after, 1_000).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let last = rows.last().map_or(after, |r| r.seq);
                    let mut chunk = String::new();
                    for r in rows {
                        match serde_json::to_string(&audit_row(r)) {
                            Ok(line) => chunk.push_str(&line),
                            Err(e) => return Some((Err(std::io::Error::other(e)), None)),
                        }
                        chunk.push('\n');
                    }
                    Some((Ok(axum::body::Bytes::from(chunk)), Some(last)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    // Fused: body layers may poll once more after the end, which a bare unfold forbids.
    let pages = futures_util::StreamExt::fuse(pages);
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], axum::body::Body::from_stream(pages)).into_response())
}

/// The trading state and the open proposals.
#[utoipa::path(get, path = "/v1/admin/kill-switch", tag = "admin",
    responses((status = 200, body = KillSwitchBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn kill_switch_state(State(state): State<AppState>) -> Result<axum::Json<KillSwitchBody>, ApiError> {
    Ok(axum::Json(kill_switch::current(&state).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProposeRequest {
    pub state: TradingStateParam,
}

/// Proposes a trading state. `disabled` applies at once; anything else needs M approvals.
#[utoipa::path(post, path = "/v1/admin/kill-switch/proposals", tag = "admin", request_body = ProposeRequest,
    responses((status = 201, body = ProposalBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn propose(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<ProposeRequest>,
) -> Result<(StatusCode, axum::Json<ProposalBody>), ApiError> {
    let body = kill_switch::propose(&state, caller.user_id(), req.state.into(), &request_id.0).await?;
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// Approves a proposal (by an operator other than those who approved already).
#[utoipa::path(post, path = "/v1/admin/kill-switch/proposals/{id}/approve", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ProposalBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<axum::Json<ProposalBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "proposal id must be a UUID"))?;
    Ok(axum::Json(kill_switch::approve(&state, &id, caller.user_id(), &request_id.0).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreditRequest {
    pub user_id: String,
    /// Decimal string in collateral units.
    #[schema(example = "1000")]
    pub amount: String,
}

/// Credits a user's collateral (a deposit into the paper venue), audited. A credit above
/// `KAIROS_CREDIT__APPROVAL_ABOVE`, or to the caller's own account, waits for
/// `KAIROS_KILL_SWITCH__APPROVALS` operators in all (202 with the approval request).
#[utoipa::path(post, path = "/v1/admin/credit", tag = "admin", request_body = CreditRequest,
    responses((status = 200, description = "Credited", body = crate::http::routes::balances::BalancesBody),
        (status = 202, description = "Waits for other operators' approval", body = ApprovalBody),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn credit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<CreditRequest>,
) -> Result<axum::response::Response, ApiError> {
    use crate::http::routes::balances;
    let user_id =
        parse_id(&req.user_id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "user_id must be a UUID"))?;
    users::get(state.db(), &user_id).await?.ok_or_else(|| ApiError::not_found("no such user"))?;
    let micros = balances::amount(&req.amount, 1_000_000_000 * 1_000_000)?;
    if approvals::credit_needs_approval(&state, caller.user_id(), &user_id, micros) {
        let action = approvals::Action::Credit { user_id, amount_micros: micros };
        let pending = approvals::propose(&state, caller.user_id(), action, &request_id.0).await?;
        return Ok((StatusCode::ACCEPTED, axum::Json(pending)).into_response());
    }
    balances::credit(&state, &user_id, micros, "credit", &caller.actor(), &request_id.0).await?;
    Ok(axum::Json(balances::balances_of(&state, &user_id).await?).into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalList {
    pub data: Vec<ApprovalBody>,
}

/// Requests waiting for approval (credits, promotions).
#[utoipa::path(get, path = "/v1/admin/approvals", tag = "admin",
    responses((status = 200, body = ApprovalList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_approvals(State(state): State<AppState>) -> Result<axum::Json<ApprovalList>, ApiError> {
    Ok(axum::Json(ApprovalList { data: approvals::open(&state).await? }))
}

/// Approves a waiting request; the last approval needed applies it. Credits need operators,
/// promotions admins; nobody approves their own request twice or an action for themselves.
#[utoipa::path(post, path = "/v1/admin/approvals/{id}/approve", tag = "admin",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = ApprovalBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn approve_request(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<axum::Json<ApprovalBody>, ApiError> {
    let id = parse_id(&id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "approval id must be a UUID"))?;
    Ok(axum::Json(approvals::approve(&state, &id, caller.user_id(), caller.role(), &request_id.0).await?))
}
