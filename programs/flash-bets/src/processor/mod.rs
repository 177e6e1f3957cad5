//! The program's entry: decode the instruction, then run its handler. Each handler checks
//! every account it is given before it changes anything.

pub mod accounts;
pub mod admin;
pub mod bet;
pub mod claim;
pub mod market;
pub mod resolve;
pub mod token;

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::pubkey::Pubkey;

use crate::error::FlashError;
use crate::instruction::FlashInstruction;

pub fn process_instruction(program_id: &Pubkey, accounts: &[AccountInfo<'_>], data: &[u8]) -> ProgramResult {
    match FlashInstruction::decode(data, cfg!(feature = "experimental"))? {
        FlashInstruction::InitializeConfig { admin_threshold, admins, oracles, fee_bps } => {
            admin::initialize_config(program_id, accounts, admin_threshold, admins, oracles, fee_bps)
        }
        FlashInstruction::SetVerifyingKey { circuit_id, ticks, key } => {
            admin::set_verifying_key(program_id, accounts, circuit_id, ticks, key)
        }
        FlashInstruction::SetPaused { paused } => admin::set_paused(program_id, accounts, paused),
        FlashInstruction::CreateMarket { market_id, circuit_id, rule, lock_at, resolve_by } => {
            market::create(program_id, accounts, market_id, circuit_id, rule, lock_at, resolve_by)
        }
        FlashInstruction::PlaceBet { outcome, amount } => bet::place(program_id, accounts, outcome, amount),
        FlashInstruction::LockMarket { commitment } => market::lock(program_id, accounts, commitment),
        FlashInstruction::ResolveMarket { outcome, proof } => resolve::resolve(program_id, accounts, outcome, proof),
        FlashInstruction::Claim => claim::claim(program_id, accounts),
        FlashInstruction::VoidMarket => market::void(program_id, accounts),
        FlashInstruction::LeveragedBet | FlashInstruction::ChainedBet | FlashInstruction::AdvancedOrder => {
            Err(FlashError::NotImplemented.into())
        }
    }
}
