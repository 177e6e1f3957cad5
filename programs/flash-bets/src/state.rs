//! Account layouts. Each starts with an 8-byte discriminator that names the account and its
//! layout version, and has a fixed size checked on every read, so an account of one kind can
//! never be read as another. The program creates each kind only at its PDA, so an account
//! this program owns that reads as a kind *is* that kind's PDA: handlers check owner and
//! discriminator instead of re-deriving addresses (1,500 CU per derivation attempt). The discriminator and the market's status sit at fixed offsets
//! so keepers can select accounts with `memcmp` filters.

use solana_program::pubkey::Pubkey;

use crate::error::FlashError;
use crate::layout::{Reader, Writer};
use crate::rule::{MAX_PARAMS, Rule};
use crate::verifier::{KEY_LEN, VerifyingKey};

pub const MAX_ADMINS: usize = 7;
/// `SetVerifyingKey` carries a 768-byte key: a legacy transaction (1,232 bytes) then holds at
/// most three signatures, so a larger threshold could never rotate a key.
pub const MAX_ADMIN_THRESHOLD: u8 = 3;
pub const MAX_ORACLES: usize = 4;
/// A flash market locks within a day of its creation and resolves within a day of its lock,
/// so bettors' money is never held for long by a market that goes quiet.
pub const MAX_SCHEDULE_SECONDS: i64 = 86_400;
/// Buckets give at most eight edges, so nine outcomes.
pub const MAX_OUTCOMES: usize = MAX_PARAMS + 1;

pub const CONFIG_SEED: &[u8] = b"config";
pub const VK_SEED: &[u8] = b"vk";
pub const MARKET_SEED: &[u8] = b"market";
pub const VAULT_SEED: &[u8] = b"vault";
pub const POSITION_SEED: &[u8] = b"position";

pub fn config_address(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], program_id)
}

pub fn vk_address(program_id: &Pubkey, circuit_id: u32) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VK_SEED, &circuit_id.to_le_bytes()], program_id)
}

pub fn market_address(program_id: &Pubkey, market_id: &[u8; 32]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[MARKET_SEED, market_id], program_id)
}

pub fn vault_address(program_id: &Pubkey, market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, market.as_ref()], program_id)
}

pub fn position_address(program_id: &Pubkey, market: &Pubkey, owner: &Pubkey, outcome: u8) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[POSITION_SEED, market.as_ref(), owner.as_ref(), &[outcome]], program_id)
}

/// Reads a whole account: the discriminator must match and the size must be exact.
fn open<'a>(data: &'a [u8], discriminator: &[u8; 8], len: usize) -> Result<Reader<'a>, FlashError> {
    if data.len() != len || &data[..8] != discriminator {
        return Err(FlashError::WrongAccount);
    }
    Ok(Reader::new(&data[8..]))
}

fn close(r: Reader<'_>) -> Result<(), FlashError> {
    r.finish().map_err(|_| FlashError::WrongAccount)
}

fn store(w: Writer, data: &mut [u8]) -> Result<(), FlashError> {
    if w.out.len() != data.len() {
        return Err(FlashError::WrongAccount);
    }
    data.copy_from_slice(&w.out);
    Ok(())
}

fn pubkeys<const N: usize>(r: &mut Reader<'_>) -> Result<[Pubkey; N], FlashError> {
    let mut out = [Pubkey::default(); N];
    for k in &mut out {
        *k = r.pubkey()?;
    }
    Ok(out)
}

/// The program's settings: who administers it (M of N), who may create and lock markets,
/// the fee, the pause switch and the collateral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bump: u8,
    pub paused: bool,
    pub admin_threshold: u8,
    pub admins: Vec<Pubkey>,
    pub oracles: Vec<Pubkey>,
    pub fee_bps: u16,
    pub mint: Pubkey,
    /// The token account (of `mint`) that fees and rounding dust go to.
    pub fee_account: Pubkey,
}

impl Config {
    pub const DISCRIMINATOR: [u8; 8] = *b"kfb:cfg1";
    pub const LEN: usize = 8 + 1 + 1 + 1 + 1 + 32 * MAX_ADMINS + 1 + 32 * MAX_ORACLES + 2 + 32 + 32;

    pub fn read(data: &[u8]) -> Result<Self, FlashError> {
        let mut r = open(data, &Self::DISCRIMINATOR, Self::LEN)?;
        let bump = r.u8()?;
        let paused = r.bool()?;
        let admin_threshold = r.u8()?;
        let admin_count = usize::from(r.u8()?);
        let admins: [Pubkey; MAX_ADMINS] = pubkeys(&mut r)?;
        let oracle_count = usize::from(r.u8()?);
        let oracles: [Pubkey; MAX_ORACLES] = pubkeys(&mut r)?;
        let config = Self {
            bump,
            paused,
            admin_threshold,
            admins: admins.get(..admin_count).ok_or(FlashError::WrongAccount)?.to_vec(),
            oracles: oracles.get(..oracle_count).ok_or(FlashError::WrongAccount)?.to_vec(),
            fee_bps: r.u16()?,
            mint: r.pubkey()?,
            fee_account: r.pubkey()?,
        };
        close(r)?;
        Ok(config)
    }

