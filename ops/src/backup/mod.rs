//! Encrypted off-site backups with a one-hour RPO. [`take`] dumps the database consistently
//! while writes go on ([`dump`]), encrypts the dump with age to the configured recipient
//! ([`seal`]), uploads it ([`location`]: a directory or S3), records its manifest and the
//! latest pointer ([`catalog`]) and applies the [`retention`] rule. [`restore`] fetches a
//! backup, checks its hash, decrypts it with the identity file and loads it into an empty
//! database. `kairos-api backup|restore` and the keepers' hourly `backup` job call these.

pub mod catalog;
pub mod dump;
pub mod location;
pub mod retention;
pub mod seal;

use std::time::Duration;

use kairos_domain::{format_rfc3339_us, now_us};
use kairos_platform::config::CoreSettings;
use kairos_platform::storage::{Db, StorageError};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt as _;

use crate::report::Check;
pub use catalog::Manifest;
pub use location::Location;

/// The recovery point objective: how old the newest backup may be.
pub const RPO: Duration = Duration::from_secs(3_600);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    NotConfigured(String),
    #[error("backup location: {0}")]
    Location(String),
    #[error("backup store: {0}")]
    Store(String),
    #[error("backup key: {0}")]
    Key(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Dump(String),
    #[error(transparent)]
    Database(#[from] StorageError),
    #[error("the target database is not empty: {0}; restore refuses to overwrite a live database without --force")]
    Live(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Corrupt(String),
}

impl From<object_store::Error> for BackupError {
    fn from(e: object_store::Error) -> BackupError {
        BackupError::Store(e.to_string())
    }
}

/// What a backup file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A SQLite database file.
    Sqlite,
    /// `pg_dump --format=custom`.
    PgDump,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Sqlite => "sqlite",
            Format::PgDump => "pgdump",
        }
    }
}

/// What `kairos-api backup` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taken {
    pub url: String,
    pub bytes: u64,
    pub sha256: String,
    pub taken_at: String,
    #[serde(skip)]
    pub taken_at_us: i64,
    /// Older backups the retention rule deleted.
    pub deleted: Vec<String>,
}

fn location_of(core: &CoreSettings) -> Result<Location, BackupError> {
    let url = core.backup.url.as_deref().ok_or_else(|| {
        BackupError::NotConfigured(
            "no backup location: set KAIROS_BACKUP__URL (file:///dir or s3://bucket/prefix)".into(),
        )
    })?;
    Location::open(url)
}

/// A scratch directory for dumps under the data directory (a dump may not fit in a tmpfs).
fn scratch_dir(core: &CoreSettings) -> Result<tempfile::TempDir, BackupError> {
    std::fs::create_dir_all(&core.data_dir)
        .and_then(|()| tempfile::Builder::new().prefix("backup-").tempdir_in(&core.data_dir))
        .map_err(|e| BackupError::Io(format!("{}: {e}", core.data_dir.display())))
}

fn blocking_err(e: tokio::task::JoinError) -> BackupError {
    BackupError::Io(format!("backup worker: {e}"))
}

/// Takes one backup of `db` and applies the retention rule.
pub async fn take(core: &CoreSettings, db: &Db) -> Result<Taken, BackupError> {
    let recipient = seal::recipient(core.backup.age_recipient.as_deref().ok_or_else(|| {
        BackupError::NotConfigured("no backup recipient: set KAIROS_BACKUP__AGE_RECIPIENT (age1…)".into())
    })?)?;
    let location = location_of(core)?;
    let scratch = scratch_dir(core)?;
    let taken_at_us = now_us();
    let plain = scratch.path().join("dump");
    let format = dump::dump(db, core.database_url.expose(), &plain).await?;
    let name = catalog::object_name(taken_at_us, format);
    let sealed = scratch.path().join(&name);
    let (p, s, r) = (plain.clone(), sealed.clone(), recipient.clone());
    let (bytes, sha256) =
        tokio::task::spawn_blocking(move || seal::encrypt(&p, &s, &r)).await.map_err(blocking_err)??;
    upload(&location, &name, &sealed, bytes).await?;
    let manifest = Manifest {
        url: location.url_of(&name),
        name,
        bytes,
        sha256,
        taken_at: format_rfc3339_us(taken_at_us),
        taken_at_us,
        format,
        recipient: recipient.to_string(),
    };
    catalog::record(&location, &manifest).await?;
    let deleted = apply_retention(&location, now_us()).await?;
    Ok(Taken { url: manifest.url, bytes, sha256: manifest.sha256, taken_at: manifest.taken_at, taken_at_us, deleted })
}

/// Streams `file` to `name` in parts, then checks the stored size.
async fn upload(location: &Location, name: &str, file: &std::path::Path, bytes: u64) -> Result<(), BackupError> {
    let key = location.key(name);
    let io = |e: std::io::Error| BackupError::Io(format!("{}: {e}", file.display()));
    let mut input = tokio::fs::File::open(file).await.map_err(io)?;
    let mut writer = object_store::WriteMultipart::new(location.store.put_multipart(&key).await?);
    let mut buf = vec![0u8; 8 << 20];
    let sent: Result<(), BackupError> = async {
        loop {
            let n = input.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                return Ok(());
            }
            writer.wait_for_capacity(2).await?;
            writer.write(&buf[..n]);
        }
    }
    .await;
    if let Err(e) = sent {
        let _ = writer.abort().await;
        return Err(e);
    }
    writer.finish().await?;
    let stored = location.store.head(&key).await?.size;
    if stored != bytes {
        return Err(BackupError::Store(format!("{}: stored {stored} bytes of {bytes}", location.url_of(name))));
    }
    Ok(())
}

