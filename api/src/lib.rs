//! The Kairos REST API (`/v1`) and the `kairos-api` operator CLI.
//!
//! [`http::server::start`] builds everything a running instance needs from [`ApiSettings`]
//! (storage, readiness, the market catalog, both listeners) so the binary and the integration
//! tests start the same server. Handlers are thin: they parse, call a plain function, and map
//! the result; the logic is in modules named for what they hold:
//! - [`http`]: the server, its middleware, errors, extractors, the OpenAPI document, the routes
//!   and the streams;
//! - [`access`]: who is calling and whether they may (sessions, keys, limits, approvals, the
//!   kill switch);
//! - [`trading`]: what orders and markets go through before and after a venue (placement
//!   rules, the dead-man's switch, the market catalog);
//! - [`state`], [`readiness`], [`runtime_settings`]: what one running instance holds;
//! - [`tools`]: the operator CLI, seeding and dev accounts.
//!
//! [`ApiSettings`]: kairos_platform::config::ApiSettings

pub mod access;
pub mod flash;
pub mod http;
pub mod readiness;
pub mod runtime_settings;
pub mod state;
pub mod tools;
pub mod trading;
