//! Talking to a CLOB over HTTP: [`ClobClient`] sends public and L2-authenticated requests with
//! a timeout on every call, retries what is safe to retry, and never re-sends an order blindly
//! ([`ClobClient::post_order_reconciled`]). [`envelope`] builds the exact `POST /order` bytes.

mod account;
mod client;
pub mod envelope;
mod error;
pub mod heartbeat;
pub mod market_data;
pub mod place;
pub mod types;

pub use account::ApiKeys;
pub use client::{
    CLOCK_REFRESH, ClientConfig, ClobClient, HeartbeatReply, MAX_CANCEL_BATCH, MAX_POST_BATCH, Submitted,
};
pub use error::ClobError;
