//! Runs a tiny native probe program through LiteSVM with the shim: a System Program CPI with a PDA
//! signer, SPL Token CPIs (p-token and the classic program), sysvars, logs, and error mapping.
#![allow(deprecated)] // agave 3.1 "unstable API" deprecations (FeatureSet).

use {
    agave_feature_set::{FeatureSet, replace_spl_token_with_p_token},
    kairos_svm_shim::{
        add_native_program,
        litesvm::{LiteSVM, types::TransactionResult},
    },
    solana_keypair::Keypair,
    solana_program::{
        account_info::AccountInfo,
        clock::Clock,
        entrypoint::ProgramResult,
        instruction::{AccountMeta, Instruction, InstructionError},
        log::sol_log_data,
        program::{get_return_data, invoke, invoke_signed, set_return_data},
        program_error::ProgramError,
        program_pack::Pack,
        pubkey::Pubkey,
        rent::Rent,
        sysvar::Sysvar,
    },
    solana_signer::Signer,
    solana_system_interface::{instruction as system_instruction, program as system_program},
    solana_transaction::Transaction,
    solana_transaction_error::TransactionError,
    spl_token_interface::{
        instruction as token_instruction,
        state::{Account as TokenAccount, Mint},
    },
};

// ---------------------------------------------------------------------------------------------
// The probe program
// ---------------------------------------------------------------------------------------------

const PROBE_ID: Pubkey = Pubkey::new_from_array([0x50; 32]);
const STAMP_SEED: &[u8] = b"stamp";
const VAULT_SEED: &[u8] = b"vault";
/// The stamp account: `unix_timestamp: i64` then `slot: u64`, both little-endian.
const STAMP_LEN: usize = 16;

const CREATE_STAMP: u8 = 0;
const DEPOSIT: u8 = 1;
const WITHDRAW: u8 = 2;
const CPI_WITHOUT_SIGNER: u8 = 3;
const FAIL_CUSTOM_7: u8 = 4;
const PANIC: u8 = 5;
const CALL_NESTED: u8 = 6;

/// A second native program, called by the probe: it answers with return data.
const NESTED_ID: Pubkey = Pubkey::new_from_array([0x4e; 32]);

fn nested(_program_id: &Pubkey, _accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    set_return_data(&[data, b"!"].concat());
    Ok(())
}

fn probe(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (&tag, rest) = data.split_first().ok_or(ProgramError::InvalidInstructionData)?;
    match tag {
        CREATE_STAMP => create_stamp(program_id, accounts),
        DEPOSIT => deposit(accounts, read_amount(rest)?),
        WITHDRAW => withdraw(program_id, accounts, read_amount(rest)?),
        CPI_WITHOUT_SIGNER => cpi_without_signer(accounts),
        FAIL_CUSTOM_7 => Err(ProgramError::Custom(7)),
        PANIC => panic!("probe panics on purpose"),
        CALL_NESTED => call_nested(),
        _ => Err(ProgramError::InvalidInstructionData),
    }
}

fn read_amount(data: &[u8]) -> Result<u64, ProgramError> {
    let bytes = data.try_into().map_err(|_| ProgramError::InvalidInstructionData)?;
    Ok(u64::from_le_bytes(bytes))
}

/// Creates the stamp PDA (System Program CPI signed with the PDA seeds) and writes the clock.
fn create_stamp(program_id: &Pubkey, accounts: &[AccountInfo]) -> ProgramResult {
    let [payer, stamp, system] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let (expected, bump) = Pubkey::find_program_address(&[STAMP_SEED], program_id);
    if *stamp.key != expected {
        return Err(ProgramError::InvalidSeeds);
    }
    let lamports = Rent::get()?.minimum_balance(STAMP_LEN);
    let create = system_instruction::create_account(payer.key, stamp.key, lamports, STAMP_LEN as u64, program_id);
    invoke_signed(&create, &[payer.clone(), stamp.clone(), system.clone()], &[&[STAMP_SEED, &[bump]]])?;

    let clock = Clock::get()?;
    let mut data = stamp.try_borrow_mut_data()?;
    data[..8].copy_from_slice(&clock.unix_timestamp.to_le_bytes());
    data[8..].copy_from_slice(&clock.slot.to_le_bytes());
    sol_log_data(&[b"stamp", &clock.unix_timestamp.to_le_bytes()]);
    Ok(())
}

