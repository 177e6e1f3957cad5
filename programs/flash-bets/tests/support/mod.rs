//! A LiteSVM chain with the flash-bets program registered natively (through
//! `kairos-svm-shim`), a collateral mint, a config (2 of 3 admins, one oracle, 2.5 % fee) and
//! a verifying key from the circuit crate's deterministic test keys.

#![allow(dead_code, unreachable_pub)] // Each test file uses part of the harness.
#![allow(clippy::result_large_err)] // LiteSVM's own result type, passed through as is.

use std::sync::OnceLock;

use kairos_flash_bets::instruction::{self as ix, UPGRADEABLE_LOADER_ID, program_data_address};
use kairos_flash_bets::rule::Rule;
use kairos_flash_bets::state::{self, Market, Position};
use kairos_flash_bets::verifier::Proof;
use kairos_flash_bets::{FlashError, ID};
use kairos_flash_circuit::keys::{Keys, test_keys};
use kairos_flash_circuit::statement::Statement;
use kairos_svm_shim::add_native_program;
use kairos_svm_shim::litesvm::LiteSVM;
use kairos_svm_shim::litesvm::types::TransactionResult;
use rand_core::SeedableRng;
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program::clock::Clock;
use solana_program::instruction::{Instruction, InstructionError};
use solana_program::program_pack::Pack;
use solana_program::pubkey::Pubkey;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use spl_token_interface::instruction as token_ix;
use spl_token_interface::state::{Account as TokenAccount, Mint};

pub const TICKS: usize = 4;
pub const CIRCUIT: u32 = 4;
pub const FEE_BPS: u16 = 250;
pub const START: i64 = 1_800_000_000;

/// The deterministic 4-tick keys, made once per test binary.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| test_keys::keys(TICKS))
}

pub struct Chain {
    pub svm: LiteSVM,
    pub payer: Keypair,
    pub authority: Keypair,
    pub admins: Vec<Keypair>,
    pub oracle: Keypair,
    pub mint: Keypair,
    pub fee_owner: Keypair,
    pub fee_account: Pubkey,
}

pub struct Bettor {
    pub key: Keypair,
    pub token: Pubkey,
}

/// The program error `e` from the `index`-th instruction.
pub fn assert_fails(result: TransactionResult, index: u8, e: FlashError) {
    match result {
        Err(failed) => {
            assert_eq!(
                failed.err,
                TransactionError::InstructionError(index, InstructionError::Custom(e as u32)),
                "{e:?}"
            )
        }
        Ok(_) => panic!("expected {e:?}, but the transaction succeeded"),
    }
}

pub fn id(byte: u8) -> [u8; 32] {
    let mut out = [byte; 32];
    out[0] = 0;
    out
}

impl Chain {
    /// A chain with the config initialized and the test key stored for [`CIRCUIT`].
    pub fn new() -> Self {
        let mut chain = Self::bare();
        chain.initialize().expect("initialize config");
        let key = keys().solana_vk().expect("vk");
        let admins = [chain.admins[0].pubkey(), chain.admins[1].pubkey()];
        let set = ix::set_verifying_key(&ID, &chain.admins[0].pubkey(), CIRCUIT, TICKS as u16, key, &admins);
        let (a0, a1) = (chain.admins[0].insecure_clone(), chain.admins[1].insecure_clone());
        chain.send_as(&a0, &[set], &[&a1]).expect("store the verifying key");
        chain
    }

    /// The program, its program-data account, a mint and the fee account; no config yet.
    pub fn bare() -> Self {
        let mut svm = LiteSVM::new();
        add_native_program(&mut svm, ID, kairos_flash_bets::process_instruction);
        let payer = Keypair::new();
        let authority = Keypair::new();
        let admins: Vec<Keypair> = (0..3).map(|_| Keypair::new()).collect();
        let oracle = Keypair::new();
        for k in [&payer, &authority, &oracle].into_iter().chain(admins.iter()) {
            svm.airdrop(&k.pubkey(), 100_000_000_000).expect("airdrop");
        }
        // The upgradeable loader's ProgramData: tag 3, slot, Some(authority).
        let mut data = vec![3, 0, 0, 0];
        data.extend_from_slice(&0u64.to_le_bytes());
        data.push(1);
        data.extend_from_slice(authority.pubkey().as_ref());
        let program_data =
            Account { lamports: 1_000_000_000, data, owner: UPGRADEABLE_LOADER_ID, executable: false, rent_epoch: 0 };
        svm.set_account(program_data_address(&ID), program_data).expect("program data");
        let mint = Keypair::new();
        let fee_owner = Keypair::new();
        let mut chain = Self { svm, payer, authority, admins, oracle, mint, fee_owner, fee_account: Pubkey::default() };
        chain.set_time(START);
        chain.create_mint();
        chain.fee_account = chain.token_account(&chain.fee_owner.pubkey().clone(), 0);
        chain
    }

