//! The master key (`KAIROS_MASTER_KEY`) and what it seals at rest: AES-256-GCM with the row the
//! value belongs to as associated data, so a ciphertext cannot be moved to another row. The API
//! seals API key secrets with it; the flash oracle seals each market's commitment salt. During a
//! rotation `KAIROS_MASTER_KEY_PREVIOUS` still opens what it sealed.

use crate::config::Secret;
use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore as _;

#[derive(Clone)]
pub struct MasterKey {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

/// Which key a sealed value was readable with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    Current,
    Previous,
}

/// Why a master key or a sealed value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("KAIROS_MASTER_KEY {0}")]
    BadMasterKey(#[from] crate::config::MasterKeyError),
    #[error("the master key is not an AES-256 key")]
    Cipher,
    #[error("encryption failed")]
    Encrypt,
    #[error("the sealed value is not base64 of a nonce and a ciphertext")]
    Malformed,
    #[error("cannot open the sealed value (wrong KAIROS_MASTER_KEY?)")]
    Decrypt,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From the config values (32 bytes, base64; checked by the config loader).
    pub fn from_config(secret: &Secret, previous: Option<&Secret>) -> Result<MasterKey, SealError> {
        let cipher = |s: &Secret| {
            let bytes = crate::config::decode_master_key(s.expose())?;
            Aes256Gcm::new_from_slice(&bytes).map_err(|_| SealError::Cipher)
        };
        Ok(MasterKey { current: cipher(secret)?, previous: previous.map(cipher).transpose()? })
    }

    /// Seals `secret` bound to `context` (the row it belongs to): a ciphertext moved to another
    /// row does not open.
    pub fn encrypt(&self, context: &str, secret: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .current
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: context.as_bytes() })
            .map_err(|_| SealError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn decrypt(&self, context: &str, stored: &str) -> Result<Vec<u8>, SealError> {
        self.decrypt_under(context, stored).map(|(secret, _)| secret)
    }

    /// The secret and the key that opened it: the current one, else the previous one.
    pub fn decrypt_under(&self, context: &str, stored: &str) -> Result<(Vec<u8>, Under), SealError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(stored).map_err(|_| SealError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        let open = |cipher: &Aes256Gcm| {
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() }).ok()
        };
        if let Some(secret) = open(&self.current) {
            return Ok((secret, Under::Current));
        }
        match self.previous.as_ref().and_then(open) {
            Some(secret) => Ok((secret, Under::Previous)),
            None => Err(SealError::Decrypt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_bound_to_the_key_id() {
        let mk =
            MasterKey::from_config(&Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), None).expect("key");
        let raw = b"a secret of any length".to_vec();
        let stored = mk.encrypt("k1", &raw).expect("encrypt");
        assert_eq!(mk.decrypt("k1", &stored).expect("decrypt"), raw);
        assert!(mk.decrypt("k2", &stored).is_err(), "a ciphertext moved to another key must not decrypt");
    }

    #[test]
    fn during_a_rotation_the_previous_key_still_opens_what_it_sealed() {
        let (a, b) = (
            Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
            Secret::new("kH3vR8sQ2mT6wZ1yB4nC7xE0aF5gJ9dL3pU8oI2kS6c="),
        );
        let old = MasterKey::from_config(&a, None).expect("a");
        let raw = vec![7u8; 32];
        let stored = old.encrypt("k1", &raw).expect("encrypt");
        let rotating = MasterKey::from_config(&b, Some(&a)).expect("b with a");
        assert_eq!(rotating.decrypt_under("k1", &stored).expect("opens"), (raw.clone(), Under::Previous));
        let moved = rotating.encrypt("k1", &raw).expect("encrypt");
        assert_eq!(rotating.decrypt_under("k1", &moved).expect("opens"), (raw, Under::Current));
        let new_only = MasterKey::from_config(&b, None).expect("b");
        assert_eq!(new_only.decrypt("k1", &stored), Err(SealError::Decrypt));
    }
}
