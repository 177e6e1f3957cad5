//! The paper venue's matching engine, with no I/O: [`order_book`] holds one market's resting
//! orders in integer ticks and matches them in price-time priority; [`exchange`] applies a batch
//! of requests to the books and says what must become durable (orders, fills, transfers);
//! [`settlement`] is the money arithmetic (reservations, fees, match and resolution transfers).
//!
//! Deterministic and synchronous: the same requests in the same order give the same output, so
//! the sequencer (in `kairos-venues`) can rebuild the books from the database after a restart,
//! and benchmarks measure the engine alone.

pub mod exchange;
pub mod order_book;
pub mod settlement;