    pub fn initialize(&mut self) -> TransactionResult {
        let terms = ix::ConfigTerms {
            admin_threshold: 2,
            admins: self.admins.iter().map(|a| a.pubkey()).collect(),
            oracles: vec![self.oracle.pubkey()],
            fee_bps: FEE_BPS,
        };
        let init = ix::initialize_config(&ID, &self.authority.pubkey(), &self.mint.pubkey(), &self.fee_account, terms);
        let authority = self.authority.insecure_clone();
        self.send_as(&authority, &[init], &[])
    }

    pub fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> TransactionResult {
        let payer = self.payer.insecure_clone();
        self.send_as(&payer, instructions, signers)
    }

    /// Sends with `payer` paying; a fresh blockhash each time, so identical transactions
    /// are distinct (a replay test means a replayed instruction, not a duplicate signature).
    pub fn send_as(
        &mut self,
        payer: &Keypair,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> TransactionResult {
        self.svm.expire_blockhash();
        let mut all = vec![payer];
        all.extend(signers.iter().copied().filter(|s| s.pubkey() != payer.pubkey()));
        let tx =
            Transaction::new_signed_with_payer(instructions, Some(&payer.pubkey()), &all, self.svm.latest_blockhash());
        self.svm.send_transaction(tx)
    }

    pub fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock: Clock = self.svm.get_sysvar();
        clock.unix_timestamp = unix_timestamp;
        self.svm.set_sysvar(&clock);
    }

    fn create_mint(&mut self) {
        let rent = self.svm.minimum_balance_for_rent_exemption(Mint::LEN);
        let token = spl_token_interface::ID;
        let create = solana_system_interface::instruction::create_account(
            &self.payer.pubkey(),
            &self.mint.pubkey(),
            rent,
            Mint::LEN as u64,
            &token,
        );
        let init =
            token_ix::initialize_mint2(&token, &self.mint.pubkey(), &self.payer.pubkey(), None, 6).expect("mint");
        let mint = self.mint.insecure_clone();
        self.send(&[create, init], &[&mint]).expect("create the mint");
    }

    /// A token account of the collateral mint owned by `owner`, holding `amount`.
    pub fn token_account(&mut self, owner: &Pubkey, amount: u64) -> Pubkey {
        let mint = self.mint.pubkey();
        self.token_account_of(&mint, owner, amount)
    }

    pub fn token_account_of(&mut self, mint: &Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        let account = Keypair::new();
        let token = spl_token_interface::ID;
        let rent = self.svm.minimum_balance_for_rent_exemption(TokenAccount::LEN);
        let mut ixs = vec![
            solana_system_interface::instruction::create_account(
                &self.payer.pubkey(),
                &account.pubkey(),
                rent,
                TokenAccount::LEN as u64,
                &token,
            ),
            token_ix::initialize_account3(&token, &account.pubkey(), mint, owner).expect("init account"),
        ];
        if amount > 0 {
            ixs.push(
                token_ix::mint_to(&token, mint, &account.pubkey(), &self.payer.pubkey(), &[], amount).expect("mint"),
            );
        }
        self.send(&ixs, &[&account]).expect("token account");
        account.pubkey()
    }

