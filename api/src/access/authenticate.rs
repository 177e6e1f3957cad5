//! Finding the caller: bearer tokens, signed requests (with their freshness and replay checks),
//! and the re-check that long-lived connections run.

use kairos_domain::ErrorCode;
use std::net::IpAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use kairos_domain::now_us;

use super::caches::*;
use super::principal::*;
use super::*;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Extra time a seen signature is remembered beyond twice the freshness window.
pub(crate) const REPLAY_MARGIN: Duration = Duration::from_secs(2);

/// What authentication found: a principal, an error to answer if the route needs one, or
/// nothing at all.
pub(crate) enum Authenticated {
    Principal(Principal),
    Failed(ApiError),
    /// The request cannot go on whatever the route: its body was too large or unreadable.
    Rejected(ApiError),
    Anonymous,
}

/// Whether a key may be used now: not revoked, its owner active and in a role that may hold
/// keys (a role change revokes the keys the new role may not hold; this is the same rule, read
/// at every request, for a key that outlived its owner's role by any other path).
pub(crate) fn key_usable(key: &CachedKey) -> Result<(), ApiError> {
    if key.revoked {
        return Err(ApiError::unauthorized(ErrorCode::RevokedKey, "this API key was revoked"));
    }
    if !key.user_active {
        return Err(ApiError::unauthorized(ErrorCode::SuspendedUser, "the key's owner is suspended"));
    }
    if !may_hold_keys(key.role) {
        return Err(ApiError::unauthorized(
            ErrorCode::KeyOwnerRole,
            "the key's owner no longer holds a role that may use API keys",
        ));
    }
    Ok(())
}

/// Whether a principal authenticated earlier is still what it was: the key live, its owner
/// active and allowed keys; the user active and in the same role. Long-lived connections (the
/// websocket) ask this on an interval and whenever the user's credentials change.
pub async fn recheck(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    match principal {
        Principal::Key { key_id, .. } => {
            let key = state
                .key_cache()
                .get(state.db(), state.master_key(), key_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized(ErrorCode::UnknownKey, "no such API key"))?;
            key_usable(&key)?;
        }
        Principal::User { user_id, role, .. } => {
            let (current, status) = state
                .user_cache()
                .get(state.db(), user_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized(ErrorCode::UnknownUser, "the token's user does not exist"))?;
            if status != "active" {
                return Err(ApiError::unauthorized(ErrorCode::SuspendedUser, "this account is suspended"));
            }
            if current != *role {
                return Err(ApiError::unauthorized(
                    ErrorCode::RoleChanged,
                    "this account's role changed; sign in again",
                ));
            }
        }
    }
    Ok(())
}

/// Whether the request offers a token or any signed-request header.
pub(crate) fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(axum::http::header::AUTHORIZATION)
        || [signed_request::KEY_HEADER, signed_request::TIMESTAMP_HEADER, signed_request::SIGNATURE_HEADER]
            .iter()
            .any(|h| headers.contains_key(*h))
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// Verifies a bearer token. The token proves who the caller is; what they may do comes from
/// their current role and status (cached for [`KEY_CACHE_TTL`]), so a demotion or a
/// suspension takes effect within a second, not when the token expires.
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let (claims, _) = state.jwt().verify(token).map_err(|e| ApiError::unauthorized(e.code(), e.message()))?;
    let user = state
        .user_cache()
        .get(state.db(), &claims.sub)
        .await?
        .ok_or_else(|| ApiError::unauthorized(ErrorCode::UnknownUser, "the token's user does not exist"))?;
    if user.1 != "active" {
        return Err(ApiError::unauthorized(ErrorCode::SuspendedUser, "this account is suspended"));
    }
    Ok(Principal::User { user_id: claims.sub, role: user.0, expires_at_s: claims.exp })
}

