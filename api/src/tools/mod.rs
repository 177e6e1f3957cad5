//! The operator's tools: the `kairos-api` CLI ([`cli`]), sample markets ([`seed`]) and market
//! makers for load runs and demos ([`dev_accounts`]).

pub mod cli;
pub mod dev_accounts;
pub mod preflight;
pub mod seed;