/// Deletes what the retention rule no longer keeps; returns the deleted names.
pub async fn apply_retention(location: &Location, now_us: i64) -> Result<Vec<String>, BackupError> {
    let all = catalog::all(location).await?;
    let times: Vec<i64> = all.iter().map(|m| m.taken_at_us).collect();
    let mut deleted = Vec::new();
    for i in retention::to_delete(now_us, &times) {
        catalog::delete(location, &all[i]).await?;
        deleted.push(all[i].name.clone());
    }
    Ok(deleted)
}

/// Restores the newest backup taken at or before `at_us` (the newest of all without it) into
/// the database at `KAIROS_DATABASE_URL`, which must be empty unless `force`.
pub async fn restore(core: &CoreSettings, at_us: Option<i64>, force: bool) -> Result<Manifest, BackupError> {
    let identity_file = core.backup.age_identity_file.clone().ok_or_else(|| {
        BackupError::NotConfigured("restores need KAIROS_BACKUP__AGE_IDENTITY_FILE (the age identity file)".into())
    })?;
    let identities = seal::identities(&identity_file)?;
    let location = location_of(core)?;
    let manifest = catalog::all(&location)
        .await?
        .into_iter()
        .rev()
        .find(|m| at_us.is_none_or(|at| m.taken_at_us <= at))
        .ok_or_else(|| {
            BackupError::NotFound(match at_us {
                Some(at) => format!("no backup at {} taken at or before {}", location.url, format_rfc3339_us(at)),
                None => format!("no backup at {}", location.url),
            })
        })?;
    let scratch = scratch_dir(core)?;
    let sealed = scratch.path().join(&manifest.name);
    download(&location, &manifest.name, &sealed).await?;
    let s = sealed.clone();
    let sha256 = tokio::task::spawn_blocking(move || seal::sha256_of(&s)).await.map_err(blocking_err)??;
    if sha256 != manifest.sha256 {
        return Err(BackupError::Corrupt(format!(
            "{}: SHA-256 {sha256} is not the recorded {}; the object was changed or damaged",
            manifest.url, manifest.sha256
        )));
    }
    let plain = scratch.path().join("dump");
    let (s, p) = (sealed, plain.clone());
    tokio::task::spawn_blocking(move || seal::decrypt(&s, &p, &identities)).await.map_err(blocking_err)??;
    dump::load(manifest.format, &plain, core.database_url.expose(), force).await?;
    Ok(manifest)
}

async fn download(location: &Location, name: &str, into: &std::path::Path) -> Result<(), BackupError> {
    use futures_util::StreamExt as _;
    use tokio::io::AsyncWriteExt as _;
    let io = |e: std::io::Error| BackupError::Io(format!("{}: {e}", into.display()));
    let mut stream = location.store.get(&location.key(name)).await?.into_stream();
    let mut out = tokio::fs::File::create(into).await.map_err(io)?;
    while let Some(chunk) = stream.next().await {
        out.write_all(&chunk?).await.map_err(io)?;
    }
    out.sync_all().await.map_err(io)
}

/// What `kairos-api backup status` prints: the achieved recovery point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupStatus {
    pub location: String,
    pub latest: Option<Manifest>,
    /// Seconds since the newest backup was taken.
    pub age_s: Option<i64>,
    pub rpo_s: u64,
    pub within_rpo: bool,
}

pub async fn status(core: &CoreSettings) -> Result<BackupStatus, BackupError> {
    let location = location_of(core)?;
    let latest = catalog::latest(&location).await?;
    let age_s = latest.as_ref().map(|m| (now_us() - m.taken_at_us) / 1_000_000);
    let within_rpo = age_s.is_some_and(|a| a <= i64::try_from(RPO.as_secs()).unwrap_or(i64::MAX));
    Ok(BackupStatus { location: location.url, latest, age_s, rpo_s: RPO.as_secs(), within_rpo })
}

/// Preflight's `backup.recency`: a warning when no backup is newer than the RPO (or none is
/// configured outside dev/test), a failure when the location cannot be read.
pub async fn recency_check(core: &CoreSettings) -> Check {
    const NAME: &str = "backup.recency";
    if core.backup.url.is_none() {
        let detail = "no backups configured: set KAIROS_BACKUP__URL and KAIROS_BACKUP__AGE_RECIPIENT (the keepers take one every hour)";
        return if core.profile.is_local() {
            Check::pass(NAME, format!("{detail} (not needed in dev/test)"))
        } else {
            Check::warn(NAME, detail)
        };
    }
    if let Some(r) = core.backup.age_recipient.as_deref()
        && let Err(e) = seal::recipient(r)
    {
        return Check::fail(NAME, e.to_string());
    }
    match status(core).await {
        Err(e) => Check::fail(NAME, format!("{e}: check the location and its credentials")),
        Ok(BackupStatus { latest: None, location, .. }) => {
            Check::warn(NAME, format!("no backup at {location} yet: run `kairos-api backup` or start the keepers"))
        }
        Ok(s) => {
            let (age, url) = (s.age_s.unwrap_or_default(), s.latest.map(|m| m.url).unwrap_or_default());
            if s.within_rpo {
                Check::pass(NAME, format!("the newest backup is {age} s old (RPO {} s): {url}", s.rpo_s))
            } else {
                Check::warn(
                    NAME,
                    format!(
                        "the newest backup is {age} s old, beyond the RPO of {} s: {url}; check the keepers' backup job (kairos-keepers status)",
                        s.rpo_s
                    ),
                )
            }
        }
    }
}
