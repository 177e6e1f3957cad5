//! Resolution: anyone submits a Groth16 proof that the market's committed ticks give outcome
//! `k` under its rule. Every public input comes from the market account (its id, the oracle's
//! commitment, the hash of its stored rule) except the claimed outcome, which the proof binds.
//! Once resolved the status never changes again, so a proof cannot be replayed.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::pubkey::Pubkey;

use super::accounts::{self, next};
use crate::error::FlashError;
use crate::rule::field_u64;
use crate::state::{self, MarketStatus};
use crate::verifier::{self, Proof};

/// Accounts: config, market, verifying-key PDA, vault, fee account, mint, token program.
pub fn resolve(program_id: &Pubkey, accounts: &[AccountInfo<'_>], outcome: u8, proof: Proof) -> ProgramResult {
    let it = &mut accounts.iter();
    let config_account = next(it)?;
    let market_account = next(it)?;
    let vk_account = next(it)?;
    let vault = next(it)?;
    let fee_account = next(it)?;
    let mint = next(it)?;
    let token_program = next(it)?;
    // Not refused while paused: a pause stops new risk (markets, bets, locks), and refusing
    // valid proofs would let a pause that spans the deadline void markets.
    let config = accounts::config(program_id, config_account)?;
    let mut market = super::market::load(program_id, market_account)?;
    let commitment = match (market.status, market.commitment) {
        (MarketStatus::Locked, Some(c)) => c,
        _ => return Err(FlashError::WrongMarketState.into()),
    };
    if accounts::now()? > market.resolve_by {
        return Err(FlashError::DeadlinePassed.into());
    }
    if outcome >= market.outcome_count {
        return Err(FlashError::InvalidOutcome.into());
    }
    let key = super::market::verifying_key(program_id, &market, vk_account)?.key;
    let inputs = [market.market_id, commitment, market.rule.hash()?, field_u64(u64::from(outcome))];
    verifier::verify(&key, &proof, &inputs)?;

    market.winning_outcome = Some(outcome);
    let winning_total = market.totals[usize::from(outcome)];
    if winning_total == 0 {
        // Nobody backed the outcome: everyone gets their stake back, and no fee is taken.
        market.status = MarketStatus::Voided;
        return super::market::save(&market, market_account);
    }
    let losing = market.losing_total(outcome)?;
    let fee = crate::payout::fee(losing, market.fee_bps)?;
    market.payout_pool = losing - fee;
    market.fee_paid = fee;
    market.status = MarketStatus::Resolved;
    if fee > 0 {
        super::token::program(token_program)?;
        let decimals = super::token::mint_decimals(mint, &config.mint)?;
        accounts::address(fee_account, &config.fee_account)?;
        super::token::account(fee_account, &config.mint, None)?;
        super::market::vault(&market, vault)?;
        let seeds: &[&[u8]] = &[state::MARKET_SEED, &market.market_id, &[market.bump]];
        super::token::transfer(token_program, vault, mint, fee_account, market_account, fee, decimals, seeds)?;
    }
    super::market::save(&market, market_account)
}
