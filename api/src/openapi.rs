//! The OpenAPI document: generated from the routes themselves (utoipa-axum), so a route cannot
//! exist without its entry. Checked in at `openapi/v1.json`; a test fails when they differ and
//! `kairos-api openapi --output openapi/v1.json` regenerates it.

use utoipa::openapi::{RefOr, Response, ResponseBuilder, content::ContentBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::routes::{health, markets, openapi_json};
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
    ),
    components(schemas(ErrorBody)),
    modifiers(&DefaultErrorResponse)
)]
struct ApiDoc;

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

/// Every documented route, with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(openapi_json::openapi_json))
        .routes(routes!(markets::list_markets))
        .routes(routes!(markets::get_market))
}

/// The document, with the modifiers applied after every route was added.
pub fn spec() -> utoipa::openapi::OpenApi {
    let mut spec = router().split_for_parts().1;
    DefaultErrorResponse.modify(&mut spec);
    spec
}

/// The document as `openapi/v1.json` holds it: pretty JSON with a final newline.
pub fn spec_json() -> String {
    let mut text = spec().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    text.push('\n');
    text
}
