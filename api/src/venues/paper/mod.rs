//! The built-in paper venue: a real exchange in-process. [`order_book`] matches,
//! [`exchange`] applies the rules and the money, [`settlement`] computes the transfers, and
//! [`sequencer`] runs it all as one task that commits each batch before answering.

pub mod consistency;
pub mod exchange;
pub mod order_book;
pub mod sequencer;
pub mod settlement;