pub(crate) async fn authenticate(state: &AppState, req: Request, client: Option<IpAddr>) -> (Authenticated, Request) {
    if let Some(token) = bearer(req.headers()) {
        let result = match authenticate_token(state, token).await {
            Ok(p) => Authenticated::Principal(p),
            Err(e) => Authenticated::Failed(e),
        };
        return (result, req);
    }
    let signed = [signed_request::KEY_HEADER, signed_request::TIMESTAMP_HEADER, signed_request::SIGNATURE_HEADER];
    let present = signed.iter().filter(|h| req.headers().contains_key(**h)).count();
    match present {
        0 => (Authenticated::Anonymous, req),
        3 => {
            let (parts, body) = req.into_parts();
            let limit = state.settings().body_limit_bytes;
            let bytes = match axum::body::to_bytes(body, limit).await {
                Ok(b) => b,
                Err(_) => {
                    return (
                        Authenticated::Rejected(ApiError::PayloadTooLarge),
                        Request::from_parts(parts, Body::empty()),
                    );
                }
            };
            let result = verify_signed(state, &parts, &bytes, client).await;
            let req = Request::from_parts(parts, Body::from(bytes));
            match result {
                Ok(p) => (Authenticated::Principal(p), req),
                Err(e) => (Authenticated::Failed(e), req),
            }
        }
        _ => (
            Authenticated::Failed(ApiError::unauthorized(
                ErrorCode::IncompleteSignatureHeaders,
                "a signed request needs KAIROS-KEY, KAIROS-TIMESTAMP and KAIROS-SIGNATURE",
            )),
            req,
        ),
    }
}

pub(crate) async fn verify_signed(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    client: Option<IpAddr>,
) -> Result<Principal, ApiError> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key_id = header(signed_request::KEY_HEADER);
    let timestamp = header(signed_request::TIMESTAMP_HEADER);
    let signature = header(signed_request::SIGNATURE_HEADER);
    let ts: i64 = timestamp.parse().map_err(|_| {
        ApiError::unauthorized(ErrorCode::InvalidTimestamp, "KAIROS-TIMESTAMP must be Unix milliseconds")
    })?;
    let window = state.settings().signature_window;
    if !signed_request::fresh(ts, now_us() / 1_000, window) {
        return Err(ApiError::unauthorized(
            ErrorCode::StaleTimestamp,
            format!("KAIROS-TIMESTAMP is more than {} ms from the server clock (see GET /v1/time)", window.as_millis()),
        ));
    }
    if kairos_domain::parse_id(key_id).is_none() {
        return Err(ApiError::unauthorized(ErrorCode::UnknownKey, "no such API key"));
    }
    let key = state
        .key_cache()
        .get(state.db(), state.master_key(), key_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized(ErrorCode::UnknownKey, "no such API key"))?;
    let path = parts.uri.path_and_query().map_or(parts.uri.path(), |pq| pq.as_str());
    // The signature is checked before the key's state is told, so nobody without the secret
    // learns whether a key was revoked.
    let forms = signed_request::accepted_forms(state.settings().signature_legacy_form);
    if !signed_request::verify(&key.secret, forms, timestamp, parts.method.as_str(), path, body, signature) {
        if !key.revoked {
            // Audited for live keys, counted per key and minute (see `failed_signatures`);
            // failures also count against the caller's auth budget.
            let target = format!("{} {}", parts.method, parts.uri.path());
            let request_id = parts.extensions.get::<crate::http::middleware::RequestId>().map(|r| r.0.clone());
            let minute = now_us() / 60_000_000;
            if let Some(entry) = state.failed_signatures().record(key_id, minute, &target, client, request_id) {
                kairos_platform::storage::audit_log::append(state.db(), &entry).await?;
            }
        }
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidSignature,
            "KAIROS-SIGNATURE does not match timestamp \\n METHOD \\n path-with-query \\n body for this key",
        ));
    }
    key_usable(&key)?;
    // Remembered past twice the freshness window with a margin for clock steps, so a
    // signature cannot be replayed at the window's edge.
    if !signed_request::first_use(state.local_replay_guard(), state.redis(), signature, window * 2 + REPLAY_MARGIN)
        .await
    {
        return Err(ApiError::unauthorized(ErrorCode::ReplayedSignature, "this signature was already used"));
    }
    if let Some(allow) = &key.allow {
        let permitted = client.is_some_and(|ip| allow.iter().any(|r| r.contains(ip)));
        if !permitted {
            return Err(ApiError::forbidden(ErrorCode::IpNotAllowed, "this key may not be used from this address"));
        }
    }
    Ok(Principal::Key { key_id: key_id.to_string(), user_id: key.user_id, role: key.role, scopes: key.scopes })
}

/// Why authentication failed, for a self-authenticating route (the websocket) to report.
#[derive(Debug, Clone, Copy)]
pub struct AuthFailure(pub ErrorCode);
