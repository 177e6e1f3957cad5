//! `kairos-api backup`, `backup status` and `restore`: thin wrappers that print what
//! `kairos_ops::backup` did as one JSON line.

use kairos_domain::parse_rfc3339_us;
use kairos_ops::backup;
use kairos_platform::config::{self, ApiSettings};
use kairos_platform::storage::Db;

/// Takes a backup now; prints `{"url","bytes","sha256","taken_at","deleted"}`. The database
/// is read as it is (no migration first: a backup is of what is there).
pub async fn take(settings: ApiSettings) -> Result<(), String> {
    let url = settings.core.database_url.expose();
    let db = Db::connect(url, 2).await.map_err(|e| format!("{}: {e}", config::redact_url(url)))?;
    let taken = backup::take(&settings.core, &db).await;
    db.close().await;
    let taken = taken.map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&taken).map_err(|e| e.to_string())?);
    Ok(())
}

/// Prints the newest backup and its age against the RPO; fails when it is beyond the RPO or
/// there is none, so a cron or a probe can alert on the exit status.
pub async fn status(settings: ApiSettings) -> Result<(), String> {
    let status = backup::status(&settings.core).await.map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&status).map_err(|e| e.to_string())?);
    match (&status.latest, status.within_rpo) {
        (None, _) => Err(format!("no backup at {}", status.location)),
        (Some(_), false) => Err(format!("the newest backup is beyond the RPO of {} s", status.rpo_s)),
        (Some(_), true) => Ok(()),
    }
}

/// Restores the newest backup (taken at or before `at`, RFC 3339) into the configured
/// database; prints the manifest of what was restored.
pub async fn restore(settings: ApiSettings, at: Option<String>, force: bool) -> Result<(), String> {
    let at_us = match at {
        None => None,
        Some(text) => Some(parse_rfc3339_us(&text).ok_or_else(|| format!("--at {text:?} is not an RFC 3339 time"))?),
    };
    let restored = backup::restore(&settings.core, at_us, force).await.map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!({ "restored": restored }));
    Ok(())
}
