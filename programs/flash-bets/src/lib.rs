//! The flash-bets Solana program (native Rust): short-lived markets whose outcome is settled
//! by a Groth16 proof, checked on chain through the alt_bn128 syscalls.
//!
//! The oracle commits to a price feed's ticks (a Poseidon hash chain) when the market locks,
//! then anyone proves which outcome those ticks give under the market's rule; neither the
//! oracle nor the submitter can choose the outcome afterwards. The statement, the accounts,
//! the ceremony and the deploy steps are in this crate's README.
//!
//! - [`instruction`]: the wire format and the instruction builders clients use (build with
//!   the `no-entrypoint` feature to link them without the program's entry point).
//! - [`state`]: account layouts and PDA seeds; [`rule`]: rules and their hash;
//!   [`verifier`]: verifying keys and proof checks; [`payout`]: the payout arithmetic.
//! - [`processor`]: the handlers.

pub mod compute;
pub mod error;
pub mod instruction;
pub mod layout;
pub mod payout;
pub mod processor;
pub mod rule;
pub mod state;
pub mod verifier;

pub use error::FlashError;

/// Whether this build decodes the declared-but-unbuilt instructions (the `experimental`
/// feature): `kairos-api release-gate` refuses a release where it is true.
pub const EXPERIMENTAL_BUILD: bool = cfg!(feature = "experimental");
pub use processor::process_instruction;

// The unbuilt instructions are for development only: a release build refuses the feature.
#[cfg(all(feature = "experimental", not(debug_assertions)))]
compile_error!("the `experimental` feature must not be enabled in a release build");

solana_program::declare_id!("F1ashBets1111111111111111111111111111111111");

#[cfg(all(target_os = "solana", not(feature = "no-entrypoint")))]
solana_program::entrypoint!(process_instruction);
