//! The chain itself: one LiteSVM with the flash-bets program registered natively (through
//! `kairos-svm-shim`), SPL Token, and a collateral mint, answering Solana's JSON-RPC methods.
//! It runs on one thread of its own (LiteSVM is not `Send`); [`super::LocalChain`] hands it
//! requests.
//!
//! Time follows the wall clock: the slot grows every 400 ms, the `Clock` sysvar's
//! `unix_timestamp` is now, and the blockhash is replaced every [`BLOCKHASH_SLOTS`] slots. A
//! transaction signed with an older blockhash is refused as on a real cluster (LiteSVM knows only
//! the latest), so senders must rebuild after `lastValidBlockHeight`. Everything that lands is
//! final at once: there are no forks, no validators and no votes.

use std::collections::HashMap;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use kairos_svm_shim::litesvm::LiteSVM;
use kairos_svm_shim::litesvm::types::{FailedTransactionMetadata, TransactionMetadata};
use serde_json::{Value, json};
use solana_account::Account;
use solana_keypair::Keypair;
use solana_program::clock::Clock;
use solana_program::instruction::{AccountMeta, Instruction};
use solana_program::program_pack::Pack as _;
use solana_program::pubkey::Pubkey;
use solana_signer::Signer as _;
use solana_transaction::Transaction;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::TransactionError;
use spl_token_interface::state::{Account as TokenAccount, Mint};

use crate::rpc::{RpcError, config_param, string_param};

/// Slots a blockhash stays valid (a real cluster's 150).
pub const BLOCKHASH_SLOTS: u64 = 150;
const SLOT_MS: u128 = 400;
const VERSION: &str = "3.1.12";
const COMPUTE_BUDGET_ID: Pubkey = solana_program::pubkey!("ComputeBudget111111111111111111111111111111");
const MAX_ACCOUNT_LEN: u64 = 10 * 1024 * 1024;
/// What the faucet starts with: a billion SOL.
const FAUCET_LAMPORTS: u64 = 1_000_000_000 * 1_000_000_000;
const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey = solana_program::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/// The collateral's decimals (USDC's).
pub const COLLATERAL_DECIMALS: u8 = 6;

/// A transaction that landed (succeeded or failed after paying its fee).
#[derive(Debug, Clone)]
struct Landed {
    slot: u64,
    block_time: i64,
    err: Option<TransactionError>,
    fee: u64,
    logs: Vec<String>,
    units: u64,
    /// The wire bytes, for `getTransaction`.
    wire: Vec<u8>,
    legacy: bool,
}

/// What the chain was set up with: the flash-bets program's upgrade authority (which alone may
/// initialize its config) and the collateral mint with its mint authority.
#[derive(Debug)]
pub struct Setup {
    pub upgrade_authority: Keypair,
    pub mint: Pubkey,
    pub mint_authority: Keypair,
}

/// How [`Node::initialize_flash`] sets up the program: its oracles, the fee, and the
/// verifying keys to store as `(circuit_id, ticks, key)`.
#[derive(Debug, Clone, Default)]
pub struct FlashGenesis {
    pub oracles: Vec<Pubkey>,
    pub fee_bps: u16,
    pub keys: Vec<(u32, u16, kairos_flash_bets::verifier::VerifyingKey)>,
}

pub struct Node {
    svm: LiteSVM,
    started: Instant,
    slot: u64,
    /// Slots [`Self::expire_blockhash`] jumped ahead.
    skipped: u64,
    blockhash_valid_until: u64,
    landed: HashMap<String, Landed>,
    /// (slot, micro-lamports per compute unit, accounts written) of each landed transaction
    /// that set a price.
    fees: Vec<(u64, u64, Vec<Pubkey>)>,
    mint: Pubkey,
    mint_authority: Keypair,
    /// Pays for airdrops and the chain's own transactions.
    faucet: Keypair,
    own_sent: u64,
    /// Transactions landed since [`Self::take_landed`] last ran, for the subscribers.
    newly_landed: Vec<crate::pubsub::Landed>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("slot", &self.slot).field("mint", &self.mint).finish_non_exhaustive()
    }
}

