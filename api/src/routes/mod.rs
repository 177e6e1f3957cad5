//! HTTP handlers, one module per resource. Each handler parses, calls a plain function and
//! maps the result; nothing here holds business logic or SQL.

pub mod health;
pub mod markets;
pub mod openapi_json;
