//! What a backup location holds: each backup as `kairos-<UTC time>.<format>.age` with its
//! manifest `<that name>.json` beside it, and `latest.json`, a copy of the newest manifest.
//! The manifest is written after its backup and `latest.json` after both, so neither ever
//! names an object that is not complete.

use futures_util::TryStreamExt as _;
use object_store::PutPayload;
use serde::{Deserialize, Serialize};

use super::location::Location;
use super::{BackupError, Format};

pub const LATEST: &str = "latest.json";

/// What is known of one backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The encrypted object's name in its location.
    pub name: String,
    pub url: String,
    /// Size of the encrypted object.
    pub bytes: u64,
    /// SHA-256 of the encrypted object, hex.
    pub sha256: String,
    /// RFC 3339, UTC.
    pub taken_at: String,
    pub taken_at_us: i64,
    pub format: Format,
    /// The age recipient it was encrypted to.
    pub recipient: String,
}

/// `kairos-20261205T010203.123456Z.sqlite.age`: sortable by name, unique to the microsecond.
pub fn object_name(taken_at_us: i64, format: Format) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(taken_at_us.div_euclid(1_000_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        taken_at_us.rem_euclid(1_000_000)
    );
    format!("kairos-{stamp}.{}.age", format.extension())
}

fn manifest_name(object: &str) -> String {
    format!("{object}.json")
}

async fn put_json(location: &Location, name: &str, manifest: &Manifest) -> Result<(), BackupError> {
    let body = serde_json::to_vec_pretty(manifest).map_err(|e| BackupError::Store(e.to_string()))?;
    location.store.put(&location.key(name), PutPayload::from(body)).await?;
    Ok(())
}

/// Records a backup whose object is complete: its manifest, then the latest pointer.
pub async fn record(location: &Location, manifest: &Manifest) -> Result<(), BackupError> {
    put_json(location, &manifest_name(&manifest.name), manifest).await?;
    put_json(location, LATEST, manifest).await
}

async fn read_json(location: &Location, name: &str) -> Result<Option<Manifest>, BackupError> {
    match location.store.get(&location.key(name)).await {
        Ok(got) => {
            let bytes = got.bytes().await?;
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| BackupError::Store(format!("{}: not a backup manifest: {e}", location.url_of(name))))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The newest backup, from the pointer.
pub async fn latest(location: &Location) -> Result<Option<Manifest>, BackupError> {
    read_json(location, LATEST).await
}

/// Every backup with a manifest, oldest first.
pub async fn all(location: &Location) -> Result<Vec<Manifest>, BackupError> {
    let names: Vec<String> = location
        .store
        .list(Some(&location.prefix))
        .map_ok(|meta| meta.location.filename().unwrap_or_default().to_string())
        .try_collect()
        .await?;
    let mut manifests = Vec::new();
    for name in names.iter().filter(|n| n.starts_with("kairos-") && n.ends_with(".age.json")) {
        if let Some(m) = read_json(location, name).await? {
            manifests.push(m);
        }
    }
    manifests.sort_by_key(|m| m.taken_at_us);
    Ok(manifests)
}

/// Deletes a backup: its manifest first, so no manifest names a missing object.
pub async fn delete(location: &Location, manifest: &Manifest) -> Result<(), BackupError> {
    location.store.delete(&location.key(&manifest_name(&manifest.name))).await?;
    match location.store.delete(&location.key(&manifest.name)).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_their_times() {
        let a = object_name(1_796_472_000_000_001, Format::Sqlite);
        let b = object_name(1_796_472_001_000_000, Format::PgDump);
        assert_eq!(a, "kairos-20261205T120000.000001Z.sqlite.age");
        assert_eq!(b, "kairos-20261205T120001.000000Z.pgdump.age");
        assert!(a < b);
    }
}
