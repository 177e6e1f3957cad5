//! The instructions: their wire encoding (a tag byte, then fixed little-endian fields), the
//! decoder the program runs, and builders that list each instruction's accounts in order.

use solana_program::instruction::{AccountMeta, Instruction};
use solana_program::pubkey::Pubkey;

use crate::error::FlashError;
use crate::layout::{Reader, Writer};
use crate::rule::{MAX_PARAMS, Rule};
use crate::state::{self, MAX_ADMINS, MAX_ORACLES};
use crate::verifier::{Proof, VerifyingKey};

pub const TOKEN_PROGRAM_ID: Pubkey = spl_token_interface::ID;
pub const SYSTEM_PROGRAM_ID: Pubkey = solana_system_interface::program::ID;
/// The BPF upgradeable loader, whose program-data account names the upgrade authority.
pub const UPGRADEABLE_LOADER_ID: Pubkey = solana_program::pubkey!("BPFLoaderUpgradeab1e11111111111111111111111");
pub const COMPUTE_BUDGET_ID: Pubkey = solana_program::pubkey!("ComputeBudget111111111111111111111111111111");
/// The compute-unit limit a resolve transaction asks for: [`crate::compute::RESOLVE_ESTIMATE`]
/// with about 30 % margin.
pub const RESOLVE_COMPUTE_UNITS: u32 = 140_000;

// Decoded once per instruction, on the stack; boxing the key would spend the SBF heap.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlashInstruction {
    InitializeConfig {
        admin_threshold: u8,
        admins: Vec<Pubkey>,
        oracles: Vec<Pubkey>,
        fee_bps: u16,
    },
    SetVerifyingKey {
        circuit_id: u32,
        ticks: u16,
        key: VerifyingKey,
    },
    SetPaused {
        paused: bool,
    },
    CreateMarket {
        market_id: [u8; 32],
        circuit_id: u32,
        rule: Rule,
        lock_at: i64,
        resolve_by: i64,
    },
    PlaceBet {
        outcome: u8,
        amount: u64,
    },
    LockMarket {
        commitment: [u8; 32],
    },
    ResolveMarket {
        outcome: u8,
        proof: Proof,
    },
    Claim,
    VoidMarket,
    /// Declared by the old platform, never built: decoded only with the `experimental`
    /// feature, and then refused with [`FlashError::NotImplemented`].
    LeveragedBet,
    ChainedBet,
    AdvancedOrder,
}

/// The tag byte of each instruction.
pub mod tag {
    pub const INITIALIZE_CONFIG: u8 = 0;
    pub const SET_VERIFYING_KEY: u8 = 1;
    pub const SET_PAUSED: u8 = 2;
    pub const CREATE_MARKET: u8 = 3;
    pub const PLACE_BET: u8 = 4;
    pub const LOCK_MARKET: u8 = 5;
    pub const RESOLVE_MARKET: u8 = 6;
    pub const CLAIM: u8 = 7;
    pub const VOID_MARKET: u8 = 8;
    pub const LEVERAGED_BET: u8 = 9;
    pub const CHAINED_BET: u8 = 10;
    pub const ADVANCED_ORDER: u8 = 11;
}

/// The tags of the declared-but-unbuilt instructions.
pub const EXPERIMENTAL_TAGS: [u8; 3] = [tag::LEVERAGED_BET, tag::CHAINED_BET, tag::ADVANCED_ORDER];

