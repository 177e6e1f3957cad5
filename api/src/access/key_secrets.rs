//! API key secrets: made, sealed at rest under the master key ([`MasterKey`], the key id as the
//! associated data), and opened to check signatures. [`reencrypt_all`] moves every stored secret
//! to the current key during a rotation.

use base64::Engine as _;
pub use kairos_platform::master_key::{MasterKey, SealError as KeySecretError, Under};
use rand::RngCore as _;

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
    use kairos_platform::config::Secret;

    #[test]
    fn a_new_secret_is_shown_once_as_url_safe_base64() {
        let mk =
            MasterKey::from_config(&Secret::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="), None).expect("key");
        let (raw, shown) = new_secret();
        assert_eq!(shown.len(), 44);
        assert_eq!(base64::engine::general_purpose::URL_SAFE.decode(&shown).expect("url-safe"), raw);
        let stored = mk.encrypt("k1", &raw).expect("encrypt");
        assert_eq!(mk.decrypt("k1", &stored).expect("decrypt"), raw);
        assert!(mk.decrypt("k2", &stored).is_err(), "a ciphertext moved to another key must not decrypt");
    }
}
