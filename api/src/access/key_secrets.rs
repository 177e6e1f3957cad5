//! API key secrets: made, encrypted at rest under `KAIROS_MASTER_KEY` (AES-256-GCM, the key id
//! as associated data so a ciphertext cannot be moved to another key's row), and decrypted to
//! check signatures. During a rotation `KAIROS_MASTER_KEY_PREVIOUS` still decrypts what it
//! encrypted, and [`reencrypt_all`] moves every stored secret to the current key.

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use kairos_platform::config::Secret;
use rand::RngCore as _;

#[derive(Clone)]
pub struct MasterKey {
    current: Aes256Gcm,
    previous: Option<Aes256Gcm>,
}

/// Which key a stored secret was readable with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    Current,
    Previous,
}

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
    /// From the config values (32 bytes, base64; checked by the config loader).
    pub fn from_config(secret: &Secret, previous: Option<&Secret>) -> Result<MasterKey, KeySecretError> {
        let cipher = |s: &Secret| {
            let bytes = kairos_platform::config::decode_master_key(s.expose())?;
            Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeySecretError::Cipher)
        };
        Ok(MasterKey { current: cipher(secret)?, previous: previous.map(cipher).transpose()? })
    }

    pub fn encrypt(&self, key_id: &str, secret: &[u8]) -> Result<String, KeySecretError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .current
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: key_id.as_bytes() })
            .map_err(|_| KeySecretError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn decrypt(&self, key_id: &str, stored: &str) -> Result<Vec<u8>, KeySecretError> {
        self.decrypt_under(key_id, stored).map(|(secret, _)| secret)
    }

    /// The secret and the key that opened it: the current one, else the previous one.
    pub fn decrypt_under(&self, key_id: &str, stored: &str) -> Result<(Vec<u8>, Under), KeySecretError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(stored).map_err(|_| KeySecretError::Malformed)?;
        if bytes.len() < 12 + 16 {
            return Err(KeySecretError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        let open = |cipher: &Aes256Gcm| {
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: key_id.as_bytes() }).ok()
        };
        if let Some(secret) = open(&self.current) {
            return Ok((secret, Under::Current));
        }
        match self.previous.as_ref().and_then(open) {
            Some(secret) => Ok((secret, Under::Previous)),
            None => Err(KeySecretError::Decrypt),
        }
    }
}

/// What [`reencrypt_all`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reencrypted {
    pub keys: usize,
    /// Moved from the previous master key to the current one.
    pub reencrypted: usize,
    pub already_current: usize,
    /// Readable with neither key (ids): they cannot authenticate until re-issued.
    pub unreadable: Vec<String>,
}

/// Moves every stored key secret (revoked keys too) to the current master key. Each row is
/// updated only if it still holds what was read, so a key rotated meanwhile is left alone; safe
/// to run again.
pub async fn reencrypt_all(
    db: &kairos_platform::storage::Db,
    master: &MasterKey,
) -> Result<Reencrypted, anyhow::Error> {
    use kairos_platform::storage::api_keys;
    let mut done = Reencrypted::default();
    for (id, stored) in api_keys::all_secret_ciphertexts(db).await? {
        done.keys += 1;
        match master.decrypt_under(&id, &stored) {
            Ok((_, Under::Current)) => done.already_current += 1,
            Ok((secret, Under::Previous)) => {
                let fresh = master.encrypt(&id, &secret)?;
                if api_keys::replace_secret_ciphertext(db, &id, &stored, &fresh).await? {
                    done.reencrypted += 1;
                }
            }
            Err(_) => done.unreadable.push(id),
        }
    }
    Ok(done)
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
        let mk =
            MasterKey::from_config(&Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), None).expect("key");
        let (raw, shown) = new_secret();
        assert_eq!(shown.len(), 44);
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
        let (raw, _) = new_secret();
        let stored = old.encrypt("k1", &raw).expect("encrypt");
        let rotating = MasterKey::from_config(&b, Some(&a)).expect("b with a");
        assert_eq!(rotating.decrypt_under("k1", &stored).expect("opens"), (raw.clone(), Under::Previous));
        let moved = rotating.encrypt("k1", &raw).expect("encrypt");
        assert_eq!(rotating.decrypt_under("k1", &moved).expect("opens"), (raw, Under::Current));
        let new_only = MasterKey::from_config(&b, None).expect("b");
        assert_eq!(new_only.decrypt("k1", &stored), Err(KeySecretError::Decrypt));
    }
}
