//! Who is calling: an authenticated [`Principal`], and the [`Caller`] extractor handlers take.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use kairos_domain::ErrorCode;
use kairos_domain::{Role, Scope};
use kairos_platform::config::PrincipalKind;

use crate::http::error::ApiError;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A user signed in with a wallet (JWT).
    User { user_id: String, role: Role, expires_at_s: i64 },
    /// A market maker's API key (signed request); acts with its owner's role, within its scopes.
    Key { key_id: String, user_id: String, role: Role, scopes: Vec<Scope> },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::User { role, .. } | Principal::Key { role, .. } => *role,
        }
    }

    pub fn user_id(&self) -> &str {
        match self {
            Principal::User { user_id, .. } | Principal::Key { user_id, .. } => user_id,
        }
    }

    pub fn kind(&self) -> PrincipalKind {
        match self {
            Principal::User { .. } => PrincipalKind::User,
            Principal::Key { .. } => PrincipalKind::Key,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { user_id, .. } => format!("user:{user_id}"),
            Principal::Key { key_id, .. } => format!("key:{key_id}"),
        }
    }

    /// The key its rate budgets are counted under.
    pub fn rate_key(&self) -> String {
        match self {
            Principal::User { user_id, .. } => user_id.clone(),
            Principal::Key { key_id, .. } => key_id.clone(),
        }
    }
}

/// The authenticated caller of a route whose rule requires one. Taking it in a handler of a
/// public route is a bug: it answers 401.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().map(Caller).ok_or_else(|| {
            ApiError::unauthorized(ErrorCode::MissingCredentials, "this route needs a bearer token or a signed request")
        })
    }
}

/// Whether a user with `role` may hold API keys (the role that creates them, or above it).
pub fn may_hold_keys(role: Role) -> bool {
    role.satisfies(Role::MarketMaker)
}
