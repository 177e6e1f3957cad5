//! The operator's tools: the `kairos-api` CLI ([`cli`]), backups and restores ([`backup`]), sample markets ([`seed`]) and market
//! makers for load runs and demos ([`dev_accounts`]), and what
//! `kairos-quoter` trades as in dev ([`dev_quoter`]).

pub mod backup;
pub mod cli;
pub mod dev_accounts;
pub mod dev_quoter;
pub mod preflight;
pub mod release_gate;
pub mod seed;
