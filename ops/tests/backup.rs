//! Backups on both databases into a local directory: taken while writes go on, encrypted to a
//! real age key, restored into an empty database with every row of the moment it was taken;
//! a live target refused without `--force`; a changed object refused by its hash; `--at`
//! picks the right copy; the recency check follows the newest backup.

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use age::secrecy::ExposeSecret as _;
use kairos_ops::Status;
use kairos_ops::backup::{self, BackupError};
use kairos_platform::config::{CoreSettings, RawSources, load_keepers_from};
use kairos_platform::storage::{Db, scratch, settings};

struct Keys {
    _dir: tempfile::TempDir,
    recipient: String,
    identity_file: std::path::PathBuf,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().expect("dir");
    let identity = age::x25519::Identity::generate();
    let identity_file = dir.path().join("backup-identity.txt");
    std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret())).expect("write key");
    std::fs::set_permissions(&identity_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    Keys { recipient: identity.to_public().to_string(), identity_file, _dir: dir }
}

fn settings_for(database_url: &str, data: &std::path::Path, backups: &std::path::Path, keys: &Keys) -> CoreSettings {
    let vars = [
        ("KAIROS_PROFILE", "test".to_string()),
        ("KAIROS_DATA_DIR", data.display().to_string()),
        ("KAIROS_DATABASE_URL", database_url.to_string()),
        ("KAIROS_BACKUP__URL", format!("file://{}", backups.display())),
        ("KAIROS_BACKUP__AGE_RECIPIENT", keys.recipient.clone()),
        ("KAIROS_BACKUP__AGE_IDENTITY_FILE", keys.identity_file.display().to_string()),
    ];
    let raw = RawSources::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone()))).expect("sources");
    let (settings, problems) = load_keepers_from(&raw);
    assert!(problems.is_empty(), "{problems:?}");
    settings.core
}

async fn rows(db: &Db) -> Vec<(String, String)> {
    settings::all(db).await.expect("settings").into_iter().filter(|(k, _)| k.starts_with("drill.")).collect()
}

#[tokio::test]
async fn a_backup_taken_under_writes_restores_into_an_empty_database() {
    let keys = keys();
    for source in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let backups = tempfile::tempdir().expect("backups");
        let db = Db::connect(&source.url, 4).await.expect("connect");
        db.migrate().await.expect("migrate");
        for i in 0..200 {
            settings::put(&db, &format!("drill.{i:05}"), "before").await.expect("put");
        }
        let core = settings_for(&source.url, data.path(), backups.path(), &keys);

        // Writes go on while the backup is taken.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (db, stop) = (db.clone(), stop.clone());
            tokio::spawn(async move {
                let mut i = 200;
                while !stop.load(Ordering::SeqCst) {
                    settings::put(&db, &format!("drill.{i:05}"), "during").await.expect("put");
                    i += 1;
                }
                i
            })
        };
        let taken = backup::take(&core, &db).await.unwrap_or_else(|e| panic!("{}: {e}", source.label));
        stop.store(true, Ordering::SeqCst);
        let written = writer.await.expect("writer");
        assert!(taken.url.starts_with(&format!("file://{}/kairos-", backups.path().display())), "{}", taken.url);
        let object = std::fs::read(taken.url.trim_start_matches("file://")).expect("object");
        assert_eq!(object.len() as u64, taken.bytes);
        assert!(object.starts_with(b"age-encryption.org/v1\n"), "encrypted with age");
        assert!(!object.windows(b"drill.00001".len()).any(|w| w == b"drill.00001"), "no plaintext in the object");
        assert_eq!(taken.sha256.len(), 64);

        // Into an empty database: every row of one moment, a prefix of what was written.
        let target = scratch::empty_like(&source).await;
        let restore_core = settings_for(&target.url, data.path(), backups.path(), &keys);
        let manifest =
            backup::restore(&restore_core, None, false).await.unwrap_or_else(|e| panic!("{}: {e}", source.label));
        assert_eq!(manifest.sha256, taken.sha256);
        let restored_db = Db::connect(&target.url, 2).await.expect("connect restored");
        let restored = rows(&restored_db).await;
        assert!(
            restored.len() >= 200 && restored.len() <= written,
            "{}: {} rows of {written}",
            source.label,
            restored.len()
        );
        let keys_restored: Vec<String> = restored.iter().map(|(k, _)| k.clone()).collect();
        let expected: Vec<String> = (0..restored.len()).map(|i| format!("drill.{i:05}")).collect();
        assert_eq!(keys_restored, expected, "{}: a consistent prefix", source.label);
        restored_db.migrate().await.expect("the restored database is at the current migrations");
        restored_db.close().await;

        // A live database is not overwritten without --force.
        match backup::restore(&restore_core, None, false).await {
            Err(BackupError::Live(_)) => {}
            other => panic!("{}: expected a refusal, got {other:?}", source.label),
        }
        backup::restore(&restore_core, None, true).await.unwrap_or_else(|e| panic!("{}: --force: {e}", source.label));
        let restored_db = Db::connect(&target.url, 2).await.expect("connect restored");
        assert_eq!(rows(&restored_db).await.len(), restored.len());
        restored_db.close().await;
        db.close().await;
    }
}

