//! Integration tests of the API: real servers on 127.0.0.1:0, real HTTP, every storage test on
//! SQLite and, when `TEST_DATABASE_URL` is set, on PostgreSQL too.

mod access;
mod binary;
mod cluster;
mod errors;
mod examples;
mod health;
mod ledger;
mod markets;
mod mock_clob;
mod openapi;
mod operators;
mod orders;
mod polymarket;
mod readiness;
mod support;
mod ws;
