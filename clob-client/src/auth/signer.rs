//! An EOA signer: a secp256k1 private key, its address, and Ethereum-style recoverable
//! signatures (`r ‖ s ‖ v`, v = 27 or 28) over 32-byte digests.

pub use crate::eth::hex0x;
use crate::eth::{Address, B256, keccak256};
use secp256k1::{Message, PublicKey, SECP256K1, SecretKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    #[error("the private key must be 32 bytes of hex (with or without 0x)")]
    BadKey,
}

/// A private key and the address it controls. `Debug` never shows the key.
#[derive(Clone)]
pub struct Signer {
    key: SecretKey,
    address: Address,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Signer {
    pub fn from_hex(private_key: &str) -> Result<Signer, SignerError> {
        let hex = private_key.trim().trim_start_matches("0x");
        let mut bytes = [0u8; 32];
        if hex.len() != 64 {
            return Err(SignerError::BadKey);
        }
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| SignerError::BadKey)?;
        }
        let key = SecretKey::from_byte_array(bytes).map_err(|_| SignerError::BadKey)?;
        let public = PublicKey::from_secret_key_global(&key).serialize_uncompressed();
        let address = Address::from_key_hash(&keccak256(&public[1..]));
        Ok(Signer { key, address })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// `r ‖ s ‖ v` with v = 27 + recovery id, as the official clients produce.
    pub fn sign_hash(&self, hash: B256) -> [u8; 65] {
        let signature = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(hash.0), &self.key);
        let (recovery, compact) = signature.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&compact);
        out[64] = 27 + u8::try_from(i32::from(recovery)).unwrap_or(0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_checksummed_address() {
        // The well-known first development key.
        let s = Signer::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").expect("key");
        assert_eq!(s.address().to_checksum(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert!(!format!("{s:?}").contains("ac0974"));
        assert_eq!(Signer::from_hex("0x12").map(|_| ()), Err(SignerError::BadKey));
    }
}
