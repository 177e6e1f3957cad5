//! Request authentication for the CLOB.

pub mod l2;
