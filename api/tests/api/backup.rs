//! The restore drill, as CI runs it: a server on SQLite and on PostgreSQL takes paper orders
//! while `kairos-api backup` sends an age-encrypted copy to a local S3 server (moto); the
//! copy is restored into an empty database with `kairos-api restore`, and `audit verify`,
//! `ledger verify` and `orders verify` pass on it. A second backup after the load stops
//! restores to the same chain heads and row counts as the source.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret as _;
use kairos_platform::storage::Db;
use kairos_platform::storage::scratch;

use crate::crash::{dev_accounts, env, kairos_api, load_until_stored, start_server};

/// moto's S3 server on a free port, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `TEST_MOTO_SERVER`, or `moto_server` on the PATH (`pip install 'moto[server]'`).
fn moto_binary() -> Option<String> {
    if let Ok(path) = std::env::var("TEST_MOTO_SERVER") {
        return Some(path);
    }
    let on_path = Command::new("moto_server").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if on_path.is_ok_and(|s| s.success()) {
        return Some("moto_server".to_string());
    }
    scratch::skip_or_fail("an S3 server: moto (pip install 'moto[server]'; TEST_MOTO_SERVER=/path/to/moto_server)");
    None
}

async fn start_moto(binary: &str) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if reqwest::get(&moto.endpoint).await.is_ok() {
            return moto;
        }
        assert!(Instant::now() < deadline, "moto did not answer within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn set(vars: &mut Vec<(String, String)>, key: &str, value: &str) {
    vars.retain(|(k, _)| k != key);
    vars.push((key.to_string(), value.to_string()));
}

/// Runs a `kairos-api` command; returns its exit success and the JSON it printed last.
pub(crate) fn cli(vars: &[(String, String)], args: &[&str]) -> (bool, serde_json::Value) {
    let out = kairos_api(vars).args(args).output().expect("run kairos-api");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let json = serde_json::from_str(last).unwrap_or(serde_json::Value::Null);
    if !out.status.success() {
        eprintln!("kairos-api {args:?}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), json)
}

/// What the three verifiers say of a database: chain heads and row counts, orders' agreement.
pub(crate) fn verified(vars: &[(String, String)], label: &str) -> serde_json::Value {
    let mut all = serde_json::Map::new();
    for what in ["audit", "ledger", "orders"] {
        let (ok, report) = cli(vars, &[what, "verify"]);
        assert!(ok, "{label}: {what} verify failed: {report}");
        all.insert(what.to_string(), report);
    }
    serde_json::Value::Object(all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_to_s3_under_load_restore_and_verify() {
    let Some(binary) = moto_binary() else { return };
    let moto = start_moto(&binary).await;
    let bucket = reqwest::Client::new().put(format!("{}/kairos-drill", moto.endpoint)).send().await.expect("bucket");
    assert!(bucket.status().is_success(), "create bucket: {}", bucket.status());
    let keys = tempfile::tempdir().expect("keys");
    let identity = age::x25519::Identity::generate();
    let identity_file = keys.path().join("identity.txt");
    std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret())).expect("key");
    std::fs::set_permissions(&identity_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");

    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let mut vars = env(&db, data.path());
        for (k, v) in [
            ("KAIROS_BACKUP__URL", format!("s3://kairos-drill/{}", db.label)),
            ("KAIROS_BACKUP__AGE_RECIPIENT", identity.to_public().to_string()),
            ("KAIROS_BACKUP__AGE_IDENTITY_FILE", identity_file.display().to_string()),
            ("AWS_ACCESS_KEY_ID", "drill".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "drill-secret".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ] {
            set(&mut vars, k, &v);
        }
        let (mut server, base) = start_server(&vars).await;
        let accounts = dev_accounts(&vars, 4, "100000");
        let store = Db::connect(&db.url, 2).await.expect("connect");
        let load = load_until_stored(&base, accounts, 8, &store, db.label).await;

        // Under load.
        let (ok, taken) = cli(&vars, &["backup"]);
        assert!(ok, "{}: backup: {taken}", db.label);
        let url = taken["url"].as_str().unwrap_or_default();
        assert!(url.starts_with(&format!("s3://kairos-drill/{}/kairos-", db.label)), "{taken}");
        assert!(
            taken["bytes"].as_u64() > Some(0) && taken["sha256"].as_str().is_some_and(|h| h.len() == 64),
            "{taken}"
        );
        load.stop.store(true, Ordering::SeqCst);
        let report = load.report.await.expect("load");
        assert!(!report.acked.is_empty(), "{}: the load placed orders", db.label);
        let (ok, status) = cli(&vars, &["backup", "status"]);
        assert!(ok && status["within_rpo"] == true, "{}: {status}", db.label);

        let target = scratch::empty_like(&db).await;
        let mut restore_vars = vars.clone();
        set(&mut restore_vars, "KAIROS_DATABASE_URL", &target.url);
        let (ok, restored) = cli(&restore_vars, &["restore"]);
        assert!(ok, "{}: restore: {restored}", db.label);
        assert_eq!(restored["restored"]["url"].as_str(), Some(url));
        verified(&restore_vars, db.label);
        let (ok, _) = cli(&restore_vars, &["restore"]);
        assert!(!ok, "{}: a live database is not overwritten without --force", db.label);

        // Quiet now: a backup restores to exactly what the source holds.
        assert!(Command::new("kill").args(["-TERM", &server.id().to_string()]).status().expect("kill").success());
        let _ = server.wait();
        let source = verified(&vars, db.label);
        let (ok, taken) = cli(&vars, &["backup"]);
        assert!(ok, "{taken}");
        let (ok, _) = cli(&restore_vars, &["restore", "--force"]);
        assert!(ok, "{}: restore --force", db.label);
        assert_eq!(verified(&restore_vars, db.label), source, "{}: same heads and counts", db.label);
        store.close().await;
    }
}
