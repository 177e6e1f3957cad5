//! Wallet sign-in and sessions: challenge, login, refresh-token rotation with reuse detection,
//! logout. Plain functions over [`AppState`]; the handlers only parse and answer.

use base64::Engine as _;
use kairos_domain::ErrorCode;
use kairos_domain::{Role, format_rfc3339_us, now_us};
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::auth_challenges::{self, Challenge};
use kairos_platform::storage::{refresh_tokens, users};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use super::jwt::ACCESS_TOKEN_TTL_SECS;
use super::wallet::{self, CHALLENGE_TTL_SECS};
use crate::http::error::ApiError;
use crate::state::AppState;

/// Refresh-token lifetime.
pub const REFRESH_TOKEN_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChallengeBody {
    /// The exact text to sign with the wallet.
    pub message: String,
    pub nonce: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenBody {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Base58 Solana address.
    #[schema(pattern = "^[1-9A-HJ-NP-Za-km-z]{32,44}$")]
    pub wallet: String,
    /// The challenge message, exactly as issued.
    pub message: String,
    /// Base58 ed25519 signature of the message.
    #[schema(pattern = "^[1-9A-HJ-NP-Za-km-z]{64,88}$")]
    pub signature: String,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn audit(
    state: &AppState,
    actor: String,
    action: &str,
    target: Option<String>,
    request_id: &str,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        actor,
        action: action.to_string(),
        target,
        request_id: Some(request_id.to_string()),
        before: None,
        after: None,
    };
    audit_log::append(state.db(), &entry).await?;
    Ok(())
}

pub async fn challenge(state: &AppState, wallet_address: &str) -> Result<ChallengeBody, ApiError> {
    wallet::parse_wallet(wallet_address).map_err(|m| ApiError::bad_request(ErrorCode::InvalidWallet, m))?;
    let now = now_us();
    let expires_at_us = now + CHALLENGE_TTL_SECS * 1_000_000;
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    let nonce = hex::encode(nonce);
    let expires_at = format_rfc3339_us(expires_at_us);
    let message = wallet::challenge_message(wallet_address, &nonce, &format_rfc3339_us(now), &expires_at);
    let c =
        Challenge { nonce: nonce.clone(), wallet: wallet_address.to_string(), message: message.clone(), expires_at_us };
    auth_challenges::insert(state.db(), &c, now).await?;
    Ok(ChallengeBody { message, nonce, expires_at })
}

pub async fn login(state: &AppState, req: &LoginRequest, request_id: &str) -> Result<TokenBody, ApiError> {
    let key = wallet::parse_wallet(&req.wallet).map_err(|m| ApiError::bad_request(ErrorCode::InvalidWallet, m))?;
    let signature = wallet::parse_signature(&req.signature)
        .map_err(|m| ApiError::bad_request(ErrorCode::InvalidSignatureFormat, m))?;
    let invalid =
        || ApiError::unauthorized(ErrorCode::InvalidChallenge, "the message is not a challenge issued to this wallet");
    let nonce = wallet::nonce_of(&req.message).ok_or_else(invalid)?;
    let (challenge, used) = auth_challenges::get(state.db(), nonce).await?.ok_or_else(invalid)?;
    if challenge.wallet != req.wallet || challenge.message != req.message {
        return Err(invalid());
    }
    let now = now_us();
    if used.is_some() {
        return Err(ApiError::unauthorized(
            ErrorCode::ChallengeUsed,
            "this challenge was already used; ask for a new one",
        ));
    }
    if challenge.expires_at_us <= now {
        return Err(ApiError::unauthorized(
            ErrorCode::ChallengeExpired,
            "this challenge has expired; ask for a new one",
        ));
    }
    if !wallet::verify(&key, &req.message, &signature) {
        audit(state, format!("wallet:{}", req.wallet), "auth.failed_signature", None, request_id).await?;
        return Err(ApiError::unauthorized(
            ErrorCode::InvalidSignature,
            "the signature does not verify for this wallet and message",
        ));
    }
    if !auth_challenges::consume(state.db(), nonce, now).await? {
        return Err(ApiError::unauthorized(
            ErrorCode::ChallengeUsed,
            "this challenge was already used; ask for a new one",
        ));
    }
    let (user, created) = users::get_or_create_by_wallet(state.db(), &req.wallet, Role::User).await?;
    if created {
        audit(state, format!("user:{}", user.id), "user.create", Some(format!("user:{}", user.id)), request_id).await?;
    }
    if user.status != "active" {
        return Err(ApiError::forbidden(ErrorCode::SuspendedUser, "this account is suspended"));
    }
    let body = issue(state, &user.id, user.role, &uuid::Uuid::now_v7().to_string()).await?;
    audit(state, format!("user:{}", user.id), "auth.login", None, request_id).await?;
    Ok(body)
}

/// A fresh access token and a refresh token in `family_id`.
async fn issue(state: &AppState, user_id: &str, role: Role, family_id: &str) -> Result<TokenBody, ApiError> {
    let now = now_us();
    let (access_token, _) = state.jwt().issue(user_id, role, now / 1_000_000).map_err(ApiError::internal)?;
    let refresh_token = random_token(32);
    refresh_tokens::insert(
        state.db(),
        &uuid::Uuid::now_v7().to_string(),
        family_id,
        user_id,
        &token_hash(&refresh_token),
        now,
        now + REFRESH_TOKEN_TTL_SECS * 1_000_000,
    )
    .await?;
    Ok(TokenBody { access_token, refresh_token, token_type: "Bearer".to_string(), expires_in: ACCESS_TOKEN_TTL_SECS })
}

/// Rotates a refresh token. Presenting a token that was already rotated means it leaked: the
/// whole family is revoked and the event audited.
pub async fn refresh(state: &AppState, token: &str, request_id: &str) -> Result<TokenBody, ApiError> {
    let invalid = || ApiError::unauthorized(ErrorCode::InvalidRefreshToken, "unknown refresh token");
    let stored = refresh_tokens::by_hash(state.db(), &token_hash(token)).await?.ok_or_else(invalid)?;
    let now = now_us();
    if stored.revoked_at_us.is_some() {
        return Err(ApiError::unauthorized(ErrorCode::RefreshTokenRevoked, "this session was revoked; sign in again"));
    }
    let reused = stored.rotated_at_us.is_some() || !refresh_tokens::mark_rotated(state.db(), &stored.id, now).await?;
    if reused {
        revoke_session(state, &stored, "auth.refresh_reuse", request_id).await?;
        return Err(ApiError::unauthorized(
            ErrorCode::RefreshTokenReused,
            "this refresh token was already used; the session is revoked, sign in again",
        ));
    }
    if stored.expires_at_us <= now {
        return Err(ApiError::unauthorized(ErrorCode::RefreshTokenExpired, "this session has expired; sign in again"));
    }
    let user = users::get(state.db(), &stored.user_id).await?.ok_or_else(invalid)?;
    if user.status != "active" {
        return Err(ApiError::forbidden(ErrorCode::SuspendedUser, "this account is suspended"));
    }
    issue(state, &user.id, user.role, &stored.family_id).await
}

/// Revokes the session the refresh token belongs to.
pub async fn logout(state: &AppState, token: &str, request_id: &str) -> Result<(), ApiError> {
    let stored = refresh_tokens::by_hash(state.db(), &token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized(ErrorCode::InvalidRefreshToken, "unknown refresh token"))?;
    revoke_session(state, &stored, "auth.logout", request_id).await
}

/// Revokes a session and records why, in one transaction.
async fn revoke_session(
    state: &AppState,
    stored: &refresh_tokens::RefreshToken,
    action: &str,
    request_id: &str,
) -> Result<(), ApiError> {
    let entry = AuditEntry {
        actor: format!("user:{}", stored.user_id),
        action: action.to_string(),
        target: Some(format!("session:{}", stored.family_id)),
        request_id: Some(request_id.to_string()),
        before: None,
        after: None,
    };
    let family = stored.family_id.clone();
    audit_log::with_audit(state.db(), |conn| {
        let (family, entry) = (family.clone(), entry.clone());
        Box::pin(async move {
            refresh_tokens::revoke_family_in(conn, &family, now_us()).await?;
            Ok(((), entry))
        })
    })
    .await?;
    Ok(())
}

/// Issues an access token without a wallet signature: the bootstrap CLI (`users create`).
pub fn bootstrap_token(state_jwt: &super::jwt::Keys, user_id: &str, role: Role) -> Result<String, String> {
    state_jwt.issue(user_id, role, now_us() / 1_000_000).map(|(t, _)| t).map_err(|e| e.to_string())
}
