//! The compute-unit budget of `resolve`, from the runtime's cost table
//! (`solana-program-runtime` 3.1.12, `execution_budget.rs`) and groth16-solana's published
//! figures. Native tests do not meter the program itself (it runs as a builtin), so this is
//! the budget's source of truth and the crate README's table is printed from it.

/// groth16-solana 0.3.1 (`BENCHMARKS.md`): proof parsing, verifier construction and
/// `verify()` for four public inputs, measured on an SBF build.
pub const GROTH16_VERIFY_4_INPUTS: u64 = 91_448;
/// `sol_poseidon`: `61·n² + 542` for `n` inputs.
pub const fn poseidon(inputs: u64) -> u64 {
    61 * inputs * inputs + 542
}
/// One CPI (SIMD-0339 cost).
pub const CPI_INVOKE: u64 = 946;
/// The CPI's account data, charged at one unit per 250 bytes: the vault, the fee account
/// (165 bytes each) and the mint (82).
pub const CPI_ACCOUNT_BYTES: u64 = (165 + 165 + 82) / 250 + 1;
/// SPL Token 3.5.0's `transfer_checked`, measured through LiteSVM (`kairos-svm-shim`'s token
/// test); p-token, now on mainnet, costs 105.
pub const TOKEN_TRANSFER_CHECKED: u64 = 6_173;
/// An allowance for the handler itself: reading and writing three accounts, the checks,
/// and the entrypoint's deserialization. Not measured here (see above).
pub const HANDLER_ALLOWANCE: u64 = 3_000;

/// `resolve` with its fee transfer: the costliest path.
pub const RESOLVE_ESTIMATE: u64 = GROTH16_VERIFY_4_INPUTS
    + poseidon(10)
    + CPI_INVOKE
    + CPI_ACCOUNT_BYTES
    + TOKEN_TRANSFER_CHECKED
    + HANDLER_ALLOWANCE;

/// The ceiling for resolve.
pub const RESOLVE_TARGET: u64 = 110_000;

// The budget is checked when the crate compiles.
const _: () = assert!(RESOLVE_ESTIMATE < RESOLVE_TARGET);
const _: () = assert!(RESOLVE_ESTIMATE < crate::instruction::RESOLVE_COMPUTE_UNITS as u64);

/// The budget table, one `(item, units)` row each.
pub fn resolve_table() -> Vec<(&'static str, u64)> {
    vec![
        ("Groth16 verify, 4 public inputs (groth16-solana 0.3.1)", GROTH16_VERIFY_4_INPUTS),
        ("rule hash: sol_poseidon, 10 inputs (61·n²+542)", poseidon(10)),
        ("fee transfer: CPI invoke", CPI_INVOKE),
        ("fee transfer: CPI account bytes", CPI_ACCOUNT_BYTES),
        ("fee transfer: SPL Token transfer_checked", TOKEN_TRANSFER_CHECKED),
        ("handler allowance (accounts, checks, writes)", HANDLER_ALLOWANCE),
        ("total", RESOLVE_ESTIMATE),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sums_to_the_estimate() {
        assert_eq!(poseidon(3), 1_091, "the notes' figure for three inputs");
        let table = resolve_table();
        let (total, items) = table.split_last().expect("rows");
        assert_eq!(items.iter().map(|(_, u)| u).sum::<u64>(), total.1);
    }
}