impl Node {
    /// A fresh chain: the program, its program-data account naming `setup.upgrade_authority`,
    /// and the collateral mint.
    pub fn new() -> (Self, Setup) {
        let mut svm = LiteSVM::new();
        kairos_svm_shim::add_native_program(&mut svm, kairos_flash_bets::ID, kairos_flash_bets::process_instruction);
        let upgrade_authority = Keypair::new();
        let mint_authority = Keypair::new();
        let mint = Keypair::new();
        // The upgradeable loader's ProgramData: tag 3, the deploy slot, Some(authority).
        let mut data = vec![3, 0, 0, 0];
        data.extend_from_slice(&0u64.to_le_bytes());
        data.push(1);
        data.extend_from_slice(upgrade_authority.pubkey().as_ref());
        let program_data = Account {
            lamports: 1_000_000_000,
            data,
            owner: kairos_flash_bets::instruction::UPGRADEABLE_LOADER_ID,
            executable: false,
            rent_epoch: 0,
        };
        let program_data_address = kairos_flash_bets::instruction::program_data_address(&kairos_flash_bets::ID);
        // Writing a fresh account into an empty LiteSVM cannot fail.
        let _ = svm.set_account(program_data_address, program_data);
        let mut mint_data = vec![0u8; Mint::LEN];
        let state = Mint {
            mint_authority: Some(mint_authority.pubkey()).into(),
            supply: 0,
            decimals: COLLATERAL_DECIMALS,
            is_initialized: true,
            freeze_authority: None.into(),
        };
        Mint::pack(state, &mut mint_data).unwrap_or_default();
        let rent = svm.minimum_balance_for_rent_exemption(Mint::LEN);
        let _ = svm.set_account(
            mint.pubkey(),
            Account {
                lamports: rent,
                data: mint_data,
                owner: spl_token_interface::ID,
                executable: false,
                rent_epoch: 0,
            },
        );
        let faucet = Keypair::new();
        let _ = svm.set_account(
            faucet.pubkey(),
            Account {
                lamports: FAUCET_LAMPORTS,
                data: Vec::new(),
                owner: solana_system_interface::program::ID,
                executable: false,
                rent_epoch: 0,
            },
        );
        let mut node = Self {
            svm,
            started: Instant::now(),
            slot: 0,
            skipped: 0,
            blockhash_valid_until: 0,
            landed: HashMap::new(),
            fees: Vec::new(),
            mint: mint.pubkey(),
            mint_authority: mint_authority.insecure_clone(),
            faucet,
            own_sent: 0,
            newly_landed: Vec::new(),
        };
        node.tick();
        (node, Setup { upgrade_authority, mint: mint.pubkey(), mint_authority })
    }

    /// Moves the slot and the clock to now, and replaces an expired blockhash.
    fn tick(&mut self) {
        let elapsed = u64::try_from(self.started.elapsed().as_millis() / SLOT_MS).unwrap_or(u64::MAX);
        let slot = elapsed.saturating_add(1 + self.skipped);
        self.slot = self.slot.max(slot);
        let mut clock: Clock = self.svm.get_sysvar();
        clock.slot = self.slot;
        clock.unix_timestamp = now_s();
        self.svm.set_sysvar(&clock);
        if self.slot > self.blockhash_valid_until {
            self.svm.expire_blockhash();
            self.blockhash_valid_until = self.slot + BLOCKHASH_SLOTS;
        }
    }

    /// Ends the current blockhash's life now (tests of re-sending after expiry): the chain
    /// jumps past its last valid block height, as 150 slots of waiting would, so senders see it
    /// expire and must rebuild.
    pub fn expire_blockhash(&mut self) {
        self.skipped += BLOCKHASH_SLOTS + 1;
        self.tick();
    }

