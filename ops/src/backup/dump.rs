//! A consistent copy of the live database as one file, and its way back in. SQLite:
//! `VACUUM INTO` (a read transaction, so writers go on and the copy is one point in time).
//! PostgreSQL: `pg_dump -Fc` (one snapshot) and `pg_restore`; the password travels in
//! `PGPASSWORD`, never on a command line others can read.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use kairos_platform::storage::{Backend, Db, sqlite_file};
use sqlx::Row as _;

use super::{BackupError, Format};

/// Writes the database at `database_url` (open as `db`) into `into`.
pub async fn dump(db: &Db, database_url: &str, into: &Path) -> Result<Format, BackupError> {
    match db.backend() {
        Backend::Sqlite => {
            let target = into.display().to_string().replace('\'', "''");
            sqlx::query(&format!("VACUUM INTO '{target}'"))
                .execute(db.pool())
                .await
                .map_err(|e| BackupError::Dump(format!("VACUUM INTO: {e}")))?;
            Ok(Format::Sqlite)
        }
        Backend::Postgres => {
            let (url, password) = split_password(database_url)?;
            let mut cmd = tokio::process::Command::new("pg_dump");
            cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(into)
                .arg(format!("--dbname={url}"));
            run(cmd, password.as_deref(), "pg_dump").await?;
            Ok(Format::PgDump)
        }
    }
}

/// Loads `plain` (a dump of `format`) into the database at `database_url`. Refuses a target
/// that holds tables unless `force`; with `force` its tables are dropped first.
pub async fn load(format: Format, plain: &Path, database_url: &str, force: bool) -> Result<(), BackupError> {
    let backend = Backend::from_url(database_url).map_err(|e| BackupError::Dump(e.to_string()))?;
    match (format, backend) {
        (Format::Sqlite, Backend::Sqlite) => load_sqlite(plain, database_url, force).await,
        (Format::PgDump, Backend::Postgres) => load_postgres(plain, database_url, force).await,
        (format, _) => Err(BackupError::Dump(format!(
            "this backup is a {} copy; KAIROS_DATABASE_URL names another kind of database",
            format.extension()
        ))),
    }
}

async fn table_count(db: &Db) -> Result<i64, BackupError> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    };
    let row = sqlx::query(sql).fetch_one(db.pool()).await.map_err(|e| BackupError::Dump(e.to_string()))?;
    row.try_get::<i64, _>(0).map_err(|e| BackupError::Dump(e.to_string()))
}

async fn load_sqlite(plain: &Path, database_url: &str, force: bool) -> Result<(), BackupError> {
    let file = sqlite_file(database_url);
    if file.exists() {
        let db = Db::connect(database_url, 1).await?;
        let tables = table_count(&db).await;
        db.close().await;
        let tables = tables?;
        if tables > 0 && !force {
            return Err(BackupError::Live(format!("{} holds {tables} tables", file.display())));
        }
    }
    // Copied beside the target, then renamed over it: the target is either the old file or
    // the whole restored one. The old file's log must not be replayed into the new one.
    let mut staging = file.as_os_str().to_owned();
    staging.push(".restoring");
    let staging = PathBuf::from(staging);
    let io = |e: std::io::Error| BackupError::Io(format!("{}: {e}", file.display()));
    tokio::fs::copy(plain, &staging).await.map_err(io)?;
    tokio::fs::File::open(&staging).await.map_err(io)?.sync_all().await.map_err(io)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        match tokio::fs::remove_file(PathBuf::from(side)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    tokio::fs::rename(&staging, &file).await.map_err(io)
}

async fn load_postgres(plain: &Path, database_url: &str, force: bool) -> Result<(), BackupError> {
    let db = Db::connect(database_url, 1).await?;
    let tables = table_count(&db).await;
    let cleared = match tables {
        Ok(0) => Ok(()),
        Ok(n) if !force => Err(BackupError::Live(format!("its schema holds {n} tables"))),
        Ok(_) => sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            .execute(db.pool())
            .await
            .map(|_| ())
            .map_err(|e| BackupError::Dump(format!("clearing the target: {e}"))),
        Err(e) => Err(e),
    };
    db.close().await;
    cleared?;
    let (url, password) = split_password(database_url)?;
    let mut cmd = tokio::process::Command::new("pg_restore");
    cmd.args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"])
        .arg(format!("--dbname={url}"))
        .arg(plain);
    run(cmd, password.as_deref(), "pg_restore").await
}

/// `postgres://u:secret@h/db` → (`postgres://u@h/db`, `secret`).
fn split_password(database_url: &str) -> Result<(String, Option<String>), BackupError> {
    let mut url = url::Url::parse(database_url).map_err(|e| BackupError::Dump(format!("KAIROS_DATABASE_URL: {e}")))?;
    let password = url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
    url.set_password(None).map_err(|()| BackupError::Dump("KAIROS_DATABASE_URL has no host".to_string()))?;
    Ok((url.to_string(), password))
}

async fn run(mut cmd: tokio::process::Command, password: Option<&str>, what: &str) -> Result<(), BackupError> {
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).output().await.map_err(|e| {
        BackupError::Dump(format!("{what}: {e} (install the PostgreSQL client tools of the server's major version)"))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::Dump(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let (url, pw) = split_password("postgres://kairos:p%40ss@db:5432/kairos?sslmode=require").expect("split");
        assert_eq!(url, "postgres://kairos@db:5432/kairos?sslmode=require");
        assert_eq!(pw.as_deref(), Some("p@ss"));
        let (url, pw) = split_password("postgres://postgres@127.0.0.1:5432/test").expect("split");
        assert_eq!((url.as_str(), pw), ("postgres://postgres@127.0.0.1:5432/test", None));
    }
}
