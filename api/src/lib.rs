//! The Kairos REST API (`/v1`) and the `kairos-api` operator CLI.
//!
//! [`server::start`] builds everything a running instance needs from [`ApiSettings`]
//! (storage, readiness, the market catalog, both listeners) so the binary and the integration
//! tests start the same server. Handlers are thin: they parse, call a plain function, and map
//! the result; the logic is in modules named for what they hold.
//!
//! [`ApiSettings`]: kairos_platform::config::ApiSettings

pub mod access;
pub mod cli;
pub mod dead_man;
pub mod dev_accounts;
pub mod error;
pub mod extract;
pub mod market_catalog;
pub mod market_view;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod orders;
pub mod readiness;
pub mod routes;
pub mod runtime_settings;
pub mod seed;
pub mod server;
pub mod state;
pub mod streams;
