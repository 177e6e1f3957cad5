//! Runs a native Rust Solana program (a `solana-program` processor compiled for the host) inside
//! [LiteSVM](litesvm), so that plain `cargo test` exercises it through a real runtime.
//!
//! Why this exists: `cargo-build-sbf` cannot run on our machines (no SBF platform tools, stable
//! rustc only), so the program cannot be tested as an ELF. LiteSVM can register a host function as
//! a builtin, but on its own that is not enough for a `solana-program` processor: nothing installs
//! the off-chain syscall stubs, so `Clock::get()` fails with `UnsupportedSysvar` and
//! `invoke`/`invoke_signed` silently do nothing.
//!
//! This crate closes the gap with two pieces:
//! - `builtin`: a builtin (1 CU) that serializes the instruction's accounts with the SBF ABI,
//!   hands them to the processor as `AccountInfo`s, and writes the result back under the runtime's
//!   ownership rules;
//! - `stubs`: `SyscallStubs` that route CPIs (with PDA signers), sysvar reads, return data and
//!   `sol_log_data` to the live `InvokeContext`.
//!
//! Limits: native code is not metered (a processor costs 1 CU plus whatever its CPIs cost);
//! `msg!` prints to stdout instead of the transaction logs because `solana-msg` bypasses the stubs;
//! CPIs must go through `solana_program::program::invoke*`, since the `solana-cpi` crate's
//! off-chain `invoke` is a silent no-op that never reaches the stubs.
#![allow(deprecated)] // agave 3.1 marks the runtime APIs as "unstable API" through deprecation.

mod builtin;
mod stubs;

pub use litesvm;

use {
    solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey},
    std::sync::Once,
};

/// A `solana-program` entrypoint: `process_instruction(program_id, accounts, data)`.
pub type Processor = fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult;

/// Registers `processor` as the program at `program_id` in `svm` (a builtin with 1 CU cost).
///
/// Several programs may be registered; registering another processor under the same id replaces
/// the previous one for every `LiteSVM` in the process.
pub fn add_native_program(svm: &mut litesvm::LiteSVM, program_id: Pubkey, processor: Processor) {
    static INSTALL_STUBS: Once = Once::new();
    INSTALL_STUBS.call_once(stubs::install);
    builtin::register(program_id, processor);
    svm.add_builtin(program_id, builtin::NativeProgram::vm);
}
