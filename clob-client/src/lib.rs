//! A Polymarket CLOB client. Standalone: it knows nothing of Kairos.
//!
//! Built so far: L1 (EIP-712 `ClobAuth`) and L2 (HMAC) request authentication ([`auth`]),
//! byte-identical to the official clients. Everything else (order building, rounding and signing,
//! the endpoints, the websocket feeds, the operator CLI) is not written yet; nothing in Kairos
//! calls this crate, and the API answers orders for Polymarket markets with `venue_disabled`
//! until it is complete.

pub mod auth;
