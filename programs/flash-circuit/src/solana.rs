//! arkworks points to the byte layout of the alt_bn128 syscalls (and `groth16-solana`):
//! big-endian, G1 as `x‖y`, G2 as `x.c1‖x.c0‖y.c1‖y.c0`. arkworks serializes little-endian
//! with `c0` first, so reversing each 32-byte half of G1 and each 64-byte half of G2 gives
//! exactly that. The identity is refused: arkworks flags it in a high bit the syscalls do not read.

use ark_bn254::{Bn254, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalSerialize;
use kairos_flash_bets::verifier;

use crate::error::CircuitError;

fn reversed_halves<const N: usize>(le: &[u8]) -> Result<[u8; N], CircuitError> {
    let mut out: [u8; N] = le.try_into().map_err(|_| CircuitError::keys("unexpected point encoding length"))?;
    let half = N / 2;
    out[..half].reverse();
    out[half..].reverse();
    Ok(out)
}

pub fn g1(p: &G1Affine) -> Result<[u8; 64], CircuitError> {
    if p.is_zero() {
        return Err(CircuitError::keys("a G1 point is the identity"));
    }
    let mut le = Vec::with_capacity(64);
    p.serialize_uncompressed(&mut le).map_err(|e| CircuitError::keys(e.to_string()))?;
    reversed_halves(&le)
}

pub fn g2(p: &G2Affine) -> Result<[u8; 128], CircuitError> {
    if p.is_zero() {
        return Err(CircuitError::keys("a G2 point is the identity"));
    }
    let mut le = Vec::with_capacity(128);
    p.serialize_uncompressed(&mut le).map_err(|e| CircuitError::keys(e.to_string()))?;
    reversed_halves(&le)
}

pub fn verifying_key(vk: &VerifyingKey<Bn254>) -> Result<verifier::VerifyingKey, CircuitError> {
    let ic: Vec<[u8; 64]> = vk.gamma_abc_g1.iter().map(g1).collect::<Result<_, _>>()?;
    let ic: [[u8; 64]; verifier::PUBLIC_INPUTS + 1] = ic
        .try_into()
        .map_err(|_| CircuitError::keys(format!("the key must have {} public inputs", verifier::PUBLIC_INPUTS)))?;
    Ok(verifier::VerifyingKey {
        alpha_g1: g1(&vk.alpha_g1)?,
        beta_g2: g2(&vk.beta_g2)?,
        gamma_g2: g2(&vk.gamma_g2)?,
        delta_g2: g2(&vk.delta_g2)?,
        ic,
    })
}

/// The proof as `resolve` takes it, with `a` negated.
pub fn proof(p: &Proof<Bn254>) -> Result<verifier::Proof, CircuitError> {
    let neg_a: G1Affine = -p.a;
    Ok(verifier::Proof { a: g1(&neg_a)?, b: g2(&p.b)?, c: g1(&p.c)? })
}
