//! The transactions a wallet signs for itself: bet and claim, each an unsigned legacy
//! transaction whose fee payer and only signer is the wallet, with a compute budget and the
//! wallet's associated token account. The API builds them and never holds a user's key.

use base64::Engine as _;
use kairos_flash_bets::instruction::{self, COMPUTE_BUDGET_ID, SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID};
use solana_message::Message;
use solana_program::hash::Hash;
use solana_program::instruction::{AccountMeta, Instruction};
use solana_program::pubkey::Pubkey;
use solana_transaction::Transaction;

/// The associated token account program.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey = solana_program::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

/// Units a bet asks for: the position account's creation (a system CPI), one
/// `transfer_checked` (6,173 units, see `kairos_flash_bets::compute`) and the handler, with
/// room to spare; unused units are not charged for, but a price is paid per unit asked.
pub const BET_COMPUTE_UNITS: u32 = 40_000;
/// Units a claim asks for: creating the associated token account when it is missing (the
/// ATA program with its system and token CPIs, about 25,000) and the payout transfer.
pub const CLAIM_COMPUTE_UNITS: u32 = 60_000;

/// The wallet's associated token account for `mint` (SPL Token).
pub fn associated_token_address(wallet: &Pubkey, mint: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(
        &[wallet.as_ref(), TOKEN_PROGRAM_ID.as_ref(), mint.as_ref()],
        &ASSOCIATED_TOKEN_PROGRAM_ID,
    )
    .0
}

/// `CreateIdempotent`: creates the wallet's associated token account, or does nothing when it
/// exists.
pub fn create_associated_token_account(payer: &Pubkey, wallet: &Pubkey, mint: &Pubkey) -> Instruction {
    Instruction {
        program_id: ASSOCIATED_TOKEN_PROGRAM_ID,
        accounts: vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(associated_token_address(wallet, mint), false),
            AccountMeta::new_readonly(*wallet, false),
            AccountMeta::new_readonly(*mint, false),
            AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
            AccountMeta::new_readonly(TOKEN_PROGRAM_ID, false),
        ],
        data: vec![1],
    }
}

/// `SetComputeUnitLimit` and `SetComputeUnitPrice` (micro-lamports per unit).
pub fn compute_budget(units: u32, micro_lamports: u64) -> [Instruction; 2] {
    let mut limit = vec![2u8];
    limit.extend_from_slice(&units.to_le_bytes());
    let mut price = vec![3u8];
    price.extend_from_slice(&micro_lamports.to_le_bytes());
    [
        Instruction { program_id: COMPUTE_BUDGET_ID, accounts: Vec::new(), data: limit },
        Instruction { program_id: COMPUTE_BUDGET_ID, accounts: Vec::new(), data: price },
    ]
}

/// Where and when a wallet's transaction is built.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub program_id: Pubkey,
    pub mint: Pubkey,
    /// The fee account the config names (a claim's fee goes there).
    pub fee_account: Pubkey,
    pub blockhash: Hash,
    /// The compute-unit price to bid, already capped.
    pub micro_lamports: u64,
}

/// Stakes `amount` micro-units from the wallet's associated token account on `outcome`.
pub fn bet(ctx: &Context, wallet: &Pubkey, market_id: &[u8; 32], outcome: u8, amount: u64) -> String {
    let [limit, price] = compute_budget(BET_COMPUTE_UNITS, ctx.micro_lamports);
    let token = associated_token_address(wallet, &ctx.mint);
    let bet = instruction::place_bet(&ctx.program_id, wallet, &token, &ctx.mint, market_id, outcome, amount);
    unsigned(&[limit, price, bet], wallet, ctx.blockhash)
}

/// Claims the wallet's position on `outcome` (a winning share, or the stake back from a void
/// market) into its associated token account, created first when missing.
pub fn claim(ctx: &Context, wallet: &Pubkey, market_id: &[u8; 32], outcome: u8) -> String {
    let [limit, price] = compute_budget(CLAIM_COMPUTE_UNITS, ctx.micro_lamports);
    let create = create_associated_token_account(wallet, wallet, &ctx.mint);
    let token = associated_token_address(wallet, &ctx.mint);
    let claim = instruction::claim(&ctx.program_id, wallet, &token, &ctx.mint, &ctx.fee_account, market_id, outcome);
    unsigned(&[limit, price, create, claim], wallet, ctx.blockhash)
}

/// A legacy transaction paid for and signed by `payer` alone, its signature slot zeroed,
/// serialized as the wire format and base64 (what `sendTransaction` takes once signed).
fn unsigned(instructions: &[Instruction], payer: &Pubkey, blockhash: Hash) -> String {
    let tx = Transaction::new_unsigned(Message::new_with_blockhash(instructions, Some(payer), &blockhash));
    // Serializing a transaction built in memory cannot fail.
    let bytes = bincode::serialize(&tx).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wallet_is_the_only_signer_and_pays() {
        let wallet = Pubkey::new_unique();
        let ctx = Context {
            program_id: kairos_flash_bets::ID,
            mint: Pubkey::new_unique(),
            fee_account: Pubkey::new_unique(),
            blockhash: Hash::new_unique(),
            micro_lamports: 5,
        };
        for encoded in [bet(&ctx, &wallet, &[0; 32], 1, 10), claim(&ctx, &wallet, &[0; 32], 1)] {
            let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
            let tx: Transaction = bincode::deserialize(&bytes).expect("a transaction");
            assert_eq!(tx.message.header.num_required_signatures, 1);
            assert_eq!(tx.message.account_keys[0], wallet);
            assert_eq!(tx.signatures.len(), 1);
            assert_eq!(tx.signatures[0], Default::default(), "unsigned");
            assert_eq!(tx.message.recent_blockhash, ctx.blockhash);
        }
    }
}