    pub fn write(&self, data: &mut [u8]) -> Result<(), FlashError> {
        let mut w = Writer::with_capacity(Self::LEN);
        w.bytes(&Self::DISCRIMINATOR).u8(self.bump).bool(self.paused).u8(self.admin_threshold);
        w.u8(self.admins.len() as u8);
        for i in 0..MAX_ADMINS {
            w.pubkey(self.admins.get(i).unwrap_or(&Pubkey::default()));
        }
        w.u8(self.oracles.len() as u8);
        for i in 0..MAX_ORACLES {
            w.pubkey(self.oracles.get(i).unwrap_or(&Pubkey::default()));
        }
        w.u16(self.fee_bps).pubkey(&self.mint).pubkey(&self.fee_account);
        store(w, data)
    }

    /// 1 ≤ M ≤ min(N, 3), N ≤ 7 distinct admins, 1 to 4 distinct oracles, fee ≤ 100 %.
    pub fn validate(&self) -> Result<(), FlashError> {
        let distinct = |keys: &[Pubkey]| keys.iter().enumerate().all(|(i, k)| !keys[..i].contains(k));
        let admins_ok = !self.admins.is_empty() && self.admins.len() <= MAX_ADMINS && distinct(&self.admins);
        let threshold_ok = (1..=MAX_ADMIN_THRESHOLD).contains(&self.admin_threshold)
            && usize::from(self.admin_threshold) <= self.admins.len();
        let oracles_ok = !self.oracles.is_empty() && self.oracles.len() <= MAX_ORACLES && distinct(&self.oracles);
        if !(admins_ok && threshold_ok && oracles_ok) {
            return Err(FlashError::InvalidSigners);
        }
        if self.fee_bps > 10_000 {
            return Err(FlashError::InvalidFee);
        }
        Ok(())
    }
}

/// A circuit's verifying key, stored under its circuit id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKeyAccount {
    pub bump: u8,
    pub circuit_id: u32,
    /// The number of ticks the circuit commits to (informational: the proof fixes it).
    pub ticks: u16,
    pub hash: [u8; 32],
    pub key: VerifyingKey,
}

impl VerifyingKeyAccount {
    pub const DISCRIMINATOR: [u8; 8] = *b"kfb:vk01";
    pub const LEN: usize = 8 + 1 + 4 + 2 + 32 + KEY_LEN;

    pub fn read(data: &[u8]) -> Result<Self, FlashError> {
        let mut r = open(data, &Self::DISCRIMINATOR, Self::LEN)?;
        let bump = r.u8()?;
        let circuit_id = r.u32()?;
        let ticks = r.u16()?;
        let hash = r.bytes()?;
        let key_bytes: [u8; KEY_LEN] = r.bytes()?;
        close(r)?;
        let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| FlashError::WrongAccount)?;
        Ok(Self { bump, circuit_id, ticks, hash, key })
    }

    pub fn write(&self, data: &mut [u8]) -> Result<(), FlashError> {
        let mut w = Writer::with_capacity(Self::LEN);
        w.bytes(&Self::DISCRIMINATOR).u8(self.bump).u32(self.circuit_id).u16(self.ticks);
        w.bytes(&self.hash).bytes(&self.key.to_bytes());
        store(w, data)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MarketStatus {
    Open = 0,
    Locked = 1,
    Resolved = 2,
    Voided = 3,
}

impl MarketStatus {
    fn from_u8(v: u8) -> Result<Self, FlashError> {
        Ok(match v {
            0 => Self::Open,
            1 => Self::Locked,
            2 => Self::Resolved,
            3 => Self::Voided,
            _ => return Err(FlashError::WrongAccount),
        })
    }
}

/// A flash market: its rule and schedule, the oracle's commitment, what was bet on each
/// outcome, and the payout bookkeeping once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Market {
    pub bump: u8,
    pub vault_bump: u8,
    pub status: MarketStatus,
    pub winning_outcome: Option<u8>,
    pub outcome_count: u8,
    pub market_id: [u8; 32],
    pub circuit_id: u32,
    /// The hash of the circuit's verifying key when the market was created: a key rotated
    /// afterwards cannot resolve it (the market voids at its deadline instead).
    pub vk_hash: [u8; 32],
    pub oracle: Pubkey,
    /// The market's token account (a PDA), stored so checks compare keys instead of
    /// re-deriving the address.
    pub vault: Pubkey,
    pub rule: Rule,
    pub created_at: i64,
    pub lock_at: i64,
    pub resolve_by: i64,
    pub commitment: Option<[u8; 32]>,
    /// Collateral bet on each outcome.
    pub totals: [u64; MAX_OUTCOMES],
    /// Positions opened on each outcome (the last winning claim sweeps the dust).
    pub positions: [u32; MAX_OUTCOMES],
    /// The fee in bps, fixed when the market is created.
    pub fee_bps: u16,
    /// Set at resolve: the losing side minus the fee, shared pro rata by the winners.
    pub payout_pool: u64,
    pub fee_paid: u64,
    pub winning_claims: u32,
}

