//! Applying the route's rule: [`authorize`] a principal against an [`Access`], spend the rate
//! limit, and the middleware that does both for every request.

use kairos_domain::ErrorCode;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kairos_platform::config::{PrincipalKind, RateClass};

use super::authenticate::*;
use super::principal::*;
use super::*;
use crate::http::error::ApiError;
use crate::state::AppState;

/// Spends one request of `class` from the principal's own budget and from its account's (all of
/// one user's tokens and keys together, so keys never multiply a user's budget); the answer
/// is the tighter of the two.
pub async fn spend(state: &AppState, principal: &Principal, class: RateClass) -> rate_limit::Decision {
    let own = state.limiter().check(class, principal.kind(), &principal.rate_key()).await;
    if !own.allowed {
        return own;
    }
    let account = state.limiter().check(class, PrincipalKind::Account, principal.user_id()).await;
    if !account.allowed || account.remaining < own.remaining { account } else { own }
}

/// Whether `principal` meets `access`; the error says why not.
pub fn authorize(access: Access, principal: &Principal) -> Result<(), ApiError> {
    let (role, key_scope) = match access {
        Access::Public | Access::SelfAuthenticated => return Ok(()),
        Access::Role(role) => (role, None),
        Access::RoleOrKey(role, scope) => (role, Some(scope)),
    };
    if let Principal::Key { scopes, .. } = principal {
        match key_scope {
            None => {
                return Err(ApiError::forbidden(
                    ErrorCode::KeysNotAllowed,
                    "this route needs a signed-in user, not an API key",
                ));
            }
            Some(scope) if !scopes.contains(&scope) => {
                return Err(ApiError::forbidden(
                    ErrorCode::InsufficientScope,
                    format!("this route needs an API key with the {} scope", scope.as_str()),
                ));
            }
            Some(_) => {}
        }
    }
    if !principal.role().satisfies(role) {
        return Err(ApiError::forbidden(
            ErrorCode::InsufficientRole,
            format!("this route needs the {} role", role.as_str()),
        ));
    }
    Ok(())
}

/// The access middleware: authenticate, enforce the route's rule, count the rate limit, and
/// add `RateLimit-*` headers to the answer.
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let matched = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let rule = matched.as_deref().and_then(|path| route_rules::rule_for(&method, path));
    if let (Some(path), None) = (matched.as_deref(), rule) {
        // A path with rules for other methods: the router answers 405 and exposes nothing.
        // A path with no rule at all must never be served: fail closed.
        if !route_rules::ROUTES.iter().any(|r| r.path == path) {
            return ApiError::internal(anyhow::anyhow!("route {method} {path} has no access rule")).into_response();
        }
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_address::client_address(c.0.ip(), req.headers(), &state.settings().trusted_proxies));
    let client_key = || client.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    // An address that spent its failed-credential budget is refused before its credentials
    // cost a key lookup, a signature check or an audit row.
    if carries_credentials(req.headers())
        && let Some(d) = state.limiter().exhausted(RateClass::Auth, PrincipalKind::Anonymous, &client_key()).await
    {
        let mut res = ApiError::RateLimited { retry_after_secs: d.reset_secs }.into_response();
        rate_headers(res.headers_mut(), d);
        return res;
    }
    let (auth, mut req) = authenticate(&state, req, client).await;
    let access = rule.map_or(Access::Public, |r| r.access);
    let failure = match &auth {
        Authenticated::Failed(_) | Authenticated::Rejected(_) => true,
        Authenticated::Principal(_) | Authenticated::Anonymous => false,
    };
    if failure {
        // Failed credentials count against the address's auth budget, so guessing is bounded.
        let d = state.limiter().check(RateClass::Auth, PrincipalKind::Anonymous, &client_key()).await;
        if !d.allowed {
            let mut res = ApiError::RateLimited { retry_after_secs: d.reset_secs }.into_response();
            rate_headers(res.headers_mut(), d);
            return res;
        }
    }
    let principal = match (auth, access) {
        (Authenticated::Principal(p), _) => Some(p),
        (Authenticated::Rejected(e), _) => return e.into_response(),
        (Authenticated::Failed(e), Access::Role(_) | Access::RoleOrKey(..)) => return e.into_response(),
        (Authenticated::Failed(e), Access::SelfAuthenticated) => {
            req.extensions_mut().insert(AuthFailure(e.code()));
            None
        }
        (Authenticated::Anonymous, Access::Role(_) | Access::RoleOrKey(..)) => {
            return ApiError::unauthorized(
                ErrorCode::MissingCredentials,
                "this route needs a bearer token or a signed request",
            )
            .into_response();
        }
        _ => None,
    };
    if let Some(p) = &principal
        && let Err(e) = authorize(access, p)
    {
        return e.into_response();
    }
    let decision = match rule.and_then(|r| r.class) {
        Some(class) => Some(match &principal {
            Some(p) => spend(&state, p, class).await,
            None => state.limiter().check(class, PrincipalKind::Anonymous, &client_key()).await,
        }),
        None => None,
    };
    if let Some(d) = decision
        && !d.allowed
    {
        let mut res = ApiError::RateLimited { retry_after_secs: d.reset_secs }.into_response();
        rate_headers(res.headers_mut(), d);
        return res;
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    let mut res = next.run(req).await;
    if let Some(d) = decision {
        rate_headers(res.headers_mut(), d);
    }
    res
}

pub(crate) fn rate_headers(headers: &mut HeaderMap, d: rate_limit::Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(d.reset_secs));
}

#[cfg(test)]
mod tests {
    use kairos_domain::{ErrorCode, Role, Scope};

    use super::*;

    #[test]
    fn keys_need_their_scope_and_users_their_role() {
        let key = Principal::Key {
            key_id: "k".into(),
            user_id: "u".into(),
            role: Role::MarketMaker,
            scopes: vec![Scope::Read],
        };
        assert!(authorize(Access::RoleOrKey(Role::User, Scope::Read), &key).is_ok());
        assert_eq!(
            authorize(Access::RoleOrKey(Role::User, Scope::Trade), &key).map_err(|e| e.code()),
            Err(ErrorCode::InsufficientScope)
        );
        assert_eq!(
            authorize(Access::Role(Role::MarketMaker), &key).map_err(|e| e.code()),
            Err(ErrorCode::KeysNotAllowed)
        );
        let user = Principal::User { user_id: "u".into(), role: Role::User, expires_at_s: 0 };
        assert_eq!(
            authorize(Access::Role(Role::Operator), &user).map_err(|e| e.code()),
            Err(ErrorCode::InsufficientRole)
        );
        assert!(authorize(Access::Public, &user).is_ok());
    }
}
