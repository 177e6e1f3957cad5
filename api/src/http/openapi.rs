//! The OpenAPI document: generated from the routes themselves (utoipa-axum), so a route cannot
//! exist without its entry. Checked in at `openapi/v1.json`; a test fails when they differ and
//! `kairos-api openapi --output openapi/v1.json` regenerates it.

use utoipa::openapi::{RefOr, Response, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::route_rules::{Access, ROUTES};
use crate::http::error::ErrorBody;
use crate::http::routes::{
    account, admin, api_keys, auth, balances, books, flash, health, heartbeat, keepers, legacy, market_resolution,
    markets, openapi_json, order_groups, orders, ws,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kairos API",
        version = "1.0.0",
        description = "Trading and betting backend. Amounts and prices are exact decimal strings; \
            errors are `{\"error\":{\"code\",\"message\",\"request_id\"}}`."
    ),
    tags(
        (name = "operations", description = "Health, readiness and this document"),
        (name = "markets", description = "Markets and their outcomes"),
        (name = "auth", description = "Wallet sign-in, sessions, the server clock"),
        (name = "account", description = "The caller's own settings and limits"),
        (name = "api-keys", description = "Market makers' API keys (signed requests)"),
        (name = "admin", description = "Operator routes; every change is audited"),
        (name = "orders", description = "Orders, fills, positions and the dead-man's switch"),
        (name = "order-groups", description = "Market-maker protection: groups of orders cancelled and frozen when their fills pass a limit"),
        (name = "streams", description = "Websocket streams"),
        (name = "flash", description = "Flash markets on Solana: short-lived markets settled on chain by a Groth16 proof; wallets sign the unsigned transactions these routes build"),
        (name = "legacy", description = "The old platform's order routes: deprecated aliases of /v1/orders"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Security schemes, and each operation's requirement generated from the access table
/// ([`ROUTES`]) so the document cannot disagree with what is enforced. The role is given as
/// the requirement's scope; for API keys, the key scope follows it.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from POST /v1/auth/login (15 minutes)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "signed_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "KAIROS-KEY",
                "API key id. Also send KAIROS-TIMESTAMP (Unix ms, within 5 s of GET /v1/time) and KAIROS-SIGNATURE: \
                 url-safe base64 (padded) of HMAC-SHA256 keyed with the decoded secret over \
                 timestamp, METHOD, path-with-query and body, each of the first three followed by a newline.",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                let Some(rule) = ROUTES.iter().find(|r| r.method == method && r.path == path.as_str()) else {
                    continue;
                };
                op.security = match rule.access {
                    Access::Public => None,
                    Access::Role(role) => Some(vec![SecurityRequirement::new("bearer", [role.as_str()])]),
                    Access::RoleOrKey(role, scope) => Some(vec![
                        SecurityRequirement::new("bearer", [role.as_str()]),
                        SecurityRequirement::new("signed_key", [role.as_str(), scope.as_str()]),
                    ]),
                    Access::SelfAuthenticated => Some(vec![
                        SecurityRequirement::new("bearer", ["user"]),
                        SecurityRequirement::new("signed_key", ["user", "read"]),
                    ]),
                };
            }
        }
    }
}

/// Documents that any operation may also answer with the error envelope (timeouts, overload,
/// internal errors), so clients and schema checkers know the shape of every non-2xx answer.
struct DefaultErrorResponse;

impl Modify for DefaultErrorResponse {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let response: Response = ResponseBuilder::new()
            .description("Error, in the common envelope")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for op in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                op.responses.responses.entry("default".to_string()).or_insert_with(|| RefOr::T(response.clone()));
            }
        }
    }
}

/// The deprecated aliases (`#[deprecated]` is how utoipa marks them so in the document).
#[allow(deprecated)]
fn legacy_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(legacy::submit))
        .routes(routes!(legacy::status))
        .routes(routes!(legacy::cancel))
        .routes(routes!(legacy::list))
}

/// Every documented route, with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(openapi_json::openapi_json))
        .routes(routes!(markets::list_markets))
        .routes(routes!(markets::get_market))
        .routes(routes!(auth::time))
        .routes(routes!(auth::challenge))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(account::limits))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(ws::ws))
        .routes(routes!(balances::balances))
        .routes(routes!(balances::ledger_entries))
        .routes(routes!(balances::faucet))
        .routes(routes!(admin::credit))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::get_user))
        .routes(routes!(admin::set_role))
        .routes(routes!(admin::revoke_key))
        .routes(routes!(admin::suspend_market))
        .routes(routes!(admin::resume_market))
        .routes(routes!(admin::set_flag))
        .routes(routes!(admin::list_audit))
        .routes(routes!(admin::export_audit))
        .routes(routes!(admin::kill_switch_state))
        .routes(routes!(admin::propose))
        .routes(routes!(admin::approve))
        .routes(routes!(admin::list_approvals))
        .routes(routes!(admin::approve_request))
        .routes(routes!(keepers::list))
        .routes(routes!(flash::config))
        .routes(routes!(flash::faucet))
        .routes(routes!(flash::open))
        .routes(routes!(flash::list))
        .routes(routes!(flash::get))
        .routes(routes!(flash::positions))
        .routes(routes!(flash::bet))
        .routes(routes!(flash::claim))
        .routes(routes!(orders::place, orders::list, orders::cancel_all))
        .routes(routes!(orders::place_batch))
        .routes(routes!(orders::get, orders::amend, orders::cancel))
        .routes(routes!(orders::cancel_many))
        .routes(routes!(orders::get_by_client_id))
        .routes(routes!(orders::fills))
        .routes(routes!(orders::positions))
        .routes(routes!(order_groups::create, order_groups::list))
        .routes(routes!(order_groups::get, order_groups::delete))
        .routes(routes!(order_groups::reset))
        .routes(routes!(heartbeat::heartbeat))
        .routes(routes!(market_resolution::resolve))
        .routes(routes!(books::book))
        .merge(legacy_routes())
}

/// The routes and the document, built once per process: the router is assembled a single
/// time, and the document rendered a single time, however many servers and checks use them.
struct Built {
    routes: axum::Router<AppState>,
    spec: utoipa::openapi::OpenApi,
    json: String,
}

static BUILT: std::sync::LazyLock<Built> = std::sync::LazyLock::new(|| {
    let (routes, mut spec) = router().split_for_parts();
    DefaultErrorResponse.modify(&mut spec);
    Security.modify(&mut spec);
    let mut json = spec.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    json.push('\n');
    Built { routes, spec, json }
});

/// Every route, as the server mounts them.
pub fn routes() -> axum::Router<AppState> {
    BUILT.routes.clone()
}

/// The document, with the modifiers applied after every route was added.
pub fn spec() -> &'static utoipa::openapi::OpenApi {
    &BUILT.spec
}

/// The document as `openapi/v1.json` holds it: pretty JSON with a final newline.
pub fn spec_json() -> &'static str {
    &BUILT.json
}
