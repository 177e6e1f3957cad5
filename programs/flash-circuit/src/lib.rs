//! The off-chain half of flash bets: the Groth16 circuit for the resolution statement, its
//! native twin, the key ceremony, the prover, and conversion to the byte layout the program's
//! verifier (`groth16-solana` over the alt_bn128 syscalls) takes. The `flash` CLI
//! (`src/bin/flash.rs`, formats in `cli.rs`) drives it with JSON.
//!
//! - [`statement`]: the function proven, computed natively.
//! - [`circuit`]: the same function in constraints; [`poseidon`]: circomlib Poseidon both ways.
//! - [`keys`]: setup, contributions and key files; [`prove`]: proving and verifying.
//! - [`solana`]: arkworks points to the syscalls' layout.

pub mod circuit;
pub mod cli;
pub mod error;
pub mod field;
pub mod keys;
pub mod poseidon;
pub mod powers;
pub mod prove;
pub mod solana;
pub mod statement;

pub use error::CircuitError;
