//! Claims: a winner takes their stake plus their share of the pool, a voided market refunds
//! every stake, once per position. The last winning claim sweeps the rounding dust to the
//! fee account, so the vault ends empty.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::pubkey::Pubkey;

use super::accounts::{self, next};
use crate::error::FlashError;
use crate::state::{self, MarketStatus, Position};

/// Accounts: owner (signer), config, market, position, owner's token account, vault, fee
/// account, mint, token program.
pub fn claim(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let owner = next(it)?;
    let config_account = next(it)?;
    let market_account = next(it)?;
    let position_account = next(it)?;
    let owner_token = next(it)?;
    let vault = next(it)?;
    let fee_account = next(it)?;
    let mint = next(it)?;
    let token_program = next(it)?;
    accounts::signer(owner)?;
    let config = accounts::config(program_id, config_account)?;
    let mut market = super::market::load(program_id, market_account)?;
    accounts::owned_by(position_account, program_id)?;
    accounts::writable(position_account)?;
    // The program creates positions only at their PDAs, so a position it owns whose owner
    // and market match is the signer's position in this market.
    let mut position = Position::read(&position_account.try_borrow_data()?)?;
    if &position.owner != owner.key || &position.market != market_account.key {
        return Err(FlashError::WrongAccount.into());
    }
    if position.claimed {
        return Err(FlashError::AlreadyClaimed.into());
    }
    let last_winner;
    let payout = match (market.status, market.winning_outcome) {
        (MarketStatus::Voided, _) => {
            last_winner = false;
            position.amount
        }
        (MarketStatus::Resolved, Some(w)) if w == position.outcome => {
            market.winning_claims = market.winning_claims.checked_add(1).ok_or(FlashError::Overflow)?;
            last_winner = market.winning_claims == market.positions[usize::from(w)];
            crate::payout::winner_payout(position.amount, market.payout_pool, market.totals[usize::from(w)])?
        }
        (MarketStatus::Resolved, _) => return Err(FlashError::LosingPosition.into()),
        _ => return Err(FlashError::WrongMarketState.into()),
    };
    super::token::program(token_program)?;
    let decimals = super::token::mint_decimals(mint, &config.mint)?;
    super::token::account(owner_token, &config.mint, Some(owner.key))?;
    super::market::vault(&market, vault)?;
    let held = super::token::account(vault, &config.mint, Some(market_account.key))?.amount;
    if payout > held {
        return Err(FlashError::VaultShort.into());
    }
    position.claimed = true;
    position.write(&mut position_account.try_borrow_mut_data()?)?;
    super::market::save(&market, market_account)?;
    let seeds: &[&[u8]] = &[state::MARKET_SEED, &market.market_id, &[market.bump]];
    super::token::transfer(token_program, vault, mint, owner_token, market_account, payout, decimals, seeds)?;
    if last_winner && held > payout {
        accounts::address(fee_account, &config.fee_account)?;
        super::token::account(fee_account, &config.mint, None)?;
        super::token::transfer(
            token_program,
            vault,
            mint,
            fee_account,
            market_account,
            held - payout,
            decimals,
            seeds,
        )?;
    }
    Ok(())
}
