//! Two `kairos-keepers` processes on one database, as a deployment runs them: the
//! `dependency-probes` job runs once per period (not once per process), kill -9 of the lease
//! holder hands the job to the other within one lease, a failing dependency shows as the
//! job's last error, and SIGTERM releases the lease. On SQLite and PostgreSQL. The `backup`
//! job leaves one encrypted backup per period, whichever keeper holds it.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use kairos_platform::storage::scratch::{self, ScratchDb};

/// A Solana JSON-RPC stand-in that counts `getSlot` calls and fails while `failing` is set.
struct FakeRpc {
    url: String,
    slots: Arc<AtomicU32>,
    failing: Arc<AtomicBool>,
}

async fn fake_rpc() -> FakeRpc {
    let slots = Arc::new(AtomicU32::new(0));
    let failing = Arc::new(AtomicBool::new(false));
    let (s, f) = (slots.clone(), failing.clone());
    let app = Router::new().route(
        "/",
        post(move |body: String| {
            let (slots, failing) = (s.clone(), f.clone());
            async move {
                if body.contains("getSlot") {
                    slots.fetch_add(1, Ordering::SeqCst);
                }
                if failing.load(Ordering::SeqCst) {
                    return axum::Json(
                        serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"node is behind"}}),
                    );
                }
                axum::Json(serde_json::json!({"jsonrpc":"2.0","id":1,"result":42}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    FakeRpc { url, slots, failing }
}

fn vars(db: &ScratchDb, data: &std::path::Path, rpc: &str) -> Vec<(&'static str, String)> {
    vec![
        ("KAIROS_PROFILE", "test".to_string()),
        ("KAIROS_DATA_DIR", data.display().to_string()),
        ("KAIROS_DATABASE_URL", db.url.clone()),
        ("KAIROS_SOLANA__RPC_URL", rpc.to_string()),
        ("KAIROS_KEEPERS__PROBES__PERIOD_S", "1".to_string()),
        ("KAIROS_KEEPERS__LEASE_MS", "1000".to_string()),
        ("KAIROS_KEEPERS__METRICS_BIND", "127.0.0.1:0".to_string()),
        ("KAIROS_LOG", "warn".to_string()),
        ("KAIROS_LOG_FORMAT", "json".to_string()),
        // The fake RPC counts `getSlot` calls as probe runs: the chain jobs (tested in
        // flash_jobs.rs) would add theirs.
        ("KAIROS_KEEPERS__FLASH_CREATE__ENABLED", "false".to_string()),
        ("KAIROS_KEEPERS__FLASH_VOID__ENABLED", "false".to_string()),
        ("KAIROS_KEEPERS__CHAIN_SYNC__ENABLED", "false".to_string()),
        ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "false".to_string()),
    ]
}

fn keepers(vars: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"));
    cmd.env_clear().envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    cmd
}

/// The `dependency-probes` row of `kairos-keepers status`, or why there is none yet.
fn probes_job(vars: &[(&str, String)]) -> Result<serde_json::Value, String> {
    job(vars, "dependency-probes")
}

/// `name`'s row of `kairos-keepers status`, or why there is none yet.
fn job(vars: &[(&str, String)], name: &str) -> Result<serde_json::Value, String> {
    let out = keepers(vars).arg("status").output().expect("kairos-keepers status");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    status["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|j| j["name"] == name))
        .cloned()
        .ok_or_else(|| format!("no {name} in {status}"))
}

/// Keeper processes that are killed when the test ends, however it ends.
struct Keepers(Vec<Child>);

impl Drop for Keepers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls the status until `done` holds, for at most `within`; returns it and how long it took.
async fn until(
    vars: &[(&'static str, String)],
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> (serde_json::Value, Duration) {
    let start = Instant::now();
    loop {
        let v = vars.to_vec();
        let job = tokio::task::spawn_blocking(move || probes_job(&v)).await.expect("join");
        if let Ok(job) = &job
            && done(job)
        {
            return (job.clone(), start.elapsed());
        }
        assert!(start.elapsed() < within, "not within {within:?}: {job:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pid_of(holder: &serde_json::Value) -> Option<u32> {
    holder.as_str()?.rsplit_once('/')?.1.parse().ok()
}

fn signal(child: &Child, name: &str) {
    assert!(Command::new("kill").args([name, &child.id().to_string()]).status().expect("kill").success());
}

#[tokio::test]
async fn two_keepers_run_each_job_once_per_period_and_hand_over_on_kill() {
    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let rpc = fake_rpc().await;
        let vars = vars(&db, data.path(), &rpc.url);
        let spawn = || keepers(&vars).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn keeper");
        let mut running = Keepers(vec![spawn(), spawn()]);
        let (job, _) = until(&vars, Duration::from_secs(30), |j| j["holder"].is_string()).await;
        assert_eq!((job["enabled"].as_bool(), job["period_s"].as_i64()), (Some(true), Some(1)), "{job:#}");
        for child in &mut running.0 {
            assert!(child.try_wait().expect("try_wait").is_none(), "{}: a keeper exited at start", db.label);
        }

        // Once per period across both processes: ~6 runs in 6 s, not ~12.
        let before = rpc.slots.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(6)).await;
        let runs = rpc.slots.load(Ordering::SeqCst) - before;
        assert!((4..=8).contains(&runs), "{}: {runs} runs in 6 s with a 1 s period", db.label);

        // kill -9 the holder: the other takes the job within one lease (plus a renewal tick).
        let job = probes_job(&vars).expect("status");
        let holder = pid_of(&job["holder"]).expect("holder pid");
        let ids: Vec<u32> = running.0.iter().map(Child::id).collect();
        assert!(ids.contains(&holder), "holder {holder} is neither keeper {ids:?}");
        let dead = if holder == ids[0] { 0 } else { 1 };
        signal(&running.0[dead], "-KILL");
        let _ = running.0[dead].wait();
        let alive = &mut running.0[1 - dead];
        let killed_at = Instant::now();
        let survivor = alive.id();
        let (job, took) = until(&vars, Duration::from_secs(10), |j| pid_of(&j["holder"]) == Some(survivor)).await;
        eprintln!("{}: lease handed over {} ms after kill -9 (lease 1000 ms)", db.label, took.as_millis());
        assert!(
            killed_at.elapsed() < Duration::from_millis(2_500),
            "{}: handover took {:?}",
            db.label,
            killed_at.elapsed()
        );
        assert!(job["fence"].as_i64() >= Some(2), "a new claim grows the fence: {job:#}");
        let after_kill = rpc.slots.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(rpc.slots.load(Ordering::SeqCst) > after_kill, "the survivor runs the job");

        // A dependency that fails shows as the job's last error.
        rpc.failing.store(true, Ordering::SeqCst);
        let (job, _) = until(&vars, Duration::from_secs(15), |j| j["last_error"].is_string()).await;
        assert!(job["last_error"].as_str().is_some_and(|e| e.contains("node is behind")), "{job:#}");
        assert!(job["failures_in_a_row"].as_i64() >= Some(1), "{job:#}");
        rpc.failing.store(false, Ordering::SeqCst);
        until(&vars, Duration::from_secs(15), |j| j["last_error"].is_null()).await;

        // SIGTERM: the lease is released at once, not left to expire.
        signal(alive, "-TERM");
        assert!(alive.wait().expect("wait").success());
        let job = probes_job(&vars).expect("status");
        assert!(job["holder"].is_null(), "{}: lease not released: {job:#}", db.label);
        assert!(job["last_success_at"].is_string(), "{job:#}");
    }
}

#[tokio::test]
async fn the_backup_job_leaves_one_backup_per_period_across_keepers() {
    let db = scratch::sqlite();
    let data = tempfile::tempdir().expect("data");
    let backups = tempfile::tempdir().expect("backups");
    let rpc = fake_rpc().await;
    let mut vars = vars(&db, data.path(), &rpc.url);
    vars.retain(|(k, _)| !k.starts_with("KAIROS_KEEPERS__PROBES"));
    vars.extend([
        ("KAIROS_KEEPERS__PROBES__ENABLED", "false".to_string()),
        ("KAIROS_KEEPERS__BACKUP__PERIOD_S", "2".to_string()),
        ("KAIROS_BACKUP__URL", format!("file://{}", backups.path().display())),
        ("KAIROS_BACKUP__AGE_RECIPIENT", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p".to_string()),
    ]);
    let objects = || -> usize {
        std::fs::read_dir(backups.path())
            .map(|d| d.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().ends_with(".age")).count())
            .unwrap_or(0)
    };
    let spawn = || keepers(&vars).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn keeper");
    let running = Keepers(vec![spawn(), spawn()]);
    let start = Instant::now();
    while objects() == 0 {
        assert!(start.elapsed() < Duration::from_secs(30), "no backup within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once per 2 s period across both keepers: ~4 in 8 s, not ~8.
    let before = objects();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let made = objects() - before;
    assert!((2..=6).contains(&made), "{made} backups in 8 s with a 2 s period");
    let row = job(&vars, "backup").expect("status");
    assert!(row["last_success_at"].is_string() && row["last_error"].is_null(), "{row:#}");
    assert!(backups.path().join("latest.json").exists());
    let probes = job(&vars, "dependency-probes").expect("status");
    assert_eq!(probes["enabled"], false, "switched off by its setting: {probes:#}");
    drop(running);
}