/// The user (a signer of the outer instruction) moves tokens into the vault.
fn deposit(accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let [user, user_token, mint, vault, token_program] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let decimals = Mint::unpack(&mint.try_borrow_data()?)?.decimals;
    let transfer = token_instruction::transfer_checked(
        token_program.key,
        user_token.key,
        mint.key,
        vault.key,
        user.key,
        &[],
        amount,
        decimals,
    )?;
    invoke(&transfer, &[user_token.clone(), mint.clone(), vault.clone(), user.clone(), token_program.clone()])
}

/// The vault's PDA authority moves tokens out; checks the CPI result is visible afterwards.
fn withdraw(program_id: &Pubkey, accounts: &[AccountInfo], amount: u64) -> ProgramResult {
    let [vault, mint, destination, authority, token_program] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let (expected, bump) = Pubkey::find_program_address(&[VAULT_SEED], program_id);
    if *authority.key != expected {
        return Err(ProgramError::InvalidSeeds);
    }
    let before = TokenAccount::unpack(&vault.try_borrow_data()?)?.amount;
    let decimals = Mint::unpack(&mint.try_borrow_data()?)?.decimals;
    let transfer = token_instruction::transfer_checked(
        token_program.key,
        vault.key,
        mint.key,
        destination.key,
        authority.key,
        &[],
        amount,
        decimals,
    )?;
    invoke_signed(
        &transfer,
        &[vault.clone(), mint.clone(), destination.clone(), authority.clone(), token_program.clone()],
        &[&[VAULT_SEED, &[bump]]],
    )?;
    let after = TokenAccount::unpack(&vault.try_borrow_data()?)?.amount;
    if before.checked_sub(amount) != Some(after) {
        return Err(ProgramError::Custom(99)); // the CPI's effect was not copied back
    }
    Ok(())
}

/// Moves lamports from an account that did not sign, ignores the CPI error and returns `Ok`:
/// the failed CPI must still fail the transaction.
fn cpi_without_signer(accounts: &[AccountInfo]) -> ProgramResult {
    let [from, to, system] = accounts else {
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    let transfer = system_instruction::transfer(from.key, to.key, 1);
    let _ignored = invoke(&transfer, &[from.clone(), to.clone(), system.clone()]);
    Ok(())
}

/// CPI into another native program and read its return data.
fn call_nested() -> ProgramResult {
    invoke(&Instruction::new_with_bytes(NESTED_ID, b"ping", vec![]), &[])?;
    match get_return_data() {
        Some((program_id, data)) if program_id == NESTED_ID && data == b"ping!" => Ok(()),
        _ => Err(ProgramError::Custom(100)),
    }
}

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn setup(mut svm: LiteSVM) -> (LiteSVM, Keypair) {
    add_native_program(&mut svm, PROBE_ID, probe);
    add_native_program(&mut svm, NESTED_ID, nested);
    let payer = Keypair::new();
    svm.airdrop(&payer.pubkey(), 10_000_000_000).expect("airdrop");
    (svm, payer)
}

/// LiteSVM's default setup (mainnet features: `Tokenkeg…` is p-token).
fn default_svm() -> (LiteSVM, Keypair) {
    setup(LiteSVM::new())
}

/// The same setup with `replace_spl_token_with_p_token` off: `Tokenkeg…` is SPL Token 3.5.0.
fn classic_token_svm() -> (LiteSVM, Keypair) {
    let mut features: FeatureSet = LiteSVM::mainnet_feature_set();
    features.deactivate(&replace_spl_token_with_p_token::id());
    let svm = LiteSVM::default()
        .with_feature_set(features)
        .with_builtins()
        .with_lamports(1_000_000_000_000_000)
        .with_sysvars()
        .with_feature_accounts()
        .with_default_programs()
        .with_sigverify(true)
        .with_blockhash_check(true);
    setup(svm)
}

#[allow(clippy::result_large_err)] // LiteSVM's own result type, passed through as is.
fn send(svm: &mut LiteSVM, payer: &Keypair, instructions: &[Instruction], signers: &[&Keypair]) -> TransactionResult {
    let mut all_signers = vec![payer];
    all_signers.extend_from_slice(signers);
    let tx =
        Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &all_signers, svm.latest_blockhash());
    svm.send_transaction(tx)
}

