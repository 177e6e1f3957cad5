//! The tick-to-order hot path, one synchronous step per market-channel frame, allocation-free
//! once its buffers have grown:
//!
//! 1. [`frame`]: the frame's events read in place (no owned JSON values);
//! 2. [`book`]: each asset's book in integer ticks, with the CLOB's hash check;
//! 3. [`strategy`]: the quotes wanted (the [`strategy::Strategy`] seam and its default);
//! 4. [`diff`]: the smallest set of cancels and places from the resting orders;
//! 5. [`risk`]: the pre-trade gate each place passes (the platform's kill switch and notional
//!    check, position, price band, order rate, no self-cross), refusals counted by reason.
//!
//! [`engine`] runs the five for each frame. Prices are integers of 0.0001 and sizes of
//! micro-shares throughout ([`fixed`]).

pub mod book;
pub mod diff;
pub mod engine;
pub mod fixed;
pub mod frame;
pub mod risk;
pub mod strategy;