impl FlashInstruction {
    /// Decodes instruction data; `experimental` admits the unbuilt instructions (the program
    /// passes `cfg!(feature = "experimental")`). Unknown tags and trailing bytes are refused.
    pub fn decode(data: &[u8], experimental: bool) -> Result<Self, FlashError> {
        let (&t, rest) = data.split_first().ok_or(FlashError::InvalidInstruction)?;
        let mut r = Reader::new(rest);
        let ix = match t {
            tag::INITIALIZE_CONFIG => {
                let admin_threshold = r.u8()?;
                let admins = read_keys(&mut r, MAX_ADMINS)?;
                let oracles = read_keys(&mut r, MAX_ORACLES)?;
                Self::InitializeConfig { admin_threshold, admins, oracles, fee_bps: r.u16()? }
            }
            tag::SET_VERIFYING_KEY => {
                let circuit_id = r.u32()?;
                let ticks = r.u16()?;
                let key = VerifyingKey {
                    alpha_g1: r.bytes()?,
                    beta_g2: r.bytes()?,
                    gamma_g2: r.bytes()?,
                    delta_g2: r.bytes()?,
                    ic: [r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?],
                };
                Self::SetVerifyingKey { circuit_id, ticks, key }
            }
            tag::SET_PAUSED => Self::SetPaused { paused: r.bool()? },
            tag::CREATE_MARKET => {
                let market_id = r.bytes()?;
                let circuit_id = r.u32()?;
                let kind = r.u8()?;
                let count = r.u8()?;
                if usize::from(count) > MAX_PARAMS {
                    return Err(FlashError::InvalidRule);
                }
                let mut params = [0u64; MAX_PARAMS];
                for p in params.iter_mut().take(usize::from(count)) {
                    *p = r.u64()?;
                }
                let rule = Rule { kind, count, params };
                Self::CreateMarket { market_id, circuit_id, rule, lock_at: r.i64()?, resolve_by: r.i64()? }
            }
            tag::PLACE_BET => Self::PlaceBet { outcome: r.u8()?, amount: r.u64()? },
            tag::LOCK_MARKET => Self::LockMarket { commitment: r.bytes()? },
            tag::RESOLVE_MARKET => {
                let outcome = r.u8()?;
                Self::ResolveMarket { outcome, proof: Proof { a: r.bytes()?, b: r.bytes()?, c: r.bytes()? } }
            }
            tag::CLAIM => Self::Claim,
            tag::VOID_MARKET => Self::VoidMarket,
            tag::LEVERAGED_BET if experimental => Self::LeveragedBet,
            tag::CHAINED_BET if experimental => Self::ChainedBet,
            tag::ADVANCED_ORDER if experimental => Self::AdvancedOrder,
            _ => return Err(FlashError::InvalidInstruction),
        };
        if matches!(ix, Self::LeveragedBet | Self::ChainedBet | Self::AdvancedOrder) {
            // Their payloads were never specified: the tag alone is the instruction.
            return Ok(ix);
        }
        r.finish()?;
        Ok(ix)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        match self {
            Self::InitializeConfig { admin_threshold, admins, oracles, fee_bps } => {
                w.u8(tag::INITIALIZE_CONFIG).u8(*admin_threshold);
                write_keys(&mut w, admins);
                write_keys(&mut w, oracles);
                w.u16(*fee_bps);
            }
            Self::SetVerifyingKey { circuit_id, ticks, key } => {
                w.u8(tag::SET_VERIFYING_KEY).u32(*circuit_id).u16(*ticks).bytes(&key.to_bytes());
            }
            Self::SetPaused { paused } => {
                w.u8(tag::SET_PAUSED).bool(*paused);
            }
            Self::CreateMarket { market_id, circuit_id, rule, lock_at, resolve_by } => {
                w.u8(tag::CREATE_MARKET).bytes(market_id).u32(*circuit_id).u8(rule.kind).u8(rule.count);
                for p in rule.params.iter().take(usize::from(rule.count)) {
                    w.u64(*p);
                }
                w.i64(*lock_at).i64(*resolve_by);
            }
            Self::PlaceBet { outcome, amount } => {
                w.u8(tag::PLACE_BET).u8(*outcome).u64(*amount);
            }
            Self::LockMarket { commitment } => {
                w.u8(tag::LOCK_MARKET).bytes(commitment);
            }
            Self::ResolveMarket { outcome, proof } => {
                w.u8(tag::RESOLVE_MARKET).u8(*outcome).bytes(&proof.a).bytes(&proof.b).bytes(&proof.c);
            }
            Self::Claim => {
                w.u8(tag::CLAIM);
            }
            Self::VoidMarket => {
                w.u8(tag::VOID_MARKET);
            }
            Self::LeveragedBet => {
                w.u8(tag::LEVERAGED_BET);
            }
            Self::ChainedBet => {
                w.u8(tag::CHAINED_BET);
            }
            Self::AdvancedOrder => {
                w.u8(tag::ADVANCED_ORDER);
            }
        }
        w.out
    }
}

fn read_keys(r: &mut Reader<'_>, max: usize) -> Result<Vec<Pubkey>, FlashError> {
    let n = usize::from(r.u8()?);
    if n > max {
        return Err(FlashError::InvalidSigners);
    }
    (0..n).map(|_| r.pubkey()).collect()
}

fn write_keys(w: &mut Writer, keys: &[Pubkey]) {
    w.u8(keys.len() as u8);
    for k in keys {
        w.pubkey(k);
    }
}

fn ix(program_id: &Pubkey, accounts: Vec<AccountMeta>, data: &FlashInstruction) -> Instruction {
    Instruction { program_id: *program_id, accounts, data: data.encode() }
}

fn signers(admins: &[Pubkey]) -> impl Iterator<Item = AccountMeta> + '_ {
    admins.iter().map(|a| AccountMeta::new_readonly(*a, true))
}

/// The program-data account of `program_id` under the upgradeable loader.
pub fn program_data_address(program_id: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[program_id.as_ref()], &UPGRADEABLE_LOADER_ID).0
}

