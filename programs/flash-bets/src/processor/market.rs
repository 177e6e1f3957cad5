//! A market's life outside betting and payouts: creation with its vault, the oracle's lock
//! with the commitment, and voiding when no proof came in time or nobody won.

use solana_program::account_info::AccountInfo;
use solana_program::entrypoint::ProgramResult;
use solana_program::program_pack::Pack;
use solana_program::pubkey::Pubkey;

use super::accounts::{self, next};
use crate::error::FlashError;
use crate::instruction::TOKEN_PROGRAM_ID;
use crate::rule::Rule;
use crate::state::{self, MAX_OUTCOMES, Market, MarketStatus, VerifyingKeyAccount};

/// A market: writable, owned by this program, with the market layout (created only at
/// its PDA).
pub fn load(program_id: &Pubkey, a: &AccountInfo<'_>) -> Result<Market, FlashError> {
    accounts::owned_by(a, program_id)?;
    accounts::writable(a)?;
    Market::read(&a.try_borrow_data().map_err(|_| FlashError::WrongAccount)?)
}

/// The market's own vault, by the address stored at creation.
pub fn vault(market: &Market, a: &AccountInfo<'_>) -> Result<(), FlashError> {
    accounts::address(a, &market.vault)
}

/// The verifying key the market was created with (its circuit's key, unrotated).
pub fn verifying_key(
    program_id: &Pubkey,
    market: &Market,
    a: &AccountInfo<'_>,
) -> Result<VerifyingKeyAccount, FlashError> {
    accounts::owned_by(a, program_id)?;
    let stored = VerifyingKeyAccount::read(&a.try_borrow_data().map_err(|_| FlashError::WrongAccount)?)?;
    if stored.circuit_id != market.circuit_id {
        return Err(FlashError::WrongAccount);
    }
    if stored.hash != market.vk_hash {
        return Err(FlashError::KeyRotated);
    }
    Ok(stored)
}

pub fn save(market: &Market, a: &AccountInfo<'_>) -> ProgramResult {
    market.write(&mut a.try_borrow_mut_data()?)?;
    Ok(())
}

/// The first byte is zero, so the id read big-endian is below the BN254 scalar modulus.
pub fn check_id(id: &[u8; 32]) -> Result<(), FlashError> {
    if id[0] == 0 { Ok(()) } else { Err(FlashError::InvalidId) }
}

/// Accounts: oracle (signer, payer), config, market PDA, vault PDA, mint, verifying-key PDA,
/// system program, token program.
pub fn create(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    market_id: [u8; 32],
    circuit_id: u32,
    rule: Rule,
    lock_at: i64,
    resolve_by: i64,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let oracle = next(it)?;
    let config_account = next(it)?;
    let market_account = next(it)?;
    let vault = next(it)?;
    let mint = next(it)?;
    let vk_account = next(it)?;
    let system_program = next(it)?;
    let token_program = next(it)?;
    accounts::signer(oracle)?;
    let config = accounts::config(program_id, config_account)?;
    if config.paused {
        return Err(FlashError::Paused.into());
    }
    if !config.oracles.contains(oracle.key) {
        return Err(FlashError::NotOracle.into());
    }
    check_id(&market_id)?;
    rule.validate()?;
    let now = accounts::now()?;
    let too_long = |from: i64, to: i64| to.checked_sub(from).is_none_or(|d| d > state::MAX_SCHEDULE_SECONDS);
    if lock_at <= now || resolve_by <= lock_at || too_long(now, lock_at) || too_long(lock_at, resolve_by) {
        return Err(FlashError::InvalidSchedule.into());
    }
    // The circuit must have a key, or the market could never resolve.
    accounts::address(vk_account, &state::vk_address(program_id, circuit_id).0)?;
    accounts::owned_by(vk_account, program_id)?;
    let vk_hash = VerifyingKeyAccount::read(&vk_account.try_borrow_data()?)?.hash;
    super::token::program(token_program)?;
    super::token::mint_decimals(mint, &config.mint)?;

    let (market_key, bump) = state::market_address(program_id, &market_id);
    accounts::address(market_account, &market_key)?;
    let (vault_key, vault_bump) = state::vault_address(program_id, &market_key);
    accounts::address(vault, &vault_key)?;
    accounts::create_pda(
        oracle,
        market_account,
        system_program,
        &[state::MARKET_SEED, &market_id, &[bump]],
        Market::LEN,
        program_id,
    )?;
    accounts::create_pda(
        oracle,
        vault,
        system_program,
        &[state::VAULT_SEED, market_key.as_ref(), &[vault_bump]],
        spl_token_interface::state::Account::LEN,
        &TOKEN_PROGRAM_ID,
    )?;
    super::token::initialize_vault(token_program, vault, mint, &market_key)?;
    let market = Market {
        bump,
        vault_bump,
        status: MarketStatus::Open,
        winning_outcome: None,
        outcome_count: rule.outcome_count(),
        market_id,
        circuit_id,
        vk_hash,
        oracle: *oracle.key,
        vault: vault_key,
        rule,
        created_at: now,
        lock_at,
        resolve_by,
        commitment: None,
        totals: [0; MAX_OUTCOMES],
        positions: [0; MAX_OUTCOMES],
        fee_bps: config.fee_bps,
        payout_pool: 0,
        fee_paid: 0,
        winning_claims: 0,
    };
    save(&market, market_account)
}

/// Accounts: oracle (signer), config, market. Only the market's oracle, only from its lock
/// time and before its deadline, and only once.
pub fn lock(program_id: &Pubkey, accounts: &[AccountInfo<'_>], commitment: [u8; 32]) -> ProgramResult {
    let it = &mut accounts.iter();
    let oracle = next(it)?;
    let config_account = next(it)?;
    let market_account = next(it)?;
    accounts::signer(oracle)?;
    let config = accounts::config(program_id, config_account)?;
    if config.paused {
        return Err(FlashError::Paused.into());
    }
    let mut market = load(program_id, market_account)?;
    if oracle.key != &market.oracle || !config.oracles.contains(oracle.key) {
        return Err(FlashError::NotOracle.into());
    }
    if market.status != MarketStatus::Open {
        return Err(FlashError::WrongMarketState.into());
    }
    let now = accounts::now()?;
    if now < market.lock_at {
        return Err(FlashError::TooEarly.into());
    }
    if now > market.resolve_by {
        return Err(FlashError::DeadlinePassed.into());
    }
    if !groth16_solana::groth16::is_less_than_bn254_field_size_be(&commitment) {
        return Err(FlashError::NotAFieldElement.into());
    }
    market.commitment = Some(commitment);
    market.status = MarketStatus::Locked;
    save(&market, market_account)
}

/// Whether anyone may void the market now: unresolved past its deadline, or resolved to an
/// outcome nobody bet on.
pub fn voidable(market: &Market, now: i64) -> bool {
    match market.status {
        MarketStatus::Open | MarketStatus::Locked => now > market.resolve_by,
        MarketStatus::Resolved => {
            market.winning_outcome.is_some_and(|w| market.totals.get(usize::from(w)).is_none_or(|t| *t == 0))
        }
        MarketStatus::Voided => false,
    }
}

/// Accounts: market. Anyone; every position is then refunded by `claim`.
pub fn void(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let market_account = next(&mut accounts.iter())?;
    let mut market = load(program_id, market_account)?;
    if !voidable(&market, accounts::now()?) {
        return Err(FlashError::CannotVoid.into());
    }
    market.status = MarketStatus::Voided;
    save(&market, market_account)
}
