//! What an operator runs before starting a deployment or after changing one, shared by
//! `kairos-api` and `kairos-keepers`: the preflight [`report`] and the checks every binary makes
//! ([`config_checks`], [`store_checks`], the [`clock`] against NTP), and the dependency
//! [`probes`] (Solana RPC and websocket, the Polymarket CLOB and its websocket) with their
//! metrics, and the encrypted [`backup`]s with their restore. Each binary adds what only it can check (the API its websocket auth) and prints one
//! report.

pub mod backup;
pub mod clock;
pub mod config_checks;
pub mod probes;
pub mod report;
pub mod server_checks;
pub mod store_checks;
#[cfg(feature = "test-support")]
pub mod testing;

pub use report::{Check, Report, Status};
