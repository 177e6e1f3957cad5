//! The built-in paper venue: a real exchange in-process. The engine (`kairos-matching`) matches
//! and computes the money; [`sequencer`] runs it as one task that commits each batch before
//! answering; [`consistency`] checks the books and the ledger against each other.

pub mod consistency;
pub mod log;
pub mod replay;
pub mod sequencer;
