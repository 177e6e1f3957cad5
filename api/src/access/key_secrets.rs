//! API key secrets: made, encrypted at rest under `KAIROS_MASTER_KEY` (AES-256-GCM, the key id
//! as associated data so a ciphertext cannot be moved to another key's row), and decrypted to
//! check signatures.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use kairos_platform::config::Secret;
use rand::RngCore as _;

#[derive(Clone)]
pub struct MasterKey(Aes256Gcm);

/// Why a master key or a stored key secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeySecretError {
    #[error("KAIROS_MASTER_KEY {0}")]
    BadMasterKey(#[from] kairos_platform::config::MasterKeyError),
    #[error("the master key is not an AES-256 key")]
    Cipher,
    #[error("encryption failed")]
    Encrypt,
    #[error("the stored key secret is not base64 of a nonce and a ciphertext")]
    Malformed,
    #[error("cannot decrypt the key secret (wrong KAIROS_MASTER_KEY?)")]
    Decrypt,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From the config value (32 bytes, base64; checked by the config loader).
    pub fn from_config(secret: &Secret) -> Result<MasterKey, KeySecretError> {
        let bytes = kairos_platform::config::decode_master_key(secret.expose())?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeySecretError::Cipher)?;
        Ok(MasterKey(cipher))
    }

    pub fn encrypt(&self, key_id: &str, secret: &[u8]) -> Result<String, KeySecretError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .0
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: key_id.as_bytes() })
            .map_err(|_| KeySecretError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn decrypt(&self, key_id: &str, stored: &str) -> Result<Vec<u8>, KeySecretError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(stored).map_err(|_| KeySecretError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(KeySecretError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        self.0
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: key_id.as_bytes() })
            .map_err(|_| KeySecretError::Decrypt)
    }
}

/// A new secret: 32 random bytes, returned raw and as url-safe base64 with padding (what the
/// client is shown once).
pub fn new_secret() -> (Vec<u8>, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    (bytes.to_vec(), base64::engine::general_purpose::URL_SAFE.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_bound_to_the_key_id() {
        let mk = MasterKey::from_config(&Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")).expect("key");
        let (raw, shown) = new_secret();
        assert_eq!(shown.len(), 44);
        let stored = mk.encrypt("k1", &raw).expect("encrypt");
        assert_eq!(mk.decrypt("k1", &stored).expect("decrypt"), raw);
        assert!(mk.decrypt("k2", &stored).is_err(), "a ciphertext moved to another key must not decrypt");
    }
}
