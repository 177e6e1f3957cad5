//! Integration tests of the API: real servers on 127.0.0.1:0, real HTTP, every storage test on
//! SQLite and PostgreSQL. One binary for all of them but `telemetry.rs`, which installs a
//! process-wide tracing subscriber and so needs a process of its own.

mod access;
mod backup;
mod binary;
mod cluster;
mod crash;
mod eip712;
mod errors;
mod examples;
mod flash;
mod flash_life;
mod health;
mod ledger;
mod markets;
mod mock_clob;
mod openapi;
mod operators;
mod order_groups;
mod orders;
mod paper_pipeline;
mod polymarket;
mod preflight;
mod readiness;
mod replay;
mod runbook;
mod supervised;
mod support;
mod ws;
