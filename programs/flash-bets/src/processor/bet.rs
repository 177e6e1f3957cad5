//! Placing a bet: collateral moves from the bettor's token account into the market's vault,
//! and the bettor's position on that outcome grows (created on the first bet).

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::pubkey::Pubkey;

use super::accounts::{self, next};
use crate::error::FlashError;
use crate::state::{self, MarketStatus, Position};

/// Accounts: bettor (signer, payer), config, market, position PDA, bettor's token account,
/// vault, mint, token program, system program.
pub fn place(program_id: &Pubkey, accounts: &[AccountInfo<'_>], outcome: u8, amount: u64) -> ProgramResult {
    let it = &mut accounts.iter();
    let bettor = next(it)?;
    let config_account = next(it)?;
    let market_account = next(it)?;
    let position_account = next(it)?;
    let bettor_token = next(it)?;
    let vault = next(it)?;
    let mint = next(it)?;
    let token_program = next(it)?;
    let system_program = next(it)?;
    accounts::signer(bettor)?;
    let config = accounts::config(program_id, config_account)?;
    if config.paused {
        return Err(FlashError::Paused.into());
    }
    let mut market = super::market::load(program_id, market_account)?;
    if market.status != MarketStatus::Open {
        return Err(FlashError::WrongMarketState.into());
    }
    if accounts::now()? >= market.lock_at {
        return Err(FlashError::BettingClosed.into());
    }
    if outcome >= market.outcome_count {
        return Err(FlashError::InvalidOutcome.into());
    }
    if amount == 0 {
        return Err(FlashError::ZeroAmount.into());
    }
    super::token::program(token_program)?;
    let decimals = super::token::mint_decimals(mint, &config.mint)?;
    super::token::account(bettor_token, &config.mint, Some(bettor.key))?;
    super::market::vault(&market, vault)?;
    super::token::account(vault, &config.mint, Some(market_account.key))?;

    let index = usize::from(outcome);
    market.totals[index] = market.totals[index].checked_add(amount).ok_or(FlashError::Overflow)?;
    let mut position = if position_account.owner == program_id {
        let position = Position::read(&position_account.try_borrow_data()?)?;
        if &position.owner != bettor.key || &position.market != market_account.key || position.outcome != outcome {
            return Err(FlashError::WrongAccount.into());
        }
        position
    } else {
        let (position_key, bump) = state::position_address(program_id, market_account.key, bettor.key, outcome);
        accounts::address(position_account, &position_key)?;
        accounts::create_pda(
            bettor,
            position_account,
            system_program,
            &[state::POSITION_SEED, market_account.key.as_ref(), bettor.key.as_ref(), &[outcome], &[bump]],
            Position::LEN,
            program_id,
        )?;
        market.positions[index] = market.positions[index].checked_add(1).ok_or(FlashError::Overflow)?;
        Position { bump, market: *market_account.key, owner: *bettor.key, outcome, amount: 0, claimed: false }
    };
    position.amount = position.amount.checked_add(amount).ok_or(FlashError::Overflow)?;
    super::token::transfer(token_program, bettor_token, mint, vault, bettor, amount, decimals, &[])?;
    position.write(&mut position_account.try_borrow_mut_data()?)?;
    super::market::save(&market, market_account)
}
