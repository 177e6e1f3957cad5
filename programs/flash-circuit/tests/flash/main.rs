//! Integration tests of the circuit crate, one binary: the circuit and its native twin
//! ([`circuit`]) and the `flash` CLI ([`cli`]).

mod circuit;
mod cli;
