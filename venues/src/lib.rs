//! Where orders go, shared by the API and the keepers. Every venue answers the same
//! [`Venue`] trait and [`Venues`] dispatches to the one a market names:
//! - [`paper`]: the built-in exchange. The matching engine is `kairos-matching`; this crate holds
//!   its sequencer, which makes each batch durable before answering, and the consistency check.
//! - [`polymarket`]: the Polymarket CLOB, on only when its credentials are configured.
//! - [`forwarding`]: a paper market is matched by the one instance that holds its lease; the
//!   others forward its requests there.

pub mod common;
pub mod forwarding;
pub mod paper;
pub mod polymarket;

pub use common::{Venue, VenueError, Venues};
pub use kairos_domain::Refusal;