    fn context(&self, value: Value) -> Value {
        json!({ "context": { "slot": self.slot, "apiVersion": VERSION }, "value": value })
    }

    /// Answers one method.
    pub fn call(&mut self, method: &str, params: &[Value]) -> Result<Value, RpcError> {
        self.tick();
        match method {
            "getVersion" => Ok(json!({ "solana-core": VERSION, "feature-set": 0 })),
            "getHealth" => Ok(json!("ok")),
            "getSlot" | "getBlockHeight" => Ok(json!(self.slot)),
            "getEpochInfo" => Ok(json!({
                "epoch": 0, "slotIndex": self.slot, "slotsInEpoch": 432_000, "absoluteSlot": self.slot,
                "blockHeight": self.slot, "transactionCount": self.landed.len(),
            })),
            "getLatestBlockhash" => Ok(self.context(json!({
                "blockhash": self.svm.latest_blockhash().to_string(),
                "lastValidBlockHeight": self.blockhash_valid_until,
            }))),
            "isBlockhashValid" => {
                let hash = string_param(params, 0, "a blockhash")?;
                Ok(self.context(json!(hash == self.svm.latest_blockhash().to_string())))
            }
            "getMinimumBalanceForRentExemption" => {
                let len = params.first().and_then(Value::as_u64).ok_or_else(|| RpcError::invalid_params("a length"))?;
                // An account holds at most 10 MiB; a larger length is no account's.
                if len > MAX_ACCOUNT_LEN {
                    return Err(RpcError::invalid_params(format!("length {len} is above {MAX_ACCOUNT_LEN}")));
                }
                Ok(json!(self.svm.minimum_balance_for_rent_exemption(usize::try_from(len).unwrap_or(0))))
            }
            "getFeeForMessage" => Ok(self.context(json!(5_000))),
            "getBalance" => {
                let key = pubkey(&string_param(params, 0, "an address")?)?;
                Ok(self.context(json!(self.svm.get_balance(&key).unwrap_or(0))))
            }
            "getAccountInfo" => {
                let key = pubkey(&string_param(params, 0, "an address")?)?;
                Ok(self.context(self.svm.get_account(&key).map_or(Value::Null, |a| account_json(&a))))
            }
            "getMultipleAccounts" => {
                let keys =
                    params.first().and_then(Value::as_array).ok_or_else(|| RpcError::invalid_params("addresses"))?;
                let accounts = keys
                    .iter()
                    .map(|k| {
                        let key = pubkey(k.as_str().unwrap_or(""))?;
                        Ok(self.svm.get_account(&key).map_or(Value::Null, |a| account_json(&a)))
                    })
                    .collect::<Result<Vec<_>, RpcError>>()?;
                Ok(self.context(json!(accounts)))
            }
            "getProgramAccounts" => self.program_accounts(params),
            "getTokenAccountBalance" => {
                let key = pubkey(&string_param(params, 0, "a token account")?)?;
                let account = self.svm.get_account(&key).ok_or_else(|| RpcError::invalid_params("no such account"))?;
                let token = TokenAccount::unpack(&account.data)
                    .map_err(|_| RpcError::invalid_params("Invalid param: not a Token account"))?;
                let mint = self.svm.get_account(&token.mint).and_then(|m| Mint::unpack(&m.data).ok());
                let decimals = mint.map_or(0, |m| m.decimals);
                Ok(self.context(json!({
                    "amount": token.amount.to_string(),
                    "decimals": decimals,
                    "uiAmount": null,
                    "uiAmountString": ui_amount(token.amount, decimals),
                })))
            }
            "getRecentPrioritizationFees" => Ok(self.prioritization_fees(params)),
            "requestAirdrop" => {
                let key = pubkey(&string_param(params, 0, "an address")?)?;
                let lamports =
                    params.get(1).and_then(Value::as_u64).ok_or_else(|| RpcError::invalid_params("lamports"))?;
                self.airdrop(&key, lamports)
                    .map(|signature| json!(signature))
                    .map_err(|e| RpcError::invalid_params(format!("airdrop failed: {e}")))
            }
            "kairos_requestCollateral" => self.request_collateral(params),
            "sendTransaction" => self.send(params),
            "simulateTransaction" => self.simulate(params),
            "getSignatureStatuses" => {
                let sigs =
                    params.first().and_then(Value::as_array).ok_or_else(|| RpcError::invalid_params("signatures"))?;
                let statuses: Vec<Value> = sigs
                    .iter()
                    .map(|s| match s.as_str().and_then(|s| self.landed.get(s)) {
                        None => Value::Null,
                        Some(l) => json!({
                            "slot": l.slot, "confirmations": null, "err": l.err,
                            "status": match &l.err { None => json!({ "Ok": null }), Some(e) => json!({ "Err": e }) },
                            "confirmationStatus": "finalized",
                        }),
                    })
                    .collect();
                Ok(self.context(json!(statuses)))
            }
            "getTransaction" => {
                let sig = string_param(params, 0, "a signature")?;
                Ok(self.landed.get(&sig).map_or(Value::Null, |l| {
                    json!({
                        "slot": l.slot,
                        "blockTime": l.block_time,
                        "transaction": [B64.encode(&l.wire), "base64"],
                        "version": if l.legacy { json!("legacy") } else { json!(0) },
                        "meta": {
                            "err": l.err,
                            "status": match &l.err { None => json!({ "Ok": null }), Some(e) => json!({ "Err": e }) },
                            "fee": l.fee,
                            "preBalances": [], "postBalances": [], "innerInstructions": [],
                            "logMessages": l.logs, "preTokenBalances": [], "postTokenBalances": [], "rewards": [],
                            "loadedAddresses": { "writable": [], "readonly": [] },
                            "computeUnitsConsumed": l.units,
                        },
                    })
                }))
            }
            other => Err(RpcError::method_not_found(other)),
        }
    }

