//! What the API and the keepers share about flash markets: a new market's terms
//! ([`terms`]), the unsigned transactions wallets sign for themselves ([`wallet_tx`]), and the
//! chain as both reach it, solana-client's nonblocking `RpcClient` over JSON-RPC
//! ([`chain`]), against a cluster in production and the local chain in dev and tests, with
//! its websocket subscriptions where they save polling ([`subscriptions`]).

pub mod chain;
pub mod oracle_key;
pub mod sender;
pub mod subscriptions;
pub mod terms;
pub mod wallet_tx;

pub use chain::{ChainError, FlashChain};
pub use solana_program::pubkey::Pubkey;
pub use terms::{MarketRequest, RuleSpec, Terms, TermsError};