/// What `initialize_config` sets: M of the admins, the oracles, the fee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigTerms {
    pub admin_threshold: u8,
    pub admins: Vec<Pubkey>,
    pub oracles: Vec<Pubkey>,
    pub fee_bps: u16,
}

/// Signed by the program's upgrade authority, who pays for the config account.
pub fn initialize_config(
    program_id: &Pubkey,
    authority: &Pubkey,
    mint: &Pubkey,
    fee_account: &Pubkey,
    terms: ConfigTerms,
) -> Instruction {
    let accounts = vec![
        AccountMeta::new(*authority, true),
        AccountMeta::new(state::config_address(program_id).0, false),
        AccountMeta::new_readonly(program_data_address(program_id), false),
        AccountMeta::new_readonly(*mint, false),
        AccountMeta::new_readonly(*fee_account, false),
        AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
    ];
    let ConfigTerms { admin_threshold, admins, oracles, fee_bps } = terms;
    ix(program_id, accounts, &FlashInstruction::InitializeConfig { admin_threshold, admins, oracles, fee_bps })
}

/// Stores or rotates a circuit's verifying key; `admins` must include M signers.
pub fn set_verifying_key(
    program_id: &Pubkey,
    payer: &Pubkey,
    circuit_id: u32,
    ticks: u16,
    key: VerifyingKey,
    admins: &[Pubkey],
) -> Instruction {
    let mut accounts = vec![
        AccountMeta::new(*payer, true),
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(state::vk_address(program_id, circuit_id).0, false),
        AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
    ];
    accounts.extend(signers(admins));
    ix(program_id, accounts, &FlashInstruction::SetVerifyingKey { circuit_id, ticks, key })
}

pub fn set_paused(program_id: &Pubkey, paused: bool, admins: &[Pubkey]) -> Instruction {
    let mut accounts = vec![AccountMeta::new(state::config_address(program_id).0, false)];
    accounts.extend(signers(admins));
    ix(program_id, accounts, &FlashInstruction::SetPaused { paused })
}

/// A market's terms: its id, circuit, rule and schedule (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTerms {
    pub market_id: [u8; 32],
    pub circuit_id: u32,
    pub rule: Rule,
    pub lock_at: i64,
    pub resolve_by: i64,
}

/// Signed by one of the config's oracles, who pays for the market and its vault.
pub fn create_market(program_id: &Pubkey, oracle: &Pubkey, mint: &Pubkey, terms: MarketTerms) -> Instruction {
    let MarketTerms { market_id, circuit_id, rule, lock_at, resolve_by } = terms;
    let market = state::market_address(program_id, &market_id).0;
    let accounts = vec![
        AccountMeta::new(*oracle, true),
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(market, false),
        AccountMeta::new(state::vault_address(program_id, &market).0, false),
        AccountMeta::new_readonly(*mint, false),
        AccountMeta::new_readonly(state::vk_address(program_id, circuit_id).0, false),
        AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
        AccountMeta::new_readonly(TOKEN_PROGRAM_ID, false),
    ];
    ix(program_id, accounts, &FlashInstruction::CreateMarket { market_id, circuit_id, rule, lock_at, resolve_by })
}

pub fn place_bet(
    program_id: &Pubkey,
    bettor: &Pubkey,
    bettor_token: &Pubkey,
    mint: &Pubkey,
    market_id: &[u8; 32],
    outcome: u8,
    amount: u64,
) -> Instruction {
    let market = state::market_address(program_id, market_id).0;
    let accounts = vec![
        AccountMeta::new(*bettor, true),
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(market, false),
        AccountMeta::new(state::position_address(program_id, &market, bettor, outcome).0, false),
        AccountMeta::new(*bettor_token, false),
        AccountMeta::new(state::vault_address(program_id, &market).0, false),
        AccountMeta::new_readonly(*mint, false),
        AccountMeta::new_readonly(TOKEN_PROGRAM_ID, false),
        AccountMeta::new_readonly(SYSTEM_PROGRAM_ID, false),
    ];
    ix(program_id, accounts, &FlashInstruction::PlaceBet { outcome, amount })
}

pub fn lock_market(program_id: &Pubkey, oracle: &Pubkey, market_id: &[u8; 32], commitment: [u8; 32]) -> Instruction {
    let accounts = vec![
        AccountMeta::new_readonly(*oracle, true),
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(state::market_address(program_id, market_id).0, false),
    ];
    ix(program_id, accounts, &FlashInstruction::LockMarket { commitment })
}

