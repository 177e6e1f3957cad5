//! A Polymarket CLOB client. Standalone: it knows nothing of Kairos.
//!
//! Built so far:
//! - [`auth`]: L1 (EIP-712 `ClobAuth`) and L2 (HMAC) request authentication.
//! - [`orders`]: order hashing and signing for exchange versions 1, 2 and 3 with every signature
//!   type including POLY_1271, byte-identical to the official clients (60 order, 5 `ClobAuth`
//!   and 9 HMAC public vectors).
//! - [`eth`] and [`eip712`]: addresses (EIP-55), 32-byte words, Keccak-256 and the typed-data
//!   hashing the structs need, written here and checked against alloy in the tests.
//! - [`rounding`]: order amounts in the default `exact` mode (integer arithmetic, the official
//!   Rust client's rules) and the opt-in `python` mode (bit for bit with py-clob-client-v2 on
//!   16 068 generated rows).
//! - [`build`]: orders from token, side, price, size and tick to the signed `POST /order` body,
//!   for versions 2 and 3 and the legacy version 1; [`positions`]: which tokens are Protocol V2
//!   positions (order version 3 on ExchangeV3, balances as `CONDITIONAL-V2`).
//! - [`http::place`]: an order placed end to end (market prices from the live book, the
//!   server's order version read once and again after a mismatch, the tick size cached);
//!   [`http::heartbeat`]: the dead-man's switch kept alive in the background; the server's
//!   clock offset measured once and refreshed every 10 minutes.
//! - [`http`]: submission that reconciles by order hash before anything is sent again, cancels,
//!   order and trade lookups, the heartbeat, API keys, balances and the market-data reads, with
//!   timeouts and retries.
//! - [`deposit_wallet`]: a key's deposit wallet (CREATE2, both factory generations, as the
//!   official SDK derives it) and the checks that name the fix for a deposit-wallet account
//!   set up as a plain EOA, or for the CLOB's refusal of one.
//! - [`ws`]: the market and user websocket channels with keepalive, a silence watchdog,
//!   jittered reconnects with resubscription, gap and lag events (never a silent skip), and
//!   local books checked against the server's hashes and resynced from REST.
//! - Account endpoints (API, read-only and builder keys, the closed-only flag, notifications,
//!   order scoring, rewards, the balance refresh) and the remaining market data (price
//!   history, market by token, compact CLOB market, sampling and simplified listings).
//! - The operator CLI: offline (`clob l2-sign`, `l1-sign`, `order-amounts`, `sign-order`) and
//!   live (`book`, `market`, `price-history`, `derive-api-key`, `create-api-key`,
//!   `check-credentials`, `orders`, `order`, `trades`, `cancel`, `cancel-all`, `balance`,
//!   `closed-only`).
//!
//! Fixtures come from scripts in `fixtures/` that drive the official clients:
//! `gen_python_vectors.py` (signatures, with py-clob-client-v2), `gen_python_amounts.py`
//! (`python` amounts) and `gen-rust-amounts` (`exact` amounts, with polymarket_client_sdk_v2).
//! `fixtures/bench-peers` times ours beside the peers. Kairos's Polymarket venue
//! (`venues/src/polymarket/`) places, cancels and follows its orders with it.

pub mod auth;
mod backoff;
pub mod build;
pub mod contracts;
pub mod deposit_wallet;
pub mod eip712;
pub mod eth;
pub mod http;
pub mod orders;
pub mod positions;
pub mod rounding;
pub mod ws;
