//! age encryption of a dump to the configured X25519 recipient, and decryption with the
//! identity file. Files are streamed (a dump may be larger than memory); the encrypted
//! stream's SHA-256 is computed as it is written, so what is uploaded is what was hashed.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use super::BackupError;

/// Parses an `age1…` recipient.
pub fn recipient(text: &str) -> Result<age::x25519::Recipient, BackupError> {
    text.trim().parse().map_err(|e| BackupError::Key(format!("KAIROS_BACKUP__AGE_RECIPIENT: {e}")))
}

/// Reads the identities of an age identity file, refusing one that others can read.
pub fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, BackupError> {
    use std::os::unix::fs::PermissionsExt as _;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| BackupError::Key(format!("{shown}: {e}")))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(BackupError::Key(format!("{shown}: mode {mode:o} lets others read the backup key; chmod 600 it")));
    }
    let file = age::IdentityFile::from_file(path.display().to_string())
        .map_err(|e| BackupError::Key(format!("{shown}: {e}")))?;
    file.into_identities().map_err(|e| BackupError::Key(format!("{shown}: {e}")))
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts `plain` into `sealed`; returns the sealed file's size and SHA-256 (hex).
pub fn encrypt(plain: &Path, sealed: &Path, to: &age::x25519::Recipient) -> Result<(u64, String), BackupError> {
    let io_err = |what: &Path, e: io::Error| BackupError::Io(format!("{}: {e}", what.display()));
    let out = File::create(sealed).map_err(|e| io_err(sealed, e))?;
    let hashing = Hashing { inner: BufWriter::new(out), hash: Sha256::new(), bytes: 0 };
    let encryptor = age::Encryptor::with_recipients(std::iter::once(to as &dyn age::Recipient))
        .map_err(|e| BackupError::Key(e.to_string()))?;
    let mut writer = encryptor.wrap_output(hashing).map_err(|e| io_err(sealed, e))?;
    let mut input = BufReader::new(File::open(plain).map_err(|e| io_err(plain, e))?);
    io::copy(&mut input, &mut writer).map_err(|e| io_err(sealed, e))?;
    let mut hashing = writer.finish().map_err(|e| io_err(sealed, e))?;
    hashing.flush().map_err(|e| io_err(sealed, e))?;
    hashing
        .inner
        .into_inner()
        .map_err(|e| io_err(sealed, e.into_error()))?
        .sync_all()
        .map_err(|e| io_err(sealed, e))?;
    Ok((hashing.bytes, hex::encode(hashing.hash.finalize())))
}

/// SHA-256 (hex) of a file.
pub fn sha256_of(path: &Path) -> Result<String, BackupError> {
    let mut hash = Sha256::new();
    let mut file = File::open(path).map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
    io::copy(&mut file, &mut hash).map_err(|e| BackupError::Io(format!("{}: {e}", path.display())))?;
    Ok(hex::encode(hash.finalize()))
}

/// Decrypts `sealed` into `plain` with any of `identities`.
pub fn decrypt(
    sealed: &Path,
    plain: &Path,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<(), BackupError> {
    let io_err = |what: &Path, e: io::Error| BackupError::Io(format!("{}: {e}", what.display()));
    let input = BufReader::new(File::open(sealed).map_err(|e| io_err(sealed, e))?);
    let decryptor = age::Decryptor::new(input).map_err(|e| BackupError::Key(format!("{}: {e}", sealed.display())))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| BackupError::Key(format!("cannot decrypt with KAIROS_BACKUP__AGE_IDENTITY_FILE: {e}")))?;
    let mut out = BufWriter::new(File::create(plain).map_err(|e| io_err(plain, e))?);
    io::copy(&mut reader, &mut out).map_err(|e| io_err(sealed, e))?;
    out.into_inner().map_err(|e| io_err(plain, e.into_error()))?.sync_all().map_err(|e| io_err(plain, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_with_its_identity_only() {
        let dir = tempfile::tempdir().expect("dir");
        let (plain, sealed, back) = (dir.path().join("p"), dir.path().join("s"), dir.path().join("b"));
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&plain, &data).expect("write");
        let key = age::x25519::Identity::generate();
        let (bytes, sha) = encrypt(&plain, &sealed, &key.to_public()).expect("encrypt");
        assert_eq!(bytes, std::fs::metadata(&sealed).expect("meta").len());
        assert_eq!(sha, sha256_of(&sealed).expect("sha"));
        assert!(std::fs::read(&sealed).expect("read").starts_with(b"age-encryption.org/v1\n"));

        let mine: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(key)];
        decrypt(&sealed, &back, &mine).expect("decrypt");
        assert_eq!(std::fs::read(&back).expect("read"), data);
        let other: Vec<Box<dyn age::Identity + Send + Sync>> = vec![Box::new(age::x25519::Identity::generate())];
        assert!(matches!(decrypt(&sealed, &back, &other), Err(BackupError::Key(_))));
    }

    #[test]
    fn an_identity_file_others_can_read_is_refused() {
        use age::secrecy::ExposeSecret as _;
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("key.txt");
        let key = age::x25519::Identity::generate();
        std::fs::write(&path, format!("# test\n{}\n", key.to_string().expose_secret())).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = identities(&path).err().expect("refused");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(identities(&path).expect("read").len(), 1);
        assert!(recipient("age1nope").is_err());
        assert!(recipient(&key.to_public().to_string()).is_ok());
    }
}
