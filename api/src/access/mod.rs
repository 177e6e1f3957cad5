//! Who is calling and whether they may: bearer JWTs for users, signed requests for API keys,
//! one rule per route ([`route_rules`]), rate limits per principal and class. Everything fails
//! closed: a route without a rule does not start, a matched route missing from the table
//! answers 500, never opens.

pub mod approvals;
pub mod client_address;
pub mod failed_signatures;
pub mod jwt;
pub mod key_secrets;
pub mod kill_switch;
pub mod rate_limit;
pub mod route_rules;
pub mod sessions;
pub mod signed_request;
pub mod wallet;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kairos_domain::{Role, Scope, now_us};
use kairos_platform::config::{PrincipalKind, RateClass};
use kairos_platform::storage::{api_keys, users};

use crate::error::ApiError;
use crate::state::AppState;
use route_rules::Access;

pub use kairos_domain::IpRule;

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
            ApiError::unauthorized("missing_credentials", "this route needs a bearer token or a signed request")
        })
    }
}

/// A key as the verifier needs it, cached briefly so each signed request does not read the
/// database (a revocation takes effect within [`KEY_CACHE_TTL`] on every instance).
#[derive(Debug, Clone)]
struct CachedKey {
    user_id: String,
    role: Role,
    user_active: bool,
    scopes: Vec<Scope>,
    allow: Option<Vec<IpRule>>,
    secret: Vec<u8>,
    revoked: bool,
}

pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Extra time a seen signature is remembered beyond twice the freshness window.
const REPLAY_MARGIN: Duration = Duration::from_secs(2);

/// Values by id, each kept for [`KEY_CACHE_TTL`]; `None` (not found) is cached too, so an
/// unknown id costs one read a second at most.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: RwLock<HashMap<String, (Instant, Option<V>)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache { entries: RwLock::new(HashMap::new()) }
    }
}

impl<V: Clone> TtlCache<V> {
    async fn get_or_load<F>(&self, id: &str, load: F) -> Result<Option<V>, ApiError>
    where
        F: Future<Output = Result<Option<V>, ApiError>>,
    {
        if let Ok(entries) = self.entries.read()
            && let Some((at, value)) = entries.get(id)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(value.clone());
        }
        let loaded = load.await?;
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() > 100_000 {
                entries.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
            }
            entries.insert(id.to_string(), (Instant::now(), loaded.clone()));
        }
        Ok(loaded)
    }

    /// Forgets an id at once on this instance (after a change made here).
    pub fn forget(&self, id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(id);
        }
    }
}

/// API keys as the verifier needs them.
#[derive(Debug, Default)]
pub struct KeyCache(TtlCache<CachedKey>);

impl KeyCache {
    async fn get(&self, state: &AppState, key_id: &str) -> Result<Option<CachedKey>, ApiError> {
        self.0.get_or_load(key_id, load_key(state, key_id)).await
    }

    pub fn forget(&self, key_id: &str) {
        self.0.forget(key_id);
    }
}

async fn load_key(state: &AppState, key_id: &str) -> Result<Option<CachedKey>, ApiError> {
    let Some(key) = api_keys::get(state.db(), key_id).await? else { return Ok(None) };
    let Some(owner) = users::get(state.db(), &key.user_id).await? else { return Ok(None) };
    let ciphertext = key
        .secret_ciphertext
        .as_deref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("api key {key_id} has no encrypted secret")))?;
    let secret = state.master_key().decrypt(&key.id, ciphertext).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let scopes = key.scopes.split(',').filter_map(|s| s.parse().ok()).collect();
    let allow = key.ip_allowlist.as_deref().map(|list| list.split(',').filter_map(|s| IpRule::parse(s).ok()).collect());
    Ok(Some(CachedKey {
        user_id: owner.id,
        role: owner.role,
        user_active: owner.status == "active",
        scopes,
        allow,
        secret,
        revoked: key.revoked_at_us.is_some(),
    }))
}