/// Anyone may send it. Goes in a transaction after [`resolve_compute_budget`].
pub fn resolve_market(
    program_id: &Pubkey,
    market_id: &[u8; 32],
    circuit_id: u32,
    mint: &Pubkey,
    fee_account: &Pubkey,
    outcome: u8,
    proof: Proof,
) -> Instruction {
    let market = state::market_address(program_id, market_id).0;
    let accounts = vec![
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(market, false),
        AccountMeta::new_readonly(state::vk_address(program_id, circuit_id).0, false),
        AccountMeta::new(state::vault_address(program_id, &market).0, false),
        AccountMeta::new(*fee_account, false),
        AccountMeta::new_readonly(*mint, false),
        AccountMeta::new_readonly(TOKEN_PROGRAM_ID, false),
    ];
    ix(program_id, accounts, &FlashInstruction::ResolveMarket { outcome, proof })
}

/// `ComputeBudgetInstruction::SetComputeUnitLimit(RESOLVE_COMPUTE_UNITS)`: the default
/// 200,000-per-instruction budget is shared, so resolve states its own.
pub fn resolve_compute_budget() -> Instruction {
    let mut data = vec![2u8];
    data.extend_from_slice(&RESOLVE_COMPUTE_UNITS.to_le_bytes());
    Instruction { program_id: COMPUTE_BUDGET_ID, accounts: Vec::new(), data }
}

pub fn claim(
    program_id: &Pubkey,
    owner: &Pubkey,
    owner_token: &Pubkey,
    mint: &Pubkey,
    fee_account: &Pubkey,
    market_id: &[u8; 32],
    outcome: u8,
) -> Instruction {
    let market = state::market_address(program_id, market_id).0;
    let accounts = vec![
        AccountMeta::new_readonly(*owner, true),
        AccountMeta::new_readonly(state::config_address(program_id).0, false),
        AccountMeta::new(market, false),
        AccountMeta::new(state::position_address(program_id, &market, owner, outcome).0, false),
        AccountMeta::new(*owner_token, false),
        AccountMeta::new(state::vault_address(program_id, &market).0, false),
        AccountMeta::new(*fee_account, false),
        AccountMeta::new_readonly(*mint, false),
        AccountMeta::new_readonly(TOKEN_PROGRAM_ID, false),
    ];
    ix(program_id, accounts, &FlashInstruction::Claim)
}

pub fn void_market(program_id: &Pubkey, market_id: &[u8; 32]) -> Instruction {
    let accounts = vec![AccountMeta::new(state::market_address(program_id, market_id).0, false)];
    ix(program_id, accounts, &FlashInstruction::VoidMarket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_round_trip() {
        let key = VerifyingKey {
            alpha_g1: [1; 64],
            beta_g2: [2; 128],
            gamma_g2: [3; 128],
            delta_g2: [4; 128],
            ic: [[5; 64], [6; 64], [7; 64], [8; 64], [9; 64]],
        };
        let all = [
            FlashInstruction::InitializeConfig {
                admin_threshold: 2,
                admins: vec![Pubkey::new_from_array([1; 32]); 3],
                oracles: vec![Pubkey::new_from_array([2; 32])],
                fee_bps: 300,
            },
            FlashInstruction::SetVerifyingKey { circuit_id: 7, ticks: 16, key },
            FlashInstruction::SetPaused { paused: true },
            FlashInstruction::CreateMarket {
                market_id: [0; 32],
                circuit_id: 1,
                rule: Rule::buckets(&[5, 9]).expect("rule"),
                lock_at: 10,
                resolve_by: 20,
            },
            FlashInstruction::PlaceBet { outcome: 1, amount: 5 },
            FlashInstruction::LockMarket { commitment: [3; 32] },
            FlashInstruction::ResolveMarket { outcome: 0, proof: Proof { a: [1; 64], b: [2; 128], c: [3; 64] } },
            FlashInstruction::Claim,
            FlashInstruction::VoidMarket,
        ];
        for ix in all {
            let data = ix.encode();
            assert_eq!(FlashInstruction::decode(&data, false), Ok(ix.clone()));
            let mut longer = data.clone();
            longer.push(0);
            assert_eq!(FlashInstruction::decode(&longer, false), Err(FlashError::InvalidInstruction), "{ix:?}");
            assert!(FlashInstruction::decode(&data[..data.len() - 1], false).is_err(), "{ix:?} truncated");
        }
        assert_eq!(FlashInstruction::decode(&[], false), Err(FlashError::InvalidInstruction));
        assert_eq!(FlashInstruction::decode(&[200], false), Err(FlashError::InvalidInstruction));
    }

    #[test]
    fn the_unbuilt_instructions_decode_only_with_the_experimental_switch() {
        for t in EXPERIMENTAL_TAGS {
            assert_eq!(FlashInstruction::decode(&[t], false), Err(FlashError::InvalidInstruction));
            assert!(matches!(
                FlashInstruction::decode(&[t], true),
                Ok(FlashInstruction::LeveragedBet | FlashInstruction::ChainedBet | FlashInstruction::AdvancedOrder)
            ));
        }
    }
}
