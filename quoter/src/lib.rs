//! The tick-to-order hot path, one synchronous step per market-channel frame, allocation-free
//! once its buffers have grown:
//!
//! 1. [`frame`]: the frame's events read in place (no owned JSON values);
//! 2. [`book`]: each asset's book in integer ticks, with the CLOB's hash check;
//! 3. [`strategy`]: the quotes wanted (the [`strategy::Strategy`] seam and its default);
//! 4. [`diff`]: the smallest set of cancels and places from the resting orders;
//! 5. [`risk`]: the pre-trade gate each place passes (the platform's kill switch and notional
//!    check, position, price band, order rate, no self-cross), refusals counted by reason;
//! 6. [`order`]: each place signed with exact integer amounts ([`amounts`]) and written as
//!    its `POST /order` envelope through `clob-client`'s own hashing, signing and writer;
//! 7. [`wire`] and [`outbox`]: the requests (cancels in one `DELETE /orders`, places in
//!    `POST /order` or batches of 15) with their L2 headers, as bytes for the socket.
//!
//! [`engine`] runs the first five for each frame and [`pipeline`] the whole step. Prices are
//! integers of 0.0001 and sizes of micro-shares throughout ([`fixed`]); [`clock`] gives the
//! venue's time and fresh salts, [`stages`] the bench's per-stage timing.
//!
//! Around the step: [`run`] (with [`conn`], [`sender`] and [`kill_switch`]) runs the
//! `polymarket` target, [`paper`] the `kairos` target; [`feed`] gives both their frames,
//! [`setup`] builds them from the settings and [`metrics`] reports them.

pub mod alloc_count;
pub mod amounts;
pub mod book;
pub mod clock;
pub mod conn;
pub mod cpu;
pub mod diff;
pub mod engine;
pub mod feed;
pub mod fixed;
pub mod frame;
pub mod kill_switch;
pub mod metrics;
pub mod order;
pub mod outbox;
pub mod paper;
pub mod pipeline;
pub mod risk;
pub mod run;
pub mod sender;
pub mod setup;
pub mod stages;
pub mod strategy;
pub mod wire;