impl Market {
    pub const DISCRIMINATOR: [u8; 8] = *b"kfb:mkt1";
    /// Where the status byte sits, for `memcmp` filters.
    pub const STATUS_OFFSET: usize = 10;
    /// Header and flags (5), market id, circuit id, key hash, oracle, vault, rule, three
    /// times, commitment, totals, position counts, fee, pool, fee paid, winning claims.
    pub const LEN: usize = 8
        + 5
        + 32
        + 4
        + 32
        + 32
        + 32
        + (1 + 1 + 8 * MAX_PARAMS)
        + 8 * 3
        + 33
        + 8 * MAX_OUTCOMES
        + 4 * MAX_OUTCOMES
        + 2
        + 8
        + 8
        + 4;

    pub fn read(data: &[u8]) -> Result<Self, FlashError> {
        let mut r = open(data, &Self::DISCRIMINATOR, Self::LEN)?;
        let bump = r.u8()?;
        let vault_bump = r.u8()?;
        let status = MarketStatus::from_u8(r.u8()?)?;
        let winning_outcome = match r.u8()? {
            u8::MAX => None,
            w => Some(w),
        };
        let outcome_count = r.u8()?;
        let market_id = r.bytes()?;
        let circuit_id = r.u32()?;
        let vk_hash = r.bytes()?;
        let oracle = r.pubkey()?;
        let vault = r.pubkey()?;
        let kind = r.u8()?;
        let count = r.u8()?;
        let mut params = [0u64; MAX_PARAMS];
        for p in &mut params {
            *p = r.u64()?;
        }
        let created_at = r.i64()?;
        let lock_at = r.i64()?;
        let resolve_by = r.i64()?;
        let has_commitment = r.bool()?;
        let commitment_bytes: [u8; 32] = r.bytes()?;
        let mut totals = [0u64; MAX_OUTCOMES];
        for t in &mut totals {
            *t = r.u64()?;
        }
        let mut positions = [0u32; MAX_OUTCOMES];
        for p in &mut positions {
            *p = r.u32()?;
        }
        let market = Self {
            bump,
            vault_bump,
            status,
            winning_outcome,
            outcome_count,
            market_id,
            circuit_id,
            vk_hash,
            oracle,
            vault,
            rule: Rule { kind, count, params },
            created_at,
            lock_at,
            resolve_by,
            commitment: has_commitment.then_some(commitment_bytes),
            totals,
            positions,
            fee_bps: r.u16()?,
            payout_pool: r.u64()?,
            fee_paid: r.u64()?,
            winning_claims: r.u32()?,
        };
        close(r)?;
        Ok(market)
    }

    pub fn write(&self, data: &mut [u8]) -> Result<(), FlashError> {
        let mut w = Writer::with_capacity(Self::LEN);
        w.bytes(&Self::DISCRIMINATOR).u8(self.bump).u8(self.vault_bump).u8(self.status as u8);
        w.u8(self.winning_outcome.unwrap_or(u8::MAX)).u8(self.outcome_count);
        w.bytes(&self.market_id).u32(self.circuit_id).bytes(&self.vk_hash).pubkey(&self.oracle).pubkey(&self.vault);
        w.u8(self.rule.kind).u8(self.rule.count);
        for p in self.rule.params {
            w.u64(p);
        }
        w.i64(self.created_at).i64(self.lock_at).i64(self.resolve_by);
        w.bool(self.commitment.is_some()).bytes(&self.commitment.unwrap_or([0; 32]));
        for t in self.totals {
            w.u64(t);
        }
        for p in self.positions {
            w.u32(p);
        }
        w.u16(self.fee_bps).u64(self.payout_pool).u64(self.fee_paid).u32(self.winning_claims);
        store(w, data)
    }

    /// Collateral bet on the outcomes that did not win.
    pub fn losing_total(&self, winning: u8) -> Result<u64, FlashError> {
        self.totals
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != usize::from(winning))
            .try_fold(0u64, |acc, (_, t)| acc.checked_add(*t))
            .ok_or(FlashError::Overflow)
    }
}

