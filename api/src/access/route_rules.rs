//! The access rule of every route, in one table. The access middleware enforces it, the
//! OpenAPI document's `security` is generated from it, and start-up refuses a route that has no
//! rule (or a rule that has no route): an open route cannot happen by omission.

use kairos_domain::{Role, Scope};
use kairos_platform::config::RateClass;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; credentials, if sent, are ignored.
    Public,
    /// The handler authenticates itself (the websocket answers with close code 4401).
    SelfAuthenticated,
    /// A signed-in user (JWT) holding the role; API keys are refused.
    Role(Role),
    /// A signed-in user holding the role, or an API key of such a user with the scope.
    RoleOrKey(Role, Scope),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// `None`: not rate limited (liveness and readiness probes).
    pub class: Option<RateClass>,
}

const fn rule(method: &'static str, path: &'static str, access: Access, class: Option<RateClass>) -> RouteRule {
    RouteRule { method, path, access, class }
}

use Access::{Public, Role as R, RoleOrKey as K, SelfAuthenticated};
use RateClass::{Auth, Cancel, Read, Trade};

pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/health", Public, None),
    rule("GET", "/ready", Public, None),
    rule("GET", "/v1/openapi.json", Public, Some(Read)),
    rule("GET", "/v1/time", Public, Some(Read)),
    rule("GET", "/v1/markets", Public, Some(Read)),
    rule("GET", "/v1/markets/{id}", Public, Some(Read)),
    rule("POST", "/v1/auth/challenge", Public, Some(Auth)),
    rule("POST", "/v1/auth/login", Public, Some(Auth)),
    rule("POST", "/v1/auth/refresh", Public, Some(Auth)),
    rule("POST", "/v1/auth/logout", Public, Some(Auth)),
    rule("GET", "/v1/account/limits", K(Role::User, Scope::Read), Some(Read)),
    rule("POST", "/v1/api-keys", R(Role::MarketMaker), Some(Auth)),
    // Creating keys is for market makers; listing and revoking one's own keys is for every
    // user, so a demoted market maker can still see and end them.
    rule("GET", "/v1/api-keys", R(Role::User), Some(Read)),
    rule("DELETE", "/v1/api-keys/{id}", R(Role::User), Some(Auth)),
    rule("GET", "/v1/ws", SelfAuthenticated, Some(Read)),
    rule("GET", "/v1/balances", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/ledger", K(Role::User, Scope::Read), Some(Read)),
    rule("POST", "/v1/faucet", R(Role::User), Some(Auth)),
    rule("POST", "/v1/admin/credit", R(Role::Operator), Some(Auth)),
    rule("GET", "/v1/admin/users", R(Role::Operator), Some(Read)),
    rule("GET", "/v1/admin/users/{id}", R(Role::Operator), Some(Read)),
    rule("PUT", "/v1/admin/users/{id}/role", R(Role::Admin), Some(Auth)),
    rule("GET", "/v1/admin/approvals", R(Role::Operator), Some(Read)),
    rule("POST", "/v1/admin/approvals/{id}/approve", R(Role::Operator), Some(Auth)),
    rule("DELETE", "/v1/admin/api-keys/{id}", R(Role::Operator), Some(Auth)),
    rule("POST", "/v1/admin/markets/{id}/suspend", R(Role::Operator), Some(Auth)),
    rule("POST", "/v1/admin/markets/{id}/resume", R(Role::Operator), Some(Auth)),
    rule("PUT", "/v1/admin/flags/{name}", R(Role::Operator), Some(Auth)),
    rule("GET", "/v1/admin/audit", R(Role::Operator), Some(Read)),
    rule("GET", "/v1/admin/audit/export", R(Role::Operator), Some(Read)),
    rule("GET", "/v1/admin/kill-switch", R(Role::Operator), Some(Read)),
    rule("GET", "/v1/admin/keepers", R(Role::Operator), Some(Read)),
    rule("POST", "/v1/admin/flash-markets", R(Role::Operator), Some(Auth)),
    rule("GET", "/v1/flash/config", Public, Some(Read)),
    rule("GET", "/v1/flash-markets", Public, Some(Read)),
    rule("GET", "/v1/flash-markets/{id}", Public, Some(Read)),
    rule("GET", "/v1/flash-markets/{id}/positions", Public, Some(Read)),
    // Unsigned transactions hold no secret and move nothing until the wallet signs them.
    rule("POST", "/v1/flash-markets/{id}/transactions/bet", Public, Some(Trade)),
    rule("POST", "/v1/flash-markets/{id}/transactions/claim", Public, Some(Trade)),
    rule("POST", "/v1/flash/faucet", Public, Some(Auth)),
    rule("POST", "/v1/admin/kill-switch/proposals", R(Role::Operator), Some(Auth)),
    rule("POST", "/v1/admin/kill-switch/proposals/{id}/approve", R(Role::Operator), Some(Auth)),
    rule("POST", "/v1/admin/markets/{id}/resolve", R(Role::Operator), Some(Auth)),
    rule("GET", "/v1/markets/{id}/book", Public, Some(Read)),
    rule("POST", "/v1/orders", K(Role::User, Scope::Trade), Some(Trade)),
    rule("POST", "/v1/orders/batch", K(Role::User, Scope::Trade), Some(Trade)),
    rule("PATCH", "/v1/orders/{id}", K(Role::User, Scope::Trade), Some(Trade)),
    rule("DELETE", "/v1/orders/{id}", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("POST", "/v1/orders/cancel", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("DELETE", "/v1/orders", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("GET", "/v1/orders", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/orders/{id}", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/orders/by-client-id/{client_order_id}", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/fills", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/positions", K(Role::User, Scope::Read), Some(Read)),
    rule("POST", "/v1/heartbeat", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("POST", "/v1/order-groups", K(Role::User, Scope::Trade), Some(Trade)),
    rule("GET", "/v1/order-groups", K(Role::User, Scope::Read), Some(Read)),
    rule("GET", "/v1/order-groups/{id}", K(Role::User, Scope::Read), Some(Read)),
    rule("POST", "/v1/order-groups/{id}/reset", K(Role::User, Scope::Trade), Some(Trade)),
    rule("DELETE", "/v1/order-groups/{id}", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("POST", "/api/orders/submit", K(Role::User, Scope::Trade), Some(Trade)),
    rule("GET", "/api/orders/{id}/status", K(Role::User, Scope::Read), Some(Read)),
    rule("POST", "/api/orders/{id}/cancel", K(Role::User, Scope::Trade), Some(Cancel)),
    rule("GET", "/api/orders", K(Role::User, Scope::Read), Some(Read)),
];

pub fn rule_for(method: &str, path: &str) -> Option<&'static RouteRule> {
    // HEAD is answered by GET routes.
    let method = if method == "HEAD" { "GET" } else { method };
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// Every operation of the document has a rule and every rule an operation.
pub fn check_against(spec: &utoipa::openapi::OpenApi) -> Result<(), String> {
    let mut operations = Vec::new();
    for (path, item) in &spec.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if op.is_some() {
                operations.push((method, path.as_str()));
            }
        }
    }
    let mut problems = Vec::new();
    for (method, path) in &operations {
        if rule_for(method, path).is_none() {
            problems.push(format!("{method} {path} has no access rule in access::route_rules::ROUTES"));
        }
    }
    for r in ROUTES {
        if !operations.contains(&(r.method, r.path)) {
            problems.push(format!("access rule {} {} has no route", r.method, r.path));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}
