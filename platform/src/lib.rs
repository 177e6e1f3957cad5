//! What the Kairos API and the keepers share, and nothing else: the typed config contract
//! ([`config`]), logging and tracing ([`telemetry`]), the storage layer with the one migration set
//! and the one place for each SQL statement ([`storage`]), the Redis connection ([`cache`]) and
//! telling systemd where a process is in its life ([`service_manager`]), and which process this is
//! ([`host`]).
//! Domain types, the ledger's model and the pre-trade checks are in `kairos-domain`, which does
//! no I/O; the venues (and Polymarket's Gamma format) are in `kairos-venues`.
//!
//! Boundaries: no HTTP here (that is `kairos-api`), no venue clients (`kairos-clob-client`),
//! no Solana (`programs/`).

pub mod cache;
pub mod config;
pub mod host;
pub mod locks;
pub mod master_key;
pub mod service_manager;
pub mod storage;
pub mod telemetry;