    /// What landed since the last call, oldest first.
    pub fn take_landed(&mut self) -> Vec<crate::pubsub::Landed> {
        std::mem::take(&mut self.newly_landed)
    }

    /// The slot and error of a transaction that landed; `None` when it has not.
    pub fn landed_status(&self, signature: &str) -> Option<(u64, Option<TransactionError>)> {
        self.landed.get(signature).map(|l| (l.slot, l.err.clone()))
    }

    fn decode_transaction(params: &[Value]) -> Result<(VersionedTransaction, Vec<u8>), RpcError> {
        let text = string_param(params, 0, "an encoded transaction")?;
        let encoding = config_param(params, 1).get("encoding").and_then(Value::as_str).unwrap_or("base58").to_string();
        let wire = match encoding.as_str() {
            "base64" => {
                B64.decode(text.as_bytes()).map_err(|e| RpcError::invalid_params(format!("invalid base64: {e}")))?
            }
            "base58" => {
                bs58::decode(&text).into_vec().map_err(|e| RpcError::invalid_params(format!("invalid base58: {e}")))?
            }
            other => return Err(RpcError::invalid_params(format!("unsupported encoding: {other}"))),
        };
        let tx: VersionedTransaction = bincode::deserialize(&wire)
            .map_err(|e| RpcError::invalid_params(format!("failed to deserialize the transaction: {e}")))?;
        if tx.signatures.is_empty() {
            return Err(RpcError::invalid_params("a transaction without signatures"));
        }
        Ok((tx, wire))
    }

