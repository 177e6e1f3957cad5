//! The Groth16 check behind `resolve`: the verifying key's byte layout (the alt_bn128
//! syscalls' big-endian one), the checks a key must pass before it is stored, and proof
//! verification with `groth16-solana`. The `flash verify` command runs this same code.

use groth16_solana::groth16::{Groth16Verifier, Groth16Verifyingkey, is_less_than_bn254_field_size_be};
use solana_bn254::prelude::{alt_bn128_g1_addition_be, alt_bn128_pairing_be};

use crate::error::FlashError;

/// Market id, commitment, rule hash, outcome.
pub const PUBLIC_INPUTS: usize = 4;
pub const G1_LEN: usize = 64;
pub const G2_LEN: usize = 128;
/// alpha, beta, gamma, delta, and one IC point per public input plus one.
pub const KEY_LEN: usize = G1_LEN + 3 * G2_LEN + (PUBLIC_INPUTS + 1) * G1_LEN;

/// SHA-256 hashes of the verifying keys the test suites make from fixed seeds
/// (`kairos-flash-circuit`'s `test-keys`). Anyone can rebuild their trapdoors, so a release
/// build refuses to store them; the circuit crate's tests fail when this list goes stale.
pub const TEST_KEY_HASHES: &[[u8; 32]] = &[
    // 4 ticks
    [
        0x00, 0x8d, 0x4f, 0x08, 0x88, 0xdd, 0x86, 0xb9, 0x6c, 0xf8, 0x15, 0x6c, 0x89, 0x3d, 0xa8, 0xde, 0x78, 0x20,
        0xc9, 0xb1, 0xb1, 0x7d, 0x1c, 0x26, 0x97, 0x60, 0x46, 0xc8, 0x26, 0x23, 0x51, 0x80,
    ],
    // 16 ticks
    [
        0xc9, 0xe5, 0x91, 0x78, 0x1a, 0x5d, 0x97, 0x7b, 0xc8, 0x92, 0x06, 0x05, 0xa4, 0x82, 0xbc, 0xd2, 0x08, 0xf3,
        0x1b, 0x50, 0x74, 0x5d, 0xd8, 0x6a, 0xc8, 0x23, 0xd6, 0xf2, 0x3c, 0xb5, 0x20, 0x00,
    ],
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    pub alpha_g1: [u8; G1_LEN],
    pub beta_g2: [u8; G2_LEN],
    pub gamma_g2: [u8; G2_LEN],
    pub delta_g2: [u8; G2_LEN],
    pub ic: [[u8; G1_LEN]; PUBLIC_INPUTS + 1],
}

/// A proof as `resolve` receives it: `a` already negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub a: [u8; G1_LEN],
    pub b: [u8; G2_LEN],
    pub c: [u8; G1_LEN],
}