fn probe_ix(tag: u8, amount: Option<u64>, accounts: Vec<AccountMeta>) -> Instruction {
    let mut data = vec![tag];
    data.extend(amount.map(u64::to_le_bytes).unwrap_or_default());
    Instruction::new_with_bytes(PROBE_ID, &data, accounts)
}

fn token_balance(svm: &LiteSVM, account: &Pubkey) -> u64 {
    let account = svm.get_account(account).expect("token account exists");
    TokenAccount::unpack(&account.data).expect("token account data").amount
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn system_cpi_with_pda_signer_creates_account_and_stores_clock() {
    let (mut svm, payer) = default_svm();
    let mut clock = svm.get_sysvar::<Clock>();
    clock.unix_timestamp = 1_750_000_000;
    svm.set_sysvar::<Clock>(&clock);
    svm.warp_to_slot(4_242);

    let (stamp, _) = Pubkey::find_program_address(&[STAMP_SEED], &PROBE_ID);
    let ix = probe_ix(
        CREATE_STAMP,
        None,
        vec![
            AccountMeta::new(payer.pubkey(), true),
            AccountMeta::new(stamp, false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    );
    let meta = send(&mut svm, &payer, &[ix], &[]).expect("create_stamp succeeds");

    let account = svm.get_account(&stamp).expect("stamp account created");
    assert_eq!(account.owner, PROBE_ID);
    assert_eq!(account.lamports, svm.minimum_balance_for_rent_exemption(STAMP_LEN));
    assert_eq!(account.data[..8], 1_750_000_000_i64.to_le_bytes());
    assert_eq!(account.data[8..], 4_242_u64.to_le_bytes());

    let logs = meta.logs.join("\n");
    assert!(logs.contains(&format!("Program {} invoke [2]", system_program::ID)), "{logs}");
    assert!(logs.contains("Program data: c3RhbXA= "), "sol_log_data is logged: {logs}");
    assert!(logs.contains(&format!("Program {PROBE_ID} success")), "{logs}");
    assert!(meta.compute_units_consumed > 1, "1 CU for the probe plus the System Program");
}

fn token_round_trip(svm: &mut LiteSVM, payer: &Keypair) {
    let token_program = spl_token_interface::ID;
    let (mint, user, user_token, vault) = (Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new());
    let (vault_authority, _) = Pubkey::find_program_address(&[VAULT_SEED], &PROBE_ID);
    let mint_rent = svm.minimum_balance_for_rent_exemption(Mint::LEN);
    let account_rent = svm.minimum_balance_for_rent_exemption(TokenAccount::LEN);
    let new_account = |account: &Keypair, lamports: u64, len: usize| {
        system_instruction::create_account(&payer.pubkey(), &account.pubkey(), lamports, len as u64, &token_program)
    };

    let create_mint = [
        new_account(&mint, mint_rent, Mint::LEN),
        token_instruction::initialize_mint2(&token_program, &mint.pubkey(), &payer.pubkey(), None, 6)
            .expect("initialize_mint2"),
    ];
    send(svm, payer, &create_mint, &[&mint]).expect("mint created");
    let create_accounts = [
        new_account(&user_token, account_rent, TokenAccount::LEN),
        token_instruction::initialize_account3(&token_program, &user_token.pubkey(), &mint.pubkey(), &user.pubkey())
            .expect("initialize_account3 (user)"),
        new_account(&vault, account_rent, TokenAccount::LEN),
        token_instruction::initialize_account3(&token_program, &vault.pubkey(), &mint.pubkey(), &vault_authority)
            .expect("initialize_account3 (vault)"),
        token_instruction::mint_to(&token_program, &mint.pubkey(), &user_token.pubkey(), &payer.pubkey(), &[], 1_000)
            .expect("mint_to"),
    ];
    send(svm, payer, &create_accounts, &[&user_token, &vault]).expect("token accounts created and funded");

    let deposit = probe_ix(
        DEPOSIT,
        Some(400),
        vec![
            AccountMeta::new_readonly(user.pubkey(), true),
            AccountMeta::new(user_token.pubkey(), false),
            AccountMeta::new_readonly(mint.pubkey(), false),
            AccountMeta::new(vault.pubkey(), false),
            AccountMeta::new_readonly(token_program, false),
        ],
    );
    send(svm, payer, &[deposit], &[&user]).expect("deposit succeeds");
    assert_eq!(token_balance(svm, &user_token.pubkey()), 600);
    assert_eq!(token_balance(svm, &vault.pubkey()), 400);

    let withdraw = probe_ix(
        WITHDRAW,
        Some(150),
        vec![
            AccountMeta::new(vault.pubkey(), false),
            AccountMeta::new_readonly(mint.pubkey(), false),
            AccountMeta::new(user_token.pubkey(), false),
            AccountMeta::new_readonly(vault_authority, false),
            AccountMeta::new_readonly(token_program, false),
        ],
    );
    let meta = send(svm, payer, &[withdraw], &[]).expect("withdraw with the PDA signature succeeds");
    assert_eq!(token_balance(svm, &user_token.pubkey()), 750);
    assert_eq!(token_balance(svm, &vault.pubkey()), 250);
    let logs = meta.logs.join("\n");
    assert!(logs.contains(&format!("Program {token_program} invoke [2]")), "{logs}");
}

#[test]
fn token_cpi_with_pda_signer_on_p_token() {
    let (mut svm, payer) = default_svm();
    token_round_trip(&mut svm, &payer);
}

#[test]
fn token_cpi_with_pda_signer_on_classic_spl_token() {
    let (mut svm, payer) = classic_token_svm();
    token_round_trip(&mut svm, &payer);
}

#[test]
fn cpi_missing_a_signer_fails_the_transaction() {
    let (mut svm, payer) = default_svm();
    let (from, to) = (Keypair::new(), Pubkey::new_unique());
    svm.airdrop(&from.pubkey(), 1_000_000_000).expect("airdrop");
    let ix = probe_ix(
        CPI_WITHOUT_SIGNER,
        None,
        vec![
            AccountMeta::new(from.pubkey(), false), // writable, but not a signer
            AccountMeta::new(to, false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    );
    let failed = send(&mut svm, &payer, &[ix], &[]).expect_err("the outer instruction must fail");
    assert_eq!(failed.err, TransactionError::InstructionError(0, InstructionError::PrivilegeEscalation));
    assert!(svm.get_account(&to).is_none_or(|account| account.lamports == 0));
}

#[test]
fn program_error_maps_to_the_matching_instruction_error() {
    let (mut svm, payer) = default_svm();
    let failed = send(&mut svm, &payer, &[probe_ix(FAIL_CUSTOM_7, None, vec![])], &[]).expect_err("fails");
    assert_eq!(failed.err, TransactionError::InstructionError(0, InstructionError::Custom(7)));

    let failed = send(&mut svm, &payer, &[probe_ix(99, None, vec![])], &[]).expect_err("fails");
    assert_eq!(failed.err, TransactionError::InstructionError(0, InstructionError::InvalidInstructionData));
}

#[test]
fn panic_maps_to_program_failed_to_complete() {
    let (mut svm, payer) = default_svm();
    let failed = send(&mut svm, &payer, &[probe_ix(PANIC, None, vec![])], &[]).expect_err("fails");
    assert_eq!(failed.err, TransactionError::InstructionError(0, InstructionError::ProgramFailedToComplete));
    let logs = failed.meta.logs.join("\n");
    assert!(logs.contains("panicked: probe panics on purpose"), "{logs}");
}

#[test]
fn cpi_between_native_programs_passes_return_data() {
    let (mut svm, payer) = default_svm();
    let ix = probe_ix(CALL_NESTED, None, vec![AccountMeta::new_readonly(NESTED_ID, false)]);
    let meta = send(&mut svm, &payer, &[ix], &[]).expect("nested call succeeds");
    let logs = meta.logs.join("\n");
    assert!(logs.contains(&format!("Program {NESTED_ID} invoke [2]")), "{logs}");
}