    /// Another mint, for wrong-mint tests.
    pub fn other_mint(&mut self) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.svm.minimum_balance_for_rent_exemption(Mint::LEN);
        let token = spl_token_interface::ID;
        let create = solana_system_interface::instruction::create_account(
            &self.payer.pubkey(),
            &mint.pubkey(),
            rent,
            Mint::LEN as u64,
            &token,
        );
        let init = token_ix::initialize_mint2(&token, &mint.pubkey(), &self.payer.pubkey(), None, 6).expect("mint");
        self.send(&[create, init], &[&mint]).expect("other mint");
        mint.pubkey()
    }

    pub fn bettor(&mut self, amount: u64) -> Bettor {
        let key = Keypair::new();
        self.svm.airdrop(&key.pubkey(), 10_000_000_000).expect("airdrop");
        let token = self.token_account(&key.pubkey(), amount);
        Bettor { key, token }
    }

    pub fn balance(&self, token_account: &Pubkey) -> u64 {
        let account = self.svm.get_account(token_account).expect("token account");
        TokenAccount::unpack(&account.data).expect("token data").amount
    }

    pub fn vault(&self, market_id: &[u8; 32]) -> Pubkey {
        let market = state::market_address(&ID, market_id).0;
        state::vault_address(&ID, &market).0
    }

    pub fn market(&self, market_id: &[u8; 32]) -> Market {
        let account = self.svm.get_account(&state::market_address(&ID, market_id).0).expect("market");
        Market::read(&account.data).expect("market data")
    }

    pub fn position(&self, market_id: &[u8; 32], owner: &Pubkey, outcome: u8) -> Position {
        let market = state::market_address(&ID, market_id).0;
        let account = self.svm.get_account(&state::position_address(&ID, &market, owner, outcome).0).expect("position");
        Position::read(&account.data).expect("position data")
    }

    /// A market that locks 60 s from now and must resolve within 10 minutes of that.
    pub fn create_market(&mut self, market_id: [u8; 32], rule: Rule) -> TransactionResult {
        let create = ix::create_market(&ID, &self.oracle.pubkey(), &self.mint.pubkey(), terms(market_id, rule));
        let oracle = self.oracle.insecure_clone();
        self.send(&[create], &[&oracle])
    }

    pub fn bet(&mut self, bettor: &Bettor, market_id: &[u8; 32], outcome: u8, amount: u64) -> TransactionResult {
        let bet =
            ix::place_bet(&ID, &bettor.key.pubkey(), &bettor.token, &self.mint.pubkey(), market_id, outcome, amount);
        let key = bettor.key.insecure_clone();
        self.send(&[bet], &[&key])
    }

    pub fn lock(&mut self, market_id: &[u8; 32], commitment: [u8; 32]) -> TransactionResult {
        let lock = ix::lock_market(&ID, &self.oracle.pubkey(), market_id, commitment);
        let oracle = self.oracle.insecure_clone();
        self.send(&[lock], &[&oracle])
    }

    pub fn resolve(&mut self, market_id: &[u8; 32], outcome: u8, proof: Proof) -> TransactionResult {
        let resolve =
            ix::resolve_market(&ID, market_id, CIRCUIT, &self.mint.pubkey(), &self.fee_account, outcome, proof);
        self.send(&[ix::resolve_compute_budget(), resolve], &[])
    }

    pub fn claim(&mut self, bettor: &Bettor, market_id: &[u8; 32], outcome: u8) -> TransactionResult {
        let claim = ix::claim(
            &ID,
            &bettor.key.pubkey(),
            &bettor.token,
            &self.mint.pubkey(),
            &self.fee_account,
            market_id,
            outcome,
        );
        let key = bettor.key.insecure_clone();
        self.send(&[claim], &[&key])
    }

    pub fn void(&mut self, market_id: &[u8; 32]) -> TransactionResult {
        self.send(&[ix::void_market(&ID, market_id)], &[])
    }
}

/// A market on [`CIRCUIT`] that locks 60 s after [`START`] and must resolve 10 minutes later.
pub fn terms(market_id: [u8; 32], rule: Rule) -> ix::MarketTerms {
    ix::MarketTerms { market_id, circuit_id: CIRCUIT, rule, lock_at: START + 60, resolve_by: START + 660 }
}

/// The oracle's side: ticks and a salt for a market, the commitment, and proofs.
pub struct Oracle {
    pub statement: Statement,
}

impl Oracle {
    pub fn new(market_id: [u8; 32], ticks: [u64; TICKS], rule: Rule) -> Self {
        Self { statement: Statement { market_id, ticks: ticks.to_vec(), salt: id(0x5a), rule } }
    }

    pub fn commitment(&self) -> [u8; 32] {
        kairos_flash_circuit::field::field_to_bytes(&self.statement.commitment().expect("commitment"))
    }

    pub fn prove(&self) -> (u8, Proof) {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let proved = kairos_flash_circuit::prove::prove(keys(), &self.statement, &mut rng).expect("prove");
        (proved.public.outcome, proved.proof)
    }
}
