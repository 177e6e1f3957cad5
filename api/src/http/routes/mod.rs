//! HTTP handlers, one module per resource. Each handler parses, calls a plain function and
//! maps the result; nothing here holds business logic or SQL.

pub mod account;
pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod balances;
pub mod books;
pub mod flash;
pub mod health;
pub mod heartbeat;
pub mod internal;
pub mod keepers;
pub mod legacy;
pub mod market_resolution;
pub mod markets;
pub mod openapi_json;
pub mod order_groups;
pub mod orders;
pub mod paging;
pub mod ws;