    fn send(&mut self, params: &[Value]) -> Result<Value, RpcError> {
        let (tx, wire) = Self::decode_transaction(params)?;
        let signature = tx.signatures[0].to_string();
        let skip_preflight = config_param(params, 1).get("skipPreflight").and_then(Value::as_bool).unwrap_or(false);
        if !skip_preflight {
            if self.landed.contains_key(&signature) {
                return Err(preflight_error(&TransactionError::AlreadyProcessed, &[], 0));
            }
            if let Err(failed) = self.svm.simulate_transaction(tx.clone()) {
                return Err(preflight_error(&failed.err, &failed.meta.logs, failed.meta.compute_units_consumed));
            }
        } else if self.landed.contains_key(&signature) {
            return Ok(json!(signature));
        }
        let legacy = matches!(tx.version(), solana_transaction::versioned::TransactionVersion::Legacy(_));
        let written = writable_keys(&tx);
        let price = compute_unit_price(&tx);
        match self.svm.send_transaction(tx) {
            Ok(meta) => {
                self.record(&meta, None, wire, legacy);
                if let Some(price) = price {
                    self.fees.push((self.slot, price, written));
                }
                Ok(json!(signature))
            }
            Err(FailedTransactionMetadata { err, meta }) => {
                // Landed with its fee paid when LiteSVM kept it in its history.
                if self.svm.get_transaction(&meta.signature).is_some() {
                    self.record(&meta, Some(err), wire, legacy);
                    Ok(json!(signature))
                } else {
                    Err(preflight_error(&err, &meta.logs, meta.compute_units_consumed))
                }
            }
        }
    }

    fn simulate(&mut self, params: &[Value]) -> Result<Value, RpcError> {
        let (tx, _) = Self::decode_transaction(params)?;
        let value = match self.svm.simulate_transaction(tx) {
            Ok(info) => simulation_json(None, &info.meta.logs, info.meta.compute_units_consumed),
            Err(failed) => simulation_json(Some(&failed.err), &failed.meta.logs, failed.meta.compute_units_consumed),
        };
        Ok(self.context(value))
    }

    fn record(&mut self, meta: &TransactionMetadata, err: Option<TransactionError>, wire: Vec<u8>, legacy: bool) {
        let written =
            bincode::deserialize::<VersionedTransaction>(&wire).map(|tx| writable_keys(&tx)).unwrap_or_default();
        self.newly_landed.push(crate::pubsub::Landed {
            signature: meta.signature.to_string(),
            slot: self.slot,
            err: err.clone(),
            accounts: written
                .into_iter()
                .map(|key| (key, self.svm.get_account(&key).filter(|a| a.lamports > 0)))
                .collect(),
        });
        self.landed.insert(
            meta.signature.to_string(),
            Landed {
                slot: self.slot,
                block_time: now_s(),
                err,
                fee: meta.fee,
                logs: meta.logs.clone(),
                units: meta.compute_units_consumed,
                wire,
                legacy,
            },
        );
    }

    fn program_accounts(&self, params: &[Value]) -> Result<Value, RpcError> {
        let program = pubkey(&string_param(params, 0, "a program id")?)?;
        let config = config_param(params, 1);
        let filters = parse_filters(config.get("filters"))?;
        let mut found: Vec<(Pubkey, Value)> = self
            .svm
            .accounts_db()
            .inner
            .keys()
            .filter_map(|key| self.svm.get_account(key).map(|a| (*key, a)))
            .filter(|(_, a)| a.owner == program && filters.iter().all(|f| f.matches(&a.data)))
            .map(|(key, a)| (key, account_json(&a)))
            .collect();
        found.sort_by_key(|(key, _)| key.to_string());
        let list: Vec<Value> =
            found.into_iter().map(|(key, account)| json!({ "pubkey": key.to_string(), "account": account })).collect();
        if config.get("withContext").and_then(Value::as_bool).unwrap_or(false) {
            Ok(self.context(json!(list)))
        } else {
            Ok(json!(list))
        }
    }

