//! What the Kairos API and the keepers share, and nothing else: the typed config contract
//! ([`config`]), logging and tracing ([`telemetry`]), the storage layer with the one migration set
//! and the one place for each SQL statement ([`storage`]), the Redis connection ([`cache`]),
//! domain types ([`domain`]), the stateless pre-trade checks ([`risk`]) and the Polymarket Gamma
//! market format used by imports ([`gamma`]).
//!
//! Boundaries: no HTTP here (that is `kairos-api`), no venue clients (`kairos-clob-client`),
//! no Solana (`programs/`).

pub mod cache;
pub mod config;
pub mod domain;
pub mod gamma;
pub mod risk;
pub mod storage;
pub mod telemetry;
