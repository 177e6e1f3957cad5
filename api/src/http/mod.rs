//! The HTTP layer: the server and its listeners ([`server`]), the middleware stack
//! ([`middleware`]), the error envelope ([`error`]), extractors ([`extract`]), the OpenAPI
//! document ([`openapi`]), the metrics listener ([`metrics`]), the routes ([`routes`]) and the
//! websocket streams ([`streams`]).

pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod server;
pub mod streams;
