//! Field elements and their byte forms: 32-byte big-endian values (accepted with or without
//! `0x`, printed with it), ids and salts that must start with a zero byte, u64 ticks.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

use crate::error::CircuitError;

/// Parses 64 hex digits, with or without `0x`.
pub fn parse_bytes32(what: &str, s: &str) -> Result<[u8; 32], CircuitError> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    let bytes = hex::decode(digits).map_err(|_| CircuitError::input(format!("{what} is not hex: {s:?}")))?;
    bytes.try_into().map_err(|_| CircuitError::input(format!("{what} must be 32 bytes (64 hex digits)")))
}

pub fn hex32(bytes: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(bytes))
}

pub fn hex_bytes(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A market id or salt: 32 bytes whose first byte is zero, read big-endian (so always
/// below the field modulus, never reduced).
pub fn id_to_field(what: &str, bytes: &[u8; 32]) -> Result<Fr, CircuitError> {
    if bytes[0] != 0 {
        return Err(CircuitError::input(format!("{what} must start with a zero byte (it is read as a field element)")));
    }
    Ok(Fr::from_be_bytes_mod_order(bytes))
}

/// A 32-byte value that must already be a canonical field element.
pub fn bytes_to_field(what: &str, bytes: &[u8; 32]) -> Result<Fr, CircuitError> {
    let f = Fr::from_be_bytes_mod_order(bytes);
    if field_to_bytes(&f) != *bytes {
        return Err(CircuitError::input(format!("{what} is not below the BN254 scalar modulus")));
    }
    Ok(f)
}

pub fn field_to_bytes(f: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    let be = f.into_bigint().to_bytes_be();
    out[32 - be.len()..].copy_from_slice(&be);
    out
}
