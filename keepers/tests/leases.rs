//! Two `kairos-keepers` processes on one database, as a deployment runs them: the
//! `dependency-probes` job runs once per period (not once per process), kill -9 of the lease
//! holder hands the job to the other within one lease, a failing dependency shows as the
//! job's last error, and SIGTERM releases the lease. On SQLite and PostgreSQL. The `backup`
//! job leaves one encrypted backup per period, whichever keeper holds it. The CLOB heartbeat
//! (`venue-heartbeat`) moves to the other keeper after kill -9 within the CLOB's deadline and
//! continues the chain of heartbeat ids.

use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use kairos_platform::storage::scratch::{self, ScratchDb};

mod processes;
use processes::{Keepers, job, keepers, pid_of, signal, until_job};

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

/// The `dependency-probes` row of `kairos-keepers status`, or why there is none yet.
fn probes_job(vars: &[(&str, String)]) -> Result<serde_json::Value, String> {
    job(vars, "dependency-probes")
}

/// Polls the status until `done` holds, for at most `within`; returns it and how long it took.
async fn until(
    vars: &[(&'static str, String)],
    within: Duration,
    done: impl Fn(&serde_json::Value) -> bool,
) -> (serde_json::Value, Duration) {
    until_job(vars, "dependency-probes", within, done).await
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

/// A CLOB that takes heartbeats only in their chain (each must carry the id the last accepted
/// one returned, as Polymarket's does) and notes when it accepted each.
struct HeartbeatClob {
    url: String,
    accepted: Arc<Mutex<Vec<Instant>>>,
    rejected: Arc<AtomicU32>,
}

async fn heartbeat_clob() -> HeartbeatClob {
    use axum::routing::get;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let rejected = Arc::new(AtomicU32::new(0));
    let expected = Arc::new(Mutex::new(String::new()));
    let (a, r) = (accepted.clone(), rejected.clone());
    let app = Router::new()
        .route(
            "/time",
            get(|| async {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs().to_string()
            }),
        )
        .route(
            "/v1/heartbeats",
            post(move |body: String| {
                let (accepted, rejected, expected) = (a.clone(), r.clone(), expected.clone());
                async move {
                    let sent: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
                    let mut expected = expected.lock().expect("expected");
                    if sent["heartbeat_id"].as_str() != Some(expected.as_str()) {
                        rejected.fetch_add(1, Ordering::SeqCst);
                        let body = serde_json::json!({ "error": "Invalid Heartbeat ID", "heartbeat_id": *expected });
                        return (axum::http::StatusCode::BAD_REQUEST, axum::Json(body));
                    }
                    let mut accepted = accepted.lock().expect("accepted");
                    accepted.push(Instant::now());
                    *expected = format!("hb-{}", accepted.len());
                    (axum::http::StatusCode::OK, axum::Json(serde_json::json!({ "heartbeat_id": *expected })))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    HeartbeatClob { url, accepted, rejected }
}

#[tokio::test]
async fn the_clob_heartbeat_moves_to_the_other_keeper_inside_the_deadline_after_kill() {
    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let clob = heartbeat_clob().await;
        let mut vars = vars(&db, data.path(), "http://127.0.0.1:9");
        vars.retain(|(k, _)| *k != "KAIROS_KEEPERS__LEASE_MS");
        vars.extend([
            ("KAIROS_KEEPERS__PROBES__ENABLED", "false".to_string()),
            ("KAIROS_POLYMARKET__API_KEY", "00000000-0000-0000-0000-000000000001".to_string()),
            ("KAIROS_POLYMARKET__API_SECRET", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==".to_string()),
            ("KAIROS_POLYMARKET__API_PASSPHRASE", "passphrase".to_string()),
            // Hardhat's first test key: a well-known throwaway.
            (
                "KAIROS_POLYMARKET__PRIVATE_KEY",
                "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".to_string(),
            ),
            ("KAIROS_POLYMARKET__CLOB_BASE_URL", clob.url.clone()),
            ("KAIROS_POLYMARKET__TIMEOUT_MS", "1000".to_string()),
        ]);
        let spawn = || keepers(&vars).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn keeper");
        let mut running = Keepers(vec![spawn(), spawn()]);
        let (job, _) = until_job(&vars, "venue-heartbeat", Duration::from_secs(30), |j| j["holder"].is_string()).await;
        let ids: Vec<u32> = running.0.iter().map(Child::id).collect();
        let holder = pid_of(&job["holder"]).expect("holder pid");
        let (reconcile, _) =
            until_job(&vars, "venue-reconcile", Duration::from_secs(30), |j| j["last_success_at"].is_string()).await;
        assert!(reconcile["last_error"].is_null(), "{}: {reconcile:#}", db.label);

        // Kill the holder just before its next beat is due (beats go every 3 s): the worst time.
        let beats = || clob.accepted.lock().expect("accepted").clone();
        while beats().len() < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let last = *beats().last().expect("a beat");
        tokio::time::sleep(Duration::from_millis(2_800).saturating_sub(last.elapsed())).await;
        let dead = usize::from(holder != ids[0]);
        signal(&running.0[dead], "-KILL");
        let _ = running.0[dead].wait();
        let survivor = running.0[1 - dead].id();
        until_job(&vars, "venue-heartbeat", Duration::from_secs(10), |j| pid_of(&j["holder"]) == Some(survivor)).await;
        tokio::time::sleep(Duration::from_secs(7)).await;

        let beats = beats();
        let gaps: Vec<Duration> = beats.windows(2).map(|w| w[1] - w[0]).collect();
        let widest = gaps.iter().max().copied().unwrap_or_default();
        eprintln!(
            "{}: widest gap between accepted beats across kill -9 of the holder: {} ms",
            db.label,
            widest.as_millis()
        );
        assert!(beats.len() >= 4, "{}: the survivor beats: {gaps:?}", db.label);
        assert!(widest < Duration::from_secs(8), "{}: the 10 s deadline needs margin: {gaps:?}", db.label);
        assert_eq!(clob.rejected.load(Ordering::SeqCst), 0, "{}: the survivor continued the chain of ids", db.label);
    }
}