/// A migrated SQLite database with a fresh key and backup directory.
struct Fixture {
    keys: Keys,
    source: scratch::ScratchDb,
    data: tempfile::TempDir,
    backups: tempfile::TempDir,
    db: Db,
}

async fn sqlite_fixture() -> Fixture {
    let source = scratch::sqlite();
    let db = Db::connect(&source.url, 2).await.expect("connect");
    db.migrate().await.expect("migrate");
    let dir = || tempfile::tempdir().expect("dir");
    Fixture { keys: keys(), source, data: dir(), backups: dir(), db }
}

#[tokio::test]
async fn restore_picks_by_time_and_refuses_a_changed_object() {
    let Fixture { keys, source, data, backups, db } = sqlite_fixture().await;
    let core = settings_for(&source.url, data.path(), backups.path(), &keys);
    assert_eq!(backup::recency_check(&core).await.status, Status::Warn, "no backup yet");

    settings::put(&db, "drill.first", "1").await.expect("put");
    let first = backup::take(&core, &db).await.expect("first");
    settings::put(&db, "drill.second", "2").await.expect("put");
    let second = backup::take(&core, &db).await.expect("second");
    assert!(first.taken_at < second.taken_at);
    let check = backup::recency_check(&core).await;
    assert_eq!(check.status, Status::Pass, "{check:?}");
    assert!(check.detail.contains(&second.url), "{check:?}");
    let status = backup::status(&core).await.expect("status");
    assert_eq!(status.latest.map(|m| m.url), Some(second.url.clone()));
    assert!(status.within_rpo);

    // --at between the two picks the first.
    let target = scratch::sqlite();
    let at = kairos_domain::parse_rfc3339_us(&second.taken_at).expect("time") - 1;
    let restore_core = settings_for(&target.url, data.path(), backups.path(), &keys);
    let manifest = backup::restore(&restore_core, Some(at), false).await.expect("restore --at");
    assert_eq!(manifest.url, first.url);
    let restored = Db::connect(&target.url, 1).await.expect("connect");
    assert_eq!(rows(&restored).await, vec![("drill.first".to_string(), "1".to_string())]);
    restored.close().await;
    assert!(matches!(backup::restore(&restore_core, Some(0), true).await, Err(BackupError::NotFound(_))));

    // One flipped byte in the stored object: refused before anything is decrypted or loaded.
    let path = second.url.trim_start_matches("file://").to_string();
    let mut object = std::fs::read(&path).expect("read");
    let last = object.len() - 1;
    object[last] ^= 1;
    std::fs::write(&path, object).expect("write");
    let other = scratch::sqlite();
    let other_core = settings_for(&other.url, data.path(), backups.path(), &keys);
    match backup::restore(&other_core, None, false).await {
        Err(BackupError::Corrupt(detail)) => assert!(detail.contains("SHA-256"), "{detail}"),
        other => panic!("expected a hash mismatch, got {other:?}"),
    }

    // An identity file others can read is refused.
    std::fs::set_permissions(&keys.identity_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(matches!(backup::restore(&other_core, None, false).await, Err(BackupError::Key(_))));
    std::fs::set_permissions(&keys.identity_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    db.close().await;
}

/// The encoding checked by an implementation that shares no code with ours: the Go reference
/// `age` (Debian's package) decrypts a backup into the database file that was backed up.
#[tokio::test]
async fn the_reference_age_implementation_opens_a_backup() {
    let cli_present = std::process::Command::new("age").arg("--version").output().is_ok_and(|o| o.status.success());
    if !cli_present {
        scratch::skip_or_fail("the reference age CLI on the PATH (apt-get install age)");
        return;
    }
    let Fixture { keys, source, data, backups, db } = sqlite_fixture().await;
    settings::put(&db, "drill.reference", "go").await.expect("put");
    let core = settings_for(&source.url, data.path(), backups.path(), &keys);
    let taken = backup::take(&core, &db).await.expect("backup");
    db.close().await;
    let plain = data.path().join("by-reference.db");
    let out = std::process::Command::new("age")
        .arg("--decrypt")
        .arg("--identity")
        .arg(&keys.identity_file)
        .arg("--output")
        .arg(&plain)
        .arg(taken.url.trim_start_matches("file://"))
        .output()
        .expect("run age");
    assert!(out.status.success(), "age --decrypt: {}", String::from_utf8_lossy(&out.stderr));
    let opened = Db::connect(&format!("sqlite:{}", plain.display()), 1).await.expect("open the decrypted copy");
    assert_eq!(rows(&opened).await, vec![("drill.reference".to_string(), "go".to_string())]);
    opened.close().await;
}