impl VerifyingKey {
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        let mut out = [0u8; KEY_LEN];
        let mut at = 0;
        for part in [&self.alpha_g1[..], &self.beta_g2[..], &self.gamma_g2[..], &self.delta_g2[..]]
            .into_iter()
            .chain(self.ic.iter().map(|p| &p[..]))
        {
            out[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FlashError> {
        let mut r = crate::layout::Reader::new(bytes);
        let key = Self {
            alpha_g1: r.bytes()?,
            beta_g2: r.bytes()?,
            gamma_g2: r.bytes()?,
            delta_g2: r.bytes()?,
            ic: [r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?],
        };
        r.finish()?;
        Ok(key)
    }

    /// SHA-256 of [`VerifyingKey::to_bytes`]: the hash a ceremony publishes.
    pub fn hash(&self) -> [u8; 32] {
        solana_program::hash::hashv(&[&self.to_bytes()]).to_bytes()
    }

    /// Every point on its curve (G2 points in their subgroup) and none the identity; delta
    /// must differ from gamma (a key made without a contribution accepts forged proofs);
    /// release builds also refuse the test suites' deterministic keys.
    pub fn check(&self) -> Result<(), FlashError> {
        self.check_points()?;
        if self.delta_g2 == self.gamma_g2 {
            return Err(FlashError::InvalidVerifyingKey);
        }
        check_not_test_key(&self.hash(), !cfg!(debug_assertions))
    }

    fn check_points(&self) -> Result<(), FlashError> {
        let points = [&self.alpha_g1[..], &self.beta_g2[..], &self.gamma_g2[..], &self.delta_g2[..]];
        canonical(points.into_iter().chain(self.ic.iter().map(|p| &p[..])))?;
        for g1 in std::iter::once(&self.alpha_g1).chain(self.ic.iter()) {
            if g1.iter().all(|b| *b == 0) {
                return Err(FlashError::InvalidVerifyingKey);
            }
            // Adding the identity validates the point (the syscall refuses one off the curve).
            let mut input = [0u8; 2 * G1_LEN];
            input[..G1_LEN].copy_from_slice(g1);
            alt_bn128_g1_addition_be(&input).map_err(|_| FlashError::InvalidVerifyingKey)?;
        }
        for g2 in [&self.beta_g2, &self.gamma_g2, &self.delta_g2] {
            if g2.iter().all(|b| *b == 0) {
                return Err(FlashError::InvalidVerifyingKey);
            }
            // A one-pair pairing with the G1 generator validates the G2 point.
            let mut input = [0u8; G1_LEN + G2_LEN];
            input[31] = 1;
            input[63] = 2;
            input[G1_LEN..].copy_from_slice(g2);
            alt_bn128_pairing_be(&input).map_err(|_| FlashError::InvalidVerifyingKey)?;
        }
        Ok(())
    }
}

/// The base field's modulus (coordinates live in Fq, not in the scalar field Fr that
/// `is_less_than_bn254_field_size_be` checks public inputs against), big-endian.
pub const FQ_MODULUS_BE: [u8; 32] = [
    0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d, 0x97, 0x81, 0x6a,
    0x91, 0x68, 0x71, 0xca, 0x8d, 0x3c, 0x20, 0x8c, 0x16, 0xd8, 0x7c, 0xfd, 0x47,
];

/// Every coordinate of these points below the base field's modulus (EIP-197). The syscalls
/// read the top bits of y as arkworks' flags and ignore them, so without this check a key or
/// a proof has variants with those bits set that verify all the same (a malleable proof), and
/// no other verifier (an EVM precompile, snarkjs, py_ecc) would take them.
pub fn canonical<'a>(points: impl IntoIterator<Item = &'a [u8]>) -> Result<(), FlashError> {
    for point in points {
        for c in point.chunks(32) {
            if c >= &FQ_MODULUS_BE[..] {
                return Err(FlashError::NonCanonicalPoint);
            }
        }
    }
    Ok(())
}

/// Refuses a test key's hash when `refuse` (release builds pass `true`).
pub fn check_not_test_key(hash: &[u8; 32], refuse: bool) -> Result<(), FlashError> {
    if refuse && TEST_KEY_HASHES.contains(hash) { Err(FlashError::TestVerifyingKey) } else { Ok(()) }
}

/// Verifies `proof` for exactly these public inputs, each checked to be below the field
/// modulus first, as is every coordinate of the proof's and the key's points.
pub fn verify(key: &VerifyingKey, proof: &Proof, inputs: &[[u8; 32]; PUBLIC_INPUTS]) -> Result<(), FlashError> {
    canonical([&proof.a[..], &proof.b[..], &proof.c[..]])?;
    canonical(
        [&key.alpha_g1[..], &key.beta_g2[..], &key.gamma_g2[..], &key.delta_g2[..]]
            .into_iter()
            .chain(key.ic.iter().map(|p| &p[..])),
    )?;
    if !inputs.iter().all(is_less_than_bn254_field_size_be) {
        return Err(FlashError::NotAFieldElement);
    }
    let vk = Groth16Verifyingkey {
        nr_pubinputs: PUBLIC_INPUTS,
        vk_alpha_g1: key.alpha_g1,
        vk_beta_g2: key.beta_g2,
        vk_gamma_g2: key.gamma_g2,
        vk_delta_g2: key.delta_g2,
        vk_ic: &key.ic,
        vk_commitment: None,
    };
    let mut verifier = Groth16Verifier::<PUBLIC_INPUTS>::new(&proof.a, &proof.b, &proof.c, inputs, &vk)
        .map_err(|_| FlashError::InvalidProof)?;
    verifier.verify().map_err(|_| FlashError::InvalidProof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_hashes_are_refused_only_when_asked() {
        for hash in TEST_KEY_HASHES {
            assert_eq!(check_not_test_key(hash, true), Err(FlashError::TestVerifyingKey));
            assert_eq!(check_not_test_key(hash, false), Ok(()));
        }
        assert_eq!(check_not_test_key(&[7; 32], true), Ok(()));
    }
}