/// One owner's stake on one outcome of one market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub bump: u8,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub outcome: u8,
    pub amount: u64,
    pub claimed: bool,
}

impl Position {
    pub const DISCRIMINATOR: [u8; 8] = *b"kfb:pos1";
    pub const LEN: usize = 8 + 1 + 32 + 32 + 1 + 8 + 1;

    pub fn read(data: &[u8]) -> Result<Self, FlashError> {
        let mut r = open(data, &Self::DISCRIMINATOR, Self::LEN)?;
        let position = Self {
            bump: r.u8()?,
            market: r.pubkey()?,
            owner: r.pubkey()?,
            outcome: r.u8()?,
            amount: r.u64()?,
            claimed: r.bool()?,
        };
        close(r)?;
        Ok(position)
    }

    pub fn write(&self, data: &mut [u8]) -> Result<(), FlashError> {
        let mut w = Writer::with_capacity(Self::LEN);
        w.bytes(&Self::DISCRIMINATOR).u8(self.bump).pubkey(&self.market).pubkey(&self.owner);
        w.u8(self.outcome).u64(self.amount).bool(self.claimed);
        store(w, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_market_round_trips_and_keeps_its_status_offset() {
        let mut m = Market {
            bump: 1,
            vault_bump: 2,
            status: MarketStatus::Locked,
            winning_outcome: Some(1),
            outcome_count: 4,
            market_id: [3; 32],
            circuit_id: 16,
            vk_hash: [8; 32],
            oracle: Pubkey::new_from_array([4; 32]),
            vault: Pubkey::new_from_array([5; 32]),
            rule: Rule::buckets(&[1, 2, 3]).expect("rule"),
            created_at: -5,
            lock_at: 10,
            resolve_by: 20,
            commitment: Some([9; 32]),
            totals: [1, 2, 3, 4, 5, 6, 7, 8, 9],
            positions: [9, 8, 7, 6, 5, 4, 3, 2, 1],
            fee_bps: 250,
            payout_pool: 77,
            fee_paid: 3,
            winning_claims: 2,
        };
        let mut data = vec![0u8; Market::LEN];
        m.write(&mut data).expect("write");
        assert_eq!(data[Market::STATUS_OFFSET], MarketStatus::Locked as u8);
        assert_eq!(Market::read(&data), Ok(m.clone()));
        m.commitment = None;
        m.winning_outcome = None;
        m.write(&mut data).expect("write");
        assert_eq!(Market::read(&data), Ok(m));
        assert_eq!(Market::read(&data[1..]), Err(FlashError::WrongAccount));
        let mut other = data.clone();
        other[0] ^= 1;
        assert_eq!(Market::read(&other), Err(FlashError::WrongAccount));
    }

    #[test]
    fn sizes_are_the_documented_ones() {
        // The crate README's account table.
        assert_eq!((Config::LEN, VerifyingKeyAccount::LEN, Market::LEN, Position::LEN), (431, 815, 398, 83));
    }

    #[test]
    fn a_config_round_trips() {
        let c = Config {
            bump: 255,
            paused: true,
            admin_threshold: 2,
            admins: vec![Pubkey::new_from_array([1; 32]), Pubkey::new_from_array([2; 32])],
            oracles: vec![Pubkey::new_from_array([3; 32])],
            fee_bps: 100,
            mint: Pubkey::new_from_array([5; 32]),
            fee_account: Pubkey::new_from_array([6; 32]),
        };
        let mut data = vec![0u8; Config::LEN];
        c.write(&mut data).expect("write");
        assert_eq!(Config::read(&data), Ok(c.clone()));
        assert!(c.validate().is_ok());
        let dup = Config { admins: vec![c.admins[0], c.admins[0]], ..c.clone() };
        assert_eq!(dup.validate(), Err(FlashError::InvalidSigners));
        let high = Config { admin_threshold: 3, ..c.clone() };
        assert_eq!(high.validate(), Err(FlashError::InvalidSigners));
        let five: Vec<Pubkey> = (1..=5u8).map(|i| Pubkey::new_from_array([i; 32])).collect();
        let three_of_five = Config { admins: five.clone(), admin_threshold: 3, ..c.clone() };
        assert_eq!(three_of_five.validate(), Ok(()));
        let four_of_five = Config { admins: five, admin_threshold: 4, ..c.clone() };
        assert_eq!(four_of_five.validate(), Err(FlashError::InvalidSigners), "a rotation would not fit");
        assert_eq!(Config { fee_bps: 10_001, ..c }.validate(), Err(FlashError::InvalidFee));
    }
}
