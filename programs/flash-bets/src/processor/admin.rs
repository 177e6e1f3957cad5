//! Config and verifying keys: initialization by the upgrade authority, then M-of-N admin
//! signatures in the same transaction for the pause switch and for storing or rotating a key.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::pubkey::Pubkey;

use super::accounts::{self, next};
use crate::error::FlashError;
use crate::instruction::{UPGRADEABLE_LOADER_ID, program_data_address};
use crate::state::{self, Config, VerifyingKeyAccount};
use crate::verifier::VerifyingKey;

/// Accounts: authority (signer, payer), config, program data, mint, fee account, system program.
pub fn initialize_config(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    admin_threshold: u8,
    admins: Vec<Pubkey>,
    oracles: Vec<Pubkey>,
    fee_bps: u16,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let authority = next(it)?;
    let config_account = next(it)?;
    let program_data = next(it)?;
    let mint = next(it)?;
    let fee_account = next(it)?;
    let system_program = next(it)?;
    accounts::signer(authority)?;
    let (config_key, bump) = state::config_address(program_id);
    accounts::address(config_account, &config_key)?;
    if config_account.owner == program_id {
        return Err(FlashError::AlreadyInitialized.into());
    }
    // Whoever first initializes owns the program, so only its upgrade authority may.
    accounts::address(program_data, &program_data_address(program_id))?;
    accounts::owned_by(program_data, &UPGRADEABLE_LOADER_ID)?;
    if upgrade_authority(&program_data.try_borrow_data()?)? != Some(*authority.key) {
        return Err(FlashError::NotUpgradeAuthority.into());
    }
    super::token::mint_decimals(mint, mint.key)?;
    super::token::account(fee_account, mint.key, None)?;
    let config = Config {
        bump,
        paused: false,
        admin_threshold,
        admins,
        oracles,
        fee_bps,
        mint: *mint.key,
        fee_account: *fee_account.key,
    };
    config.validate()?;
    accounts::create_pda(
        authority,
        config_account,
        system_program,
        &[state::CONFIG_SEED, &[bump]],
        Config::LEN,
        program_id,
    )?;
    config.write(&mut config_account.try_borrow_mut_data()?)?;
    Ok(())
}

/// The upgrade authority in an upgradeable loader's `ProgramData` account: a `u32` variant
/// tag (3), the deploy slot, then an optional authority.
fn upgrade_authority(data: &[u8]) -> Result<Option<Pubkey>, FlashError> {
    let mut r = crate::layout::Reader::new(data);
    let map = |_| FlashError::WrongAccount;
    if r.u32().map_err(map)? != 3 {
        return Err(FlashError::WrongAccount);
    }
    r.u64().map_err(map)?;
    match r.u8().map_err(map)? {
        0 => Ok(None),
        1 => Ok(Some(r.pubkey().map_err(map)?)),
        _ => Err(FlashError::WrongAccount),
    }
}

/// Accounts: payer (signer), config, verifying-key PDA, system program, then admin signers.
pub fn set_verifying_key(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    circuit_id: u32,
    ticks: u16,
    key: VerifyingKey,
) -> ProgramResult {
    let (fixed, signers) = accounts.split_at_checked(4).ok_or(FlashError::InvalidInstruction)?;
    let [payer, config_account, vk_account, system_program] = fixed else {
        return Err(FlashError::InvalidInstruction.into());
    };
    accounts::signer(payer)?;
    let config = accounts::config(program_id, config_account)?;
    accounts::admins_signed(&config, signers)?;
    let (vk_key, bump) = state::vk_address(program_id, circuit_id);
    accounts::address(vk_account, &vk_key)?;
    key.check()?;
    if vk_account.owner != program_id {
        accounts::create_pda(
            payer,
            vk_account,
            system_program,
            &[state::VK_SEED, &circuit_id.to_le_bytes(), &[bump]],
            VerifyingKeyAccount::LEN,
            program_id,
        )?;
    }
    let stored = VerifyingKeyAccount { bump, circuit_id, ticks, hash: key.hash(), key };
    stored.write(&mut vk_account.try_borrow_mut_data()?)?;
    Ok(())
}

/// Accounts: config, then admin signers.
pub fn set_paused(program_id: &Pubkey, accounts: &[AccountInfo<'_>], paused: bool) -> ProgramResult {
    let (config_account, signers) = accounts.split_first().ok_or(FlashError::InvalidInstruction)?;
    accounts::writable(config_account)?;
    let mut config = accounts::config(program_id, config_account)?;
    accounts::admins_signed(&config, signers)?;
    config.paused = paused;
    config.write(&mut config_account.try_borrow_mut_data()?)?;
    Ok(())
}