    /// Per recent slot, the lowest price paid by a transaction that wrote one of `accounts`
    /// (any account when none is given), over the blockhash's lifetime.
    fn prioritization_fees(&self, params: &[Value]) -> Value {
        let accounts: Vec<Pubkey> = params
            .first()
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|k| k.as_str().and_then(|k| k.parse().ok())).collect())
            .unwrap_or_default();
        let mut per_slot: std::collections::BTreeMap<u64, u64> = std::collections::BTreeMap::new();
        for (slot, price, written) in &self.fees {
            if *slot + BLOCKHASH_SLOTS < self.slot {
                continue;
            }
            if accounts.is_empty() || written.iter().any(|w| accounts.contains(w)) {
                let entry = per_slot.entry(*slot).or_insert(*price);
                *entry = (*entry).min(*price);
            }
        }
        json!(
            per_slot
                .into_iter()
                .map(|(slot, fee)| json!({ "slot": slot, "prioritizationFee": fee }))
                .collect::<Vec<_>>()
        )
    }

    /// Mints `amount` (micro-units) of collateral into `token_account` (dev faucets and tests).
    pub fn mint_collateral(&mut self, token_account: &Pubkey, amount: u64) -> Result<String, String> {
        self.tick();
        let mint_authority = self.mint_authority.insecure_clone();
        let ix = self.mint_to(token_account, amount)?;
        self.send_own(vec![ix], Some(&mint_authority))
    }

    fn mint_to(&self, token_account: &Pubkey, amount: u64) -> Result<Instruction, String> {
        spl_token_interface::instruction::mint_to(
            &spl_token_interface::ID,
            &self.mint,
            token_account,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .map_err(|e| e.to_string())
    }

    /// `kairos_requestCollateral [wallet, amount]`: creates the wallet's associated token
    /// account when missing and mints `amount` micro-units into it, in one transaction through
    /// the ATA and SPL Token programs. Only this chain answers it (the dev faucet).
    fn request_collateral(&mut self, params: &[Value]) -> Result<Value, RpcError> {
        let wallet = pubkey(&string_param(params, 0, "a wallet address")?)?;
        let amount = params.get(1).and_then(Value::as_u64).ok_or_else(|| RpcError::invalid_params("an amount"))?;
        let (signature, token) = self
            .fund_token_account(&wallet, amount)
            .map_err(|e| RpcError::invalid_params(format!("minting collateral failed: {e}")))?;
        Ok(json!({ "signature": signature, "tokenAccount": token.to_string() }))
    }

    fn fund_token_account(&mut self, wallet: &Pubkey, amount: u64) -> Result<(String, Pubkey), String> {
        let token = Pubkey::find_program_address(
            &[wallet.as_ref(), spl_token_interface::ID.as_ref(), self.mint.as_ref()],
            &ASSOCIATED_TOKEN_PROGRAM_ID,
        )
        .0;
        let create = Instruction {
            program_id: ASSOCIATED_TOKEN_PROGRAM_ID,
            accounts: vec![
                AccountMeta::new(self.faucet.pubkey(), true),
                AccountMeta::new(token, false),
                AccountMeta::new_readonly(*wallet, false),
                AccountMeta::new_readonly(self.mint, false),
                AccountMeta::new_readonly(solana_system_interface::program::ID, false),
                AccountMeta::new_readonly(spl_token_interface::ID, false),
            ],
            data: vec![1],
        };
        let mint = self.mint_to(&token, amount)?;
        let mint_authority = self.mint_authority.insecure_clone();
        let signature = self.send_own(vec![create, mint], Some(&mint_authority))?;
        Ok((signature, token))
    }

    /// Initializes the flash-bets config as the upgrade authority would on a cluster: the
    /// authority the only admin (threshold 1), `genesis.oracles` the oracles, the authority's
    /// associated token account the fee account; then stores `genesis.keys`.
    pub fn initialize_flash(&mut self, authority: &Keypair, genesis: &FlashGenesis) -> Result<(), String> {
        use kairos_flash_bets::instruction::{ConfigTerms, initialize_config, set_verifying_key};
        self.tick();
        self.airdrop(&authority.pubkey(), 10_000_000_000)?;
        let (_, fee_account) = self.fund_token_account(&authority.pubkey(), 0)?;
        let terms = ConfigTerms {
            admin_threshold: 1,
            admins: vec![authority.pubkey()],
            oracles: genesis.oracles.clone(),
            fee_bps: genesis.fee_bps,
        };
        let init = initialize_config(&kairos_flash_bets::ID, &authority.pubkey(), &self.mint, &fee_account, terms);
        self.send_own(vec![init], Some(authority))?;
        for (circuit_id, ticks, key) in &genesis.keys {
            let payer = self.faucet.pubkey();
            let ix = set_verifying_key(
                &kairos_flash_bets::ID,
                &payer,
                *circuit_id,
                *ticks,
                key.clone(),
                &[authority.pubkey()],
            );
            self.send_own(vec![ix], Some(authority))?;
        }
        Ok(())
    }

    /// `requestAirdrop`: a transfer from the faucet.
    fn airdrop(&mut self, to: &Pubkey, lamports: u64) -> Result<String, String> {
        let ix = solana_system_interface::instruction::transfer(&self.faucet.pubkey(), to, lamports);
        self.send_own(vec![ix], None)
    }

    /// Sends the chain's own transaction, paid by the faucet. Each carries a compute-unit
    /// price one higher than the last, so two equal requests within one blockhash's life are
    /// two transactions, not one refused as already processed.
    fn send_own(&mut self, mut ixs: Vec<Instruction>, signer: Option<&Keypair>) -> Result<String, String> {
        self.own_sent += 1;
        let mut price = vec![3u8];
        price.extend_from_slice(&self.own_sent.to_le_bytes());
        ixs.insert(0, Instruction::new_with_bytes(COMPUTE_BUDGET_ID, &price, vec![]));
        let faucet = self.faucet.insecure_clone();
        let mut signers = vec![&faucet];
        signers.extend(signer);
        let tx =
            Transaction::new_signed_with_payer(&ixs, Some(&faucet.pubkey()), &signers, self.svm.latest_blockhash());
        let wire = bincode::serialize(&tx).map_err(|e| e.to_string())?;
        match self.svm.send_transaction(tx) {
            Ok(meta) => {
                let signature = meta.signature.to_string();
                self.record(&meta, None, wire, true);
                Ok(signature)
            }
            Err(failed) => Err(failed.err.to_string()),
        }
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn pubkey(text: &str) -> Result<Pubkey, RpcError> {
    text.parse().map_err(|_| RpcError::invalid_params(format!("Invalid param: {text:?} is not a base58 address")))
}

/// An account in the `base64` encoding (asked for `base64+zstd`, clients read what the answer
/// says it is).
pub(crate) fn account_json(a: &Account) -> Value {
    json!({
        "lamports": a.lamports,
        "owner": a.owner.to_string(),
        "data": [B64.encode(&a.data), "base64"],
        "executable": a.executable,
        "rentEpoch": a.rent_epoch,
        "space": a.data.len(),
    })
}

fn ui_amount(amount: u64, decimals: u8) -> String {
    // A mint may declare up to 255 decimals; past 38, 10^decimals leaves u128 and every u64
    // amount is all fraction.
    let Some(unit) = 10u128.checked_pow(u32::from(decimals)) else {
        let digits = format!("{amount:0width$}", width = usize::from(decimals));
        return format!("0.{}", digits.trim_end_matches('0')).trim_end_matches('.').to_string();
    };
    let (whole, frac) = (u128::from(amount) / unit, u128::from(amount) % unit);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn simulation_json(err: Option<&TransactionError>, logs: &[String], units: u64) -> Value {
    json!({
        "err": err, "logs": logs, "accounts": null, "unitsConsumed": units, "returnData": null,
        "innerInstructions": null, "replacementBlockhash": null, "loadedAccountsDataSize": null,
    })
}

fn preflight_error(err: &TransactionError, logs: &[String], units: u64) -> RpcError {
    RpcError::preflight_failure(
        format!("Transaction simulation failed: {err}"),
        simulation_json(Some(err), logs, units),
    )
}

fn writable_keys(tx: &VersionedTransaction) -> Vec<Pubkey> {
    let keys = tx.message.static_account_keys();
    (0..keys.len()).filter(|i| tx.message.is_maybe_writable(*i, None)).map(|i| keys[i]).collect()
}

/// The `SetComputeUnitPrice` of a transaction (compute-budget instruction 3, u64 LE).
fn compute_unit_price(tx: &VersionedTransaction) -> Option<u64> {
    let keys = tx.message.static_account_keys();
    tx.message.instructions().iter().find_map(|ix| {
        let program = keys.get(usize::from(ix.program_id_index))?;
        if *program != COMPUTE_BUDGET_ID || ix.data.first() != Some(&3) {
            return None;
        }
        Some(u64::from_le_bytes(ix.data.get(1..9)?.try_into().ok()?))
    })
}

/// A `getProgramAccounts` filter.
#[derive(Debug)]
pub(crate) enum Filter {
    DataSize(usize),
    Memcmp { offset: usize, bytes: Vec<u8> },
}

impl Filter {
    pub(crate) fn matches(&self, data: &[u8]) -> bool {
        match self {
            Filter::DataSize(n) => data.len() == *n,
            Filter::Memcmp { offset, bytes } => {
                offset.checked_add(bytes.len()).and_then(|end| data.get(*offset..end)) == Some(bytes.as_slice())
            }
        }
    }
}

pub(crate) fn parse_filters(filters: Option<&Value>) -> Result<Vec<Filter>, RpcError> {
    let Some(filters) = filters.and_then(Value::as_array) else { return Ok(Vec::new()) };
    filters
        .iter()
        .map(|f| {
            if let Some(n) = f.get("dataSize").and_then(Value::as_u64) {
                return Ok(Filter::DataSize(usize::try_from(n).unwrap_or(usize::MAX)));
            }
            let m = f.get("memcmp").ok_or_else(|| RpcError::invalid_params(format!("unsupported filter: {f}")))?;
            let offset =
                m.get("offset").and_then(Value::as_u64).ok_or_else(|| RpcError::invalid_params("memcmp offset"))?;
            // solana-client's `Memcmp::new_raw_bytes` sends the bytes as a JSON array.
            if let Some(raw) = m.get("bytes").and_then(Value::as_array) {
                let bytes = raw
                    .iter()
                    .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or_else(|| RpcError::invalid_params("memcmp bytes: an array of bytes"))?;
                return Ok(Filter::Memcmp { offset: usize::try_from(offset).unwrap_or(usize::MAX), bytes });
            }
            let text =
                m.get("bytes").and_then(Value::as_str).ok_or_else(|| RpcError::invalid_params("memcmp bytes"))?;
            let bytes = match m.get("encoding").and_then(Value::as_str).unwrap_or("base58") {
                "base64" => B64.decode(text).map_err(|_| RpcError::invalid_params("memcmp bytes: base64"))?,
                _ => bs58::decode(text).into_vec().map_err(|_| RpcError::invalid_params("memcmp bytes: base58"))?,
            };
            Ok(Filter::Memcmp { offset: usize::try_from(offset).unwrap_or(usize::MAX), bytes })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ui_amount;

    #[test]
    fn token_amounts_are_exact_decimal_strings() {
        assert_eq!(ui_amount(1_500_000, 6), "1.5");
        assert_eq!(ui_amount(1, 6), "0.000001");
        assert_eq!(ui_amount(7_000_000, 6), "7");
        assert_eq!(ui_amount(42, 0), "42");
        assert_eq!(ui_amount(5, 40), format!("0.{}5", "0".repeat(39)), "past u128's powers of ten");
        assert_eq!(ui_amount(0, 255), "0");
    }
}
