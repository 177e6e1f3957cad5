//! Market makers' API keys: create (the secret is shown once), list, revoke.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use kairos_domain::ErrorCode;
use kairos_domain::{Scope, format_rfc3339_us, new_id, now_us, parse_id};
use kairos_platform::storage::StorageError;
use kairos_platform::storage::api_keys::{self, ApiKey};
use kairos_platform::storage::audit_log::{self, AuditEntry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::key_secrets::new_secret;
use crate::access::{Caller, IpRule};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Json, Path};
use crate::http::middleware::RequestId;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeParam {
    Read,
    Trade,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyRequest {
    /// 1 to 64 characters.
    #[schema(min_length = 1, max_length = 64)]
    pub label: String,
    #[schema(min_items = 1, max_items = 2)]
    pub scopes: Vec<ScopeParam>,
    /// Addresses or CIDR blocks the key may be used from (1 to 32); absent = any.
    #[schema(min_items = 1, max_items = 32)]
    pub ip_allowlist: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKeyBody {
    pub key_id: String,
    /// Url-safe base64 of 32 random bytes. Shown once; store it now.
    pub secret: String,
    pub label: String,
    pub scopes: Vec<ScopeParam>,
    pub ip_allowlist: Option<Vec<String>>,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBody {
    pub key_id: String,
    pub label: String,
    pub scopes: Vec<ScopeParam>,
    pub ip_allowlist: Option<Vec<String>>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyBody>,
    /// Always null: every key of the caller is in one page.
    pub next_cursor: Option<String>,
}

fn scope_params(scopes: &str) -> Vec<ScopeParam> {
    scopes
        .split(',')
        .filter_map(|s| match s.parse::<Scope>() {
            Ok(Scope::Read) => Some(ScopeParam::Read),
            Ok(Scope::Trade) => Some(ScopeParam::Trade),
            Err(_) => None,
        })
        .collect()
}

pub fn key_body(k: &ApiKey) -> KeyBody {
    KeyBody {
        key_id: k.id.clone(),
        label: k.label.clone(),
        scopes: scope_params(&k.scopes),
        ip_allowlist: k.ip_allowlist.as_ref().map(|l| l.split(',').map(str::to_string).collect()),
        created_at: format_rfc3339_us(k.created_at_us),
        revoked_at: k.revoked_at_us.map(format_rfc3339_us),
    }
}

/// Makes a key for `user_id`; shared by the route and `kairos-api api-keys create`.
pub async fn create_key(
    state: &AppState,
    user_id: &str,
    label: &str,
    scopes: &[Scope],
    ip_allowlist: Option<&[String]>,
    actor: &str,
    request_id: Option<&str>,
) -> Result<(ApiKey, String), ApiError> {
    if label.is_empty() || label.chars().count() > 64 {
        return Err(ApiError::bad_request(ErrorCode::InvalidLabel, "label must be 1 to 64 characters"));
    }
    if scopes.is_empty() {
        return Err(ApiError::bad_request(ErrorCode::InvalidScopes, "give at least one scope: read, trade"));
    }
    let mut scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    scope_names.sort_unstable();
    scope_names.dedup();
    if let Some(list) = ip_allowlist {
        if list.is_empty() || list.len() > 32 {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidIpAllowlist,
                "ip_allowlist needs 1 to 32 entries (or leave it out)",
            ));
        }
        for entry in list {
            IpRule::parse(entry).map_err(|e| ApiError::bad_request(ErrorCode::InvalidIpAllowlist, e.to_string()))?;
        }
    }
    let id = new_id();
    let (raw, shown) = new_secret();
    let ciphertext = state.master_key().encrypt(&id, &raw).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let key = ApiKey {
        id: id.clone(),
        user_id: user_id.to_string(),
        label: label.to_string(),
        scopes: scope_names.join(","),
        ip_allowlist: ip_allowlist.map(|l| l.iter().map(|s| s.trim().to_string()).collect::<Vec<_>>().join(",")),
        secret_ciphertext: Some(ciphertext),
        created_at_us: now_us(),
        revoked_at_us: None,
    };
    let after = serde_json::json!({ "key_id": id, "user_id": user_id, "label": key.label, "scopes": key.scopes, "ip_allowlist": key.ip_allowlist });
    let entry = AuditEntry {
        actor: actor.to_string(),
        action: "api_key.create".to_string(),
        target: Some(format!("key:{id}")),
        request_id: request_id.map(str::to_string),
        before: None,
        after: Some(after.to_string()),
    };
    let max = i64::from(state.settings().max_api_keys_per_user);
    audit_log::with_audit(state.db(), |conn| {
        let (key, entry) = (key.clone(), entry.clone());
        Box::pin(async move {
            // Counted in the transaction that adds the key (the audit append serialises writers).
            if api_keys::count_live_for_user_in(&mut *conn, &key.user_id).await? >= max {
                return Err(StorageError::Conflict(TOO_MANY_KEYS.to_string()));
            }
            api_keys::insert_in(conn, &key).await?;
            Ok(((), entry))
        })
    })
    .await
    .map_err(|e| match e {
        StorageError::Conflict(m) if m == TOO_MANY_KEYS => ApiError::conflict(
            ErrorCode::TooManyKeys,
            format!("a user holds at most {max} live API keys (KAIROS_API_KEYS__MAX_PER_USER); revoke one first"),
        ),
        other => other.into(),
    })?;
    Ok((key, shown))
}

const TOO_MANY_KEYS: &str = "too many live keys";

/// The key with this id (a path parameter), limited to `owner`'s keys when given: another
/// user's key is as unknown as a missing one.
pub async fn find_key(state: &AppState, id: &str, owner: Option<&str>) -> Result<ApiKey, ApiError> {
    let id = parse_id(id).ok_or_else(|| ApiError::bad_request(ErrorCode::InvalidId, "key id must be a UUID"))?;
    api_keys::get(state.db(), &id)
        .await?
        .filter(|k| owner.is_none_or(|o| k.user_id == o))
        .ok_or_else(|| ApiError::not_found("no such key"))
}

/// Revokes a key; shared by the owner's route and the operators' one.
pub async fn revoke_key(state: &AppState, key: &ApiKey, actor: &str, request_id: &str) -> Result<(), ApiError> {
    let entry = AuditEntry {
        actor: actor.to_string(),
        action: "api_key.revoke".to_string(),
        target: Some(format!("key:{}", key.id)),
        request_id: Some(request_id.to_string()),
        before: Some(serde_json::json!({ "revoked": false }).to_string()),
        after: Some(serde_json::json!({ "revoked": true }).to_string()),
    };
    audit_log::with_audit(state.db(), |conn| {
        let (id, entry) = (key.id.clone(), entry.clone());
        Box::pin(async move {
            if !api_keys::revoke_in(conn, &id, now_us()).await? {
                return Err(StorageError::Conflict("already revoked".to_string()));
            }
            Ok(((), entry))
        })
    })
    .await
    .map_err(|e| match e {
        StorageError::Conflict(_) => ApiError::conflict(ErrorCode::AlreadyRevoked, "this key is already revoked"),
        other => other.into(),
    })?;
    state.key_cache().forget(&key.id);
    state.credentials_changed(&key.user_id);
    Ok(())
}

/// Creates an API key for the signed-in market maker.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKeyBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "`too_many_keys`: at KAIROS_API_KEYS__MAX_PER_USER live keys", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Json(req): Json<CreateKeyRequest>,
) -> Result<(StatusCode, axum::Json<CreatedKeyBody>), ApiError> {
    let scopes: Vec<Scope> = req
        .scopes
        .iter()
        .map(|s| match s {
            ScopeParam::Read => Scope::Read,
            ScopeParam::Trade => Scope::Trade,
        })
        .collect();
    let (key, secret) = create_key(
        &state,
        caller.user_id(),
        &req.label,
        &scopes,
        req.ip_allowlist.as_deref(),
        &caller.actor(),
        Some(&request_id.0),
    )
    .await?;
    let body = key_body(&key);
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedKeyBody {
            key_id: body.key_id,
            secret,
            label: body.label,
            scopes: body.scopes,
            ip_allowlist: body.ip_allowlist,
            created_at: body.created_at,
        }),
    ))
}

/// The caller's keys (secrets are never shown again).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Result<axum::Json<KeyList>, ApiError> {
    let keys = api_keys::list_for_user(state.db(), caller.user_id()).await?;
    Ok(axum::Json(KeyList { data: keys.iter().map(key_body).collect(), next_cursor: None }))
}

/// Revokes one of the caller's keys.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, format = Uuid, description = "Key id")),
    responses((status = 204, description = "Revoked"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Extension(request_id): Extension<RequestId>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let key = find_key(&state, &id, Some(caller.user_id())).await?;
    revoke_key(&state, &key, &caller.actor(), &request_id.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
