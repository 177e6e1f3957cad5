//! The oracle's keypair: a file outside git in Solana's format (a JSON array of the 64 bytes
//! of secret and public key), refused when anyone but its owner may read it. It is never
//! logged; only its public key is.

use std::io::Write as _;
use std::path::Path;

use solana_keypair::Keypair;

#[derive(Debug, thiserror::Error)]
pub enum OracleKeyError {
    #[error("{path}: {reason}")]
    Refused { path: String, reason: String },
}

fn refused(path: &Path, reason: impl Into<String>) -> OracleKeyError {
    OracleKeyError::Refused { path: path.display().to_string(), reason: reason.into() }
}

/// Reads the keypair, refusing a file others may read (mode must be 0600 or stricter).
pub fn load(path: &Path) -> Result<Keypair, OracleKeyError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| refused(path, e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refused(path, format!("mode {mode:o} lets others read the oracle's key; chmod 600 it")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| refused(path, e.to_string()))?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .map_err(|_| refused(path, "not a Solana keypair file (a JSON array of 64 numbers)"))?;
    Keypair::try_from(bytes.as_slice()).map_err(|_| refused(path, "not a valid keypair (64 bytes, secret then public)"))
}

/// Dev and tests: reads the keypair, or makes one (mode 0600) when the file does not exist.
pub fn load_or_create(path: &Path) -> Result<Keypair, OracleKeyError> {
    if path.exists() {
        return load(path);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| refused(path, e.to_string()))?;
    }
    let keypair = Keypair::new();
    let text = serde_json::to_string(&keypair.to_bytes().to_vec()).map_err(|e| refused(path, e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| refused(path, e.to_string()))?;
            Ok(keypair)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path),
        Err(e) => Err(refused(path, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use solana_signer::Signer as _;

    use super::*;

    #[test]
    fn a_made_key_reads_back_and_a_readable_or_broken_file_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("keys/oracle.json");
        let made = load_or_create(&path).expect("made");
        assert_eq!(load(&path).expect("read").pubkey(), made.pubkey());
        assert_eq!(load_or_create(&path).expect("again").pubkey(), made.pubkey(), "kept, not replaced");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = load(&path).expect_err("readable by others").to_string();
        assert!(err.contains("chmod 600") && !err.contains(&made.to_base58_string()), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, "[1,2,3]").expect("write");
        assert!(load(&path).expect_err("short").to_string().contains("64 bytes"));
        std::fs::write(&path, "not json").expect("write");
        assert!(load(&path).expect_err("garbage").to_string().contains("JSON array"));
        assert!(load(&dir.path().join("missing.json")).is_err());
    }
}
