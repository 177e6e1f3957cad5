//! Account checks and PDA creation shared by the instructions. Every account an instruction
//! reads is checked for its address (PDAs are re-derived), owner and layout before use.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::program::invoke_signed;
use solana_program::pubkey::Pubkey;
use solana_sysvar::Sysvar;
use solana_sysvar::rent::Rent;

use crate::error::FlashError;
use crate::instruction::SYSTEM_PROGRAM_ID;
use crate::state::Config;

/// The next account of the instruction, or `InvalidInstruction` when too few were passed.
pub fn next<'a, 'b>(iter: &mut std::slice::Iter<'b, AccountInfo<'a>>) -> Result<&'b AccountInfo<'a>, FlashError> {
    iter.next().ok_or(FlashError::InvalidInstruction)
}

pub fn signer(a: &AccountInfo<'_>) -> Result<(), FlashError> {
    if a.is_signer { Ok(()) } else { Err(FlashError::MissingSignature) }
}

pub fn address(a: &AccountInfo<'_>, expected: &Pubkey) -> Result<(), FlashError> {
    if a.key == expected { Ok(()) } else { Err(FlashError::WrongAccount) }
}

pub fn owned_by(a: &AccountInfo<'_>, owner: &Pubkey) -> Result<(), FlashError> {
    if a.owner == owner { Ok(()) } else { Err(FlashError::WrongAccount) }
}

pub fn writable(a: &AccountInfo<'_>) -> Result<(), FlashError> {
    if a.is_writable { Ok(()) } else { Err(FlashError::WrongAccount) }
}

/// The config: an account this program owns with the config's layout (the program creates
/// one only at the config PDA).
pub fn config(program_id: &Pubkey, a: &AccountInfo<'_>) -> Result<Config, FlashError> {
    owned_by(a, program_id)?;
    let data = a.try_borrow_data().map_err(|_| FlashError::WrongAccount)?;
    Config::read(&data)
}

/// Distinct admins among the signer accounts must reach the config's threshold: one key
/// passed twice counts once.
pub fn admins_signed(config: &Config, signers: &[AccountInfo<'_>]) -> Result<(), FlashError> {
    let mut seen: Vec<&Pubkey> = Vec::with_capacity(signers.len());
    for s in signers.iter().filter(|s| s.is_signer && config.admins.contains(s.key)) {
        if !seen.contains(&s.key) {
            seen.push(s.key);
        }
    }
    if seen.len() >= usize::from(config.admin_threshold) { Ok(()) } else { Err(FlashError::NotEnoughAdmins) }
}

/// Creates the PDA `account` (signed by `seeds`) with `space` bytes owned by `owner`, rent
/// paid by `payer`. An address someone pre-funded to block creation is topped up, allocated
/// and assigned instead.
pub fn create_pda<'a>(
    payer: &AccountInfo<'a>,
    account: &AccountInfo<'a>,
    system_program: &AccountInfo<'a>,
    seeds: &[&[u8]],
    space: usize,
    owner: &Pubkey,
) -> ProgramResult {
    address(system_program, &SYSTEM_PROGRAM_ID)?;
    if account.owner != &SYSTEM_PROGRAM_ID || !account.data_is_empty() {
        return Err(FlashError::WrongAccount.into());
    }
    let rent = Rent::get()?.minimum_balance(space);
    let infos = [payer.clone(), account.clone(), system_program.clone()];
    let held = account.lamports();
    if held == 0 {
        let ix =
            solana_system_interface::instruction::create_account(payer.key, account.key, rent, space as u64, owner);
        return invoke_signed(&ix, &infos, &[seeds]);
    }
    if held < rent {
        let ix = solana_system_interface::instruction::transfer(payer.key, account.key, rent - held);
        invoke_signed(&ix, &infos, &[])?;
    }
    invoke_signed(&solana_system_interface::instruction::allocate(account.key, space as u64), &infos, &[seeds])?;
    invoke_signed(&solana_system_interface::instruction::assign(account.key, owner), &infos, &[seeds])
}

/// The current unix time from the `Clock` sysvar.
pub fn now() -> Result<i64, solana_program::program_error::ProgramError> {
    Ok(solana_sysvar::clock::Clock::get()?.unix_timestamp)
}
