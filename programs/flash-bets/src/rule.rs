//! A market's rule: how the committed ticks give its outcome. The program stores it and
//! recomputes its hash with Poseidon (the `sol_poseidon` syscall on chain) instead of taking
//! eight more public inputs in the proof.

use crate::error::FlashError;

pub const MAX_PARAMS: usize = 8;
pub const KIND_THRESHOLD: u8 = 1;
pub const KIND_TWAP: u8 = 2;
pub const KIND_BUCKETS: u8 = 3;

/// `kind`, the number of parameters given, and the parameters zero-padded to eight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: u8,
    pub count: u8,
    pub params: [u64; MAX_PARAMS],
}

impl Rule {
    pub fn threshold(strike: u64) -> Self {
        Self::single(KIND_THRESHOLD, strike)
    }

    pub fn twap(strike: u64) -> Self {
        Self::single(KIND_TWAP, strike)
    }

    pub fn buckets(edges: &[u64]) -> Result<Self, FlashError> {
        if edges.is_empty() || edges.len() > MAX_PARAMS {
            return Err(FlashError::InvalidRule);
        }
        let mut params = [0u64; MAX_PARAMS];
        params[..edges.len()].copy_from_slice(edges);
        let rule = Self { kind: KIND_BUCKETS, count: edges.len() as u8, params };
        rule.validate()?;
        Ok(rule)
    }

    fn single(kind: u8, strike: u64) -> Self {
        let mut params = [0u64; MAX_PARAMS];
        params[0] = strike;
        Self { kind, count: 1, params }
    }

    /// Threshold and TWAP take one strike; buckets take 1 to 8 strictly ascending edges; the
    /// unused parameters are zero (the hash covers them, so they must be canonical).
    pub fn validate(&self) -> Result<(), FlashError> {
        let count = usize::from(self.count);
        let ok_count = match self.kind {
            KIND_THRESHOLD | KIND_TWAP => count == 1,
            KIND_BUCKETS => (1..=MAX_PARAMS).contains(&count),
            _ => false,
        };
        if !ok_count || self.params[count..].iter().any(|p| *p != 0) {
            return Err(FlashError::InvalidRule);
        }
        if self.kind == KIND_BUCKETS && self.params[..count].windows(2).any(|w| w[0] >= w[1]) {
            return Err(FlashError::InvalidRule);
        }
        Ok(())
    }

    /// Binary for threshold and TWAP; one more than the number of edges for buckets.
    pub fn outcome_count(&self) -> u8 {
        match self.kind {
            KIND_BUCKETS => self.count + 1,
            _ => 2,
        }
    }

    /// `Poseidon(kind, count, p_1, …, p_8)` with circomlib's BN254 parameters, big-endian.
    // solana-poseidon 3.1 marks its API "Agave unstable"; it is the only binding of the
    // `sol_poseidon` syscall for this SDK line.
    #[allow(deprecated)]
    pub fn hash(&self) -> Result<[u8; 32], FlashError> {
        let mut inputs = [[0u8; 32]; 2 + MAX_PARAMS];
        inputs[0] = field_u64(u64::from(self.kind));
        inputs[1] = field_u64(u64::from(self.count));
        for (slot, p) in inputs[2..].iter_mut().zip(self.params) {
            *slot = field_u64(p);
        }
        let refs: [&[u8]; 2 + MAX_PARAMS] = std::array::from_fn(|i| inputs[i].as_slice());
        use solana_poseidon::{Endianness, Parameters, hashv};
        hashv(Parameters::Bn254X5, Endianness::BigEndian, &refs)
            .map(|h| h.to_bytes())
            .map_err(|_| FlashError::InvalidRule)
    }
}

/// A u64 as a 32-byte big-endian field element.
pub fn field_u64(v: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&v.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_validated() {
        assert!(Rule::threshold(5).validate().is_ok());
        assert_eq!(Rule::buckets(&[]), Err(FlashError::InvalidRule));
        assert_eq!(Rule::buckets(&[3, 3]), Err(FlashError::InvalidRule));
        assert_eq!(Rule::buckets(&[4, 3]), Err(FlashError::InvalidRule));
        assert_eq!(Rule::buckets(&[1; 9]), Err(FlashError::InvalidRule));
        let mut padded = Rule::threshold(5);
        padded.params[3] = 1;
        assert_eq!(padded.validate(), Err(FlashError::InvalidRule));
        assert_eq!(Rule { kind: 4, count: 1, params: [0; 8] }.validate(), Err(FlashError::InvalidRule));
        assert_eq!(Rule::buckets(&[1, 2, 3]).map(|r| r.outcome_count()), Ok(4));
    }
}