/// What authentication found: a principal, an error to answer if the route needs one, or
/// nothing at all.
enum Authenticated {
    Principal(Principal),
    Failed(ApiError),
    /// The request cannot go on whatever the route: its body was too large or unreadable.
    Rejected(ApiError),
    Anonymous,
}

/// Whether a key may be used now: not revoked, its owner active and in a role that may hold
/// keys (a role change revokes the keys the new role may not hold; this is the same rule, read
/// at every request, for a key that outlived its owner's role by any other path).
fn key_usable(key: &CachedKey) -> Result<(), ApiError> {
    if key.revoked {
        return Err(ApiError::unauthorized("revoked_key", "this API key was revoked"));
    }
    if !key.user_active {
        return Err(ApiError::unauthorized("suspended_user", "the key's owner is suspended"));
    }
    if !may_hold_keys(key.role) {
        return Err(ApiError::unauthorized(
            "key_owner_role",
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
                .get(state, key_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("unknown_key", "no such API key"))?;
            key_usable(&key)?;
        }
        Principal::User { user_id, role, .. } => {
            let (current, status) = state
                .user_cache()
                .get(state, user_id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("unknown_user", "the token's user does not exist"))?;
            if status != "active" {
                return Err(ApiError::unauthorized("suspended_user", "this account is suspended"));
            }
            if current != *role {
                return Err(ApiError::unauthorized("role_changed", "this account's role changed; sign in again"));
            }
        }
    }
    Ok(())
}

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

/// Whether the request offers a token or any signed-request header.
fn carries_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(axum::http::header::AUTHORIZATION)
        || [signed_request::KEY_HEADER, signed_request::TIMESTAMP_HEADER, signed_request::SIGNATURE_HEADER]
            .iter()
            .any(|h| headers.contains_key(*h))
}

/// Whether a user with `role` may hold API keys (the role that creates them, or above it).
pub fn may_hold_keys(role: Role) -> bool {
    role.satisfies(Role::MarketMaker)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
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
        .get(state, &claims.sub)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown_user", "the token's user does not exist"))?;
    if user.1 != "active" {
        return Err(ApiError::unauthorized("suspended_user", "this account is suspended"));
    }
    Ok(Principal::User { user_id: claims.sub, role: user.0, expires_at_s: claims.exp })
}

/// A user's role and status (`active`, `suspended`).
type UserState = (Role, String);

/// Users' current role and status (see [`authenticate_token`]).
#[derive(Debug, Default)]
pub struct UserCache(TtlCache<UserState>);

impl UserCache {
    async fn get(&self, state: &AppState, user_id: &str) -> Result<Option<UserState>, ApiError> {
        let load = async { Ok(users::get(state.db(), user_id).await?.map(|u| (u.role, u.status))) };
        self.0.get_or_load(user_id, load).await
    }

    pub fn forget(&self, user_id: &str) {
        self.0.forget(user_id);
    }
}

async fn authenticate(state: &AppState, req: Request, client: Option<IpAddr>) -> (Authenticated, Request) {
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
                "incomplete_signature_headers",
                "a signed request needs KAIROS-KEY, KAIROS-TIMESTAMP and KAIROS-SIGNATURE",
            )),
            req,
        ),
    }
}

