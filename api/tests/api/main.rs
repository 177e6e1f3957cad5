//! Integration tests of the API: real servers on 127.0.0.1:0, real HTTP, every storage test on
//! SQLite and, when `TEST_DATABASE_URL` is set, on PostgreSQL too.

mod binary;
mod errors;
mod health;
mod markets;
mod openapi;
mod readiness;
mod support;
mod telemetry;
