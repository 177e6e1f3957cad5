//! SPL Token CPIs and token-account checks: the market vault (a token account at a PDA whose
//! authority is the market), deposits and payouts with `transfer_checked`.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::program::invoke_signed;
use solana_program::program_pack::Pack;
use solana_program::pubkey::Pubkey;
use spl_token_interface::state::{Account, Mint};

use crate::error::FlashError;
use crate::instruction::TOKEN_PROGRAM_ID;

pub fn program(a: &AccountInfo<'_>) -> Result<(), FlashError> {
    super::accounts::address(a, &TOKEN_PROGRAM_ID)
}

/// The mint's decimals, after checking it is the config's collateral mint.
pub fn mint_decimals(mint: &AccountInfo<'_>, expected: &Pubkey) -> Result<u8, FlashError> {
    if mint.key != expected {
        return Err(FlashError::WrongMint);
    }
    super::accounts::owned_by(mint, &TOKEN_PROGRAM_ID)?;
    let data = mint.try_borrow_data().map_err(|_| FlashError::WrongAccount)?;
    Ok(Mint::unpack(&data).map_err(|_| FlashError::WrongAccount)?.decimals)
}

/// A token account of `mint`, optionally owned by `owner`.
pub fn account(a: &AccountInfo<'_>, mint: &Pubkey, owner: Option<&Pubkey>) -> Result<Account, FlashError> {
    super::accounts::owned_by(a, &TOKEN_PROGRAM_ID)?;
    let data = a.try_borrow_data().map_err(|_| FlashError::WrongAccount)?;
    let account = Account::unpack(&data).map_err(|_| FlashError::WrongAccount)?;
    if &account.mint != mint {
        return Err(FlashError::WrongMint);
    }
    if owner.is_some_and(|o| &account.owner != o) {
        return Err(FlashError::WrongTokenOwner);
    }
    Ok(account)
}

/// Makes `vault` (already allocated to the token program) a token account of `mint` owned
/// by `authority`.
pub fn initialize_vault<'a>(
    token_program: &AccountInfo<'a>,
    vault: &AccountInfo<'a>,
    mint: &AccountInfo<'a>,
    authority: &Pubkey,
) -> ProgramResult {
    let ix = spl_token_interface::instruction::initialize_account3(&TOKEN_PROGRAM_ID, vault.key, mint.key, authority)?;
    invoke_signed(&ix, &[vault.clone(), mint.clone(), token_program.clone()], &[])
}

/// Moves `amount` from `from` to `to`; `seeds` sign for a PDA authority.
#[allow(clippy::too_many_arguments)] // One CPI's accounts and arguments, in the token program's order.
pub fn transfer<'a>(
    token_program: &AccountInfo<'a>,
    from: &AccountInfo<'a>,
    mint: &AccountInfo<'a>,
    to: &AccountInfo<'a>,
    authority: &AccountInfo<'a>,
    amount: u64,
    decimals: u8,
    seeds: &[&[u8]],
) -> ProgramResult {
    if amount == 0 {
        return Ok(());
    }
    let ix = spl_token_interface::instruction::transfer_checked(
        &TOKEN_PROGRAM_ID,
        from.key,
        mint.key,
        to.key,
        authority.key,
        &[],
        amount,
        decimals,
    )?;
    let infos = [from.clone(), mint.clone(), to.clone(), authority.clone(), token_program.clone()];
    if seeds.is_empty() { invoke_signed(&ix, &infos, &[]) } else { invoke_signed(&ix, &infos, &[seeds]) }
}