async fn verify_signed(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    client: Option<IpAddr>,
) -> Result<Principal, ApiError> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let key_id = header(signed_request::KEY_HEADER);
    let timestamp = header(signed_request::TIMESTAMP_HEADER);
    let signature = header(signed_request::SIGNATURE_HEADER);
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| ApiError::unauthorized("invalid_timestamp", "KAIROS-TIMESTAMP must be Unix milliseconds"))?;
    let window = state.settings().signature_window;
    if !signed_request::fresh(ts, now_us() / 1_000, window) {
        return Err(ApiError::unauthorized(
            "stale_timestamp",
            format!("KAIROS-TIMESTAMP is more than {} ms from the server clock (see GET /v1/time)", window.as_millis()),
        ));
    }
    if kairos_domain::parse_id(key_id).is_none() {
        return Err(ApiError::unauthorized("unknown_key", "no such API key"));
    }
    let key = state
        .key_cache()
        .get(state, key_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown_key", "no such API key"))?;
    let path = parts.uri.path_and_query().map_or(parts.uri.path(), |pq| pq.as_str());
    // The signature is checked before the key's state is told, so nobody without the secret
    // learns whether a key was revoked.
    let forms = signed_request::accepted_forms(state.settings().signature_legacy_form);
    if !signed_request::verify(&key.secret, forms, timestamp, parts.method.as_str(), path, body, signature) {
        if !key.revoked {
            // Audited for live keys, counted per key and minute (see `failed_signatures`);
            // failures also count against the caller's auth budget.
            let target = format!("{} {}", parts.method, parts.uri.path());
            let request_id = parts.extensions.get::<crate::middleware::RequestId>().map(|r| r.0.clone());
            let minute = now_us() / 60_000_000;
            if let Some(entry) = state.failed_signatures().record(key_id, minute, &target, client, request_id) {
                kairos_platform::storage::audit_log::append(state.db(), &entry).await?;
            }
        }
        return Err(ApiError::unauthorized(
            "invalid_signature",
            "KAIROS-SIGNATURE does not match timestamp \\n METHOD \\n path-with-query \\n body for this key",
        ));
    }
    key_usable(&key)?;
    // Remembered past twice the freshness window with a margin for clock steps, so a
    // signature cannot be replayed at the window's edge.
    if !state.first_use_of_signature(signature, window * 2 + REPLAY_MARGIN).await {
        return Err(ApiError::unauthorized("replayed_signature", "this signature was already used"));
    }
    if let Some(allow) = &key.allow {
        let permitted = client.is_some_and(|ip| allow.iter().any(|r| r.contains(ip)));
        if !permitted {
            return Err(ApiError::forbidden("ip_not_allowed", "this key may not be used from this address"));
        }
    }
    Ok(Principal::Key { key_id: key_id.to_string(), user_id: key.user_id, role: key.role, scopes: key.scopes })
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
                    "keys_not_allowed",
                    "this route needs a signed-in user, not an API key",
                ));
            }
            Some(scope) if !scopes.contains(&scope) => {
                return Err(ApiError::forbidden(
                    "insufficient_scope",
                    format!("this route needs an API key with the {} scope", scope.as_str()),
                ));
            }
            Some(_) => {}
        }
    }
    if !principal.role().satisfies(role) {
        return Err(ApiError::forbidden("insufficient_role", format!("this route needs the {} role", role.as_str())));
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
                "missing_credentials",
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

/// Why authentication failed, for a self-authenticating route (the websocket) to report.
#[derive(Debug, Clone, Copy)]
pub struct AuthFailure(pub &'static str);

fn rate_headers(headers: &mut HeaderMap, d: rate_limit::Decision) {
    headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(d.reset_secs));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_rules_match_addresses_and_blocks() {
        let one = IpRule::parse("10.1.2.3").expect("ip");
        assert!(one.contains("10.1.2.3".parse().expect("ip")));
        assert!(!one.contains("10.1.2.4".parse().expect("ip")));
        let block = IpRule::parse("10.1.0.0/16").expect("cidr");
        assert!(block.contains("10.1.200.3".parse().expect("ip")));
        assert!(block.contains("::ffff:10.1.0.9".parse().expect("mapped")));
        assert!(!block.contains("10.2.0.1".parse().expect("ip")));
        let v6 = IpRule::parse("2001:db8::/32").expect("v6");
        assert!(v6.contains("2001:db8::1".parse().expect("ip")));
        assert!(IpRule::parse("10.0.0.0/33").is_err());
        assert!(IpRule::parse("nope").is_err());
    }

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
            Err("insufficient_scope")
        );
        assert_eq!(authorize(Access::Role(Role::MarketMaker), &key).map_err(|e| e.code()), Err("keys_not_allowed"));
        let user = Principal::User { user_id: "u".into(), role: Role::User, expires_at_s: 0 };
        assert_eq!(authorize(Access::Role(Role::Operator), &user).map_err(|e| e.code()), Err("insufficient_role"));
        assert!(authorize(Access::Public, &user).is_ok());
    }
}
