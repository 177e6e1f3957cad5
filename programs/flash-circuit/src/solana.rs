//! arkworks points to the byte layout of the alt_bn128 syscalls (and `groth16-solana`,
//! EIP-197): each coordinate a 32-byte big-endian integer below the field modulus, G1 as
//! `x‖y`, G2 as `x.c1‖x.c0‖y.c1‖y.c0`. Each coordinate is written from its canonical integer,
//! never by reshuffling arkworks' point serialization: that one carries flag bits (the sign of
//! y, the identity) in the top bits of y, which the syscalls ignore but every other verifier
//! refuses, and which would make flag-bit variants of one proof verify. The identity is refused.

use ark_bn254::{Bn254, Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Proof, VerifyingKey};
use kairos_flash_bets::verifier;

use crate::error::CircuitError;

/// The canonical big-endian integer of a base-field element.
fn coordinate(x: &Fq) -> Result<[u8; 32], CircuitError> {
    x.into_bigint().to_bytes_be().try_into().map_err(|_| CircuitError::keys("a coordinate is not 32 bytes"))
}

pub fn g1(p: &G1Affine) -> Result<[u8; 64], CircuitError> {
    let (x, y) = p.xy().ok_or_else(|| CircuitError::keys("a G1 point is the identity"))?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&coordinate(&x)?);
    out[32..].copy_from_slice(&coordinate(&y)?);
    Ok(out)
}

pub fn g2(p: &G2Affine) -> Result<[u8; 128], CircuitError> {
    let (x, y) = p.xy().ok_or_else(|| CircuitError::keys("a G2 point is the identity"))?;
    let mut out = [0u8; 128];
    for (at, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
        out[at * 32..(at + 1) * 32].copy_from_slice(&coordinate(c)?);
    }
    Ok(out)
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
