//! The runbook (`docs/runbook.md`) walked end to end on PostgreSQL and Redis in strict mode,
//! with real `kairos-api` processes and the commands an operator types:
//! 1. preflight passes against the running instance;
//! 2. one operator trips the kill switch (orders 503, cancels still pass), two clear it;
//! 3. SIGHUP reloads the log level and the rate limits with no request dropped;
//! 4. a second instance takes a market over after the first is killed with SIGKILL;
//! 5. a backup is taken, the database destroyed and restored, and `audit`, `ledger` and
//!    `orders verify` give the same heads and row counts as before.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret as _;
use kairos_ops::testing::FakeSntp;
use kairos_platform::storage::scratch;
use reqwest::Method;
use serde_json::json;

use crate::backup::{cli, set, verified};
use crate::crash::{dev_accounts, env, signed, start_server};
use crate::support::{eventually_some, new_wallet};

fn signal(pid: u32, name: &str) {
    assert!(Command::new("kill").args([name, &pid.to_string()]).status().expect("kill").success());
}

/// `kairos-api users create --role operator`: the token of a new operator.
fn operator(vars: &[(String, String)]) -> String {
    let wallet = new_wallet().1;
    let (ok, out) = cli(vars, &["users", "create", "--wallet", &wallet, "--role", "operator"]);
    assert!(ok, "users create: {out}");
    out["token"].as_str().expect("token").to_string()
}

async fn admin(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.expect("send");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert!(status == 200 || status == 201, "{path}: {status} {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbook_walked_end_to_end_on_postgres_and_redis() {
    let Some(db) = scratch::postgres().await else { return };
    let Some(redis) = scratch::redis_url() else { return };
    let ntp = FakeSntp::start(5).await;
    let data = tempfile::tempdir().expect("data");
    let backups = tempfile::tempdir().expect("backups");
    let identity = age::x25519::Identity::generate();
    let identity_file = data.path().join("backup-identity.txt");
    std::fs::write(&identity_file, format!("{}\n", identity.to_string().expose_secret())).expect("key");
    std::fs::set_permissions(&identity_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let config = data.path().join("kairos.toml");
    std::fs::write(&config, "log = \"error,kairos_api::http::server=info\"\n[rate_limits.read]\nanonymous = 100000\n")
        .expect("config");

    let mut vars = env(&db, data.path());
    // Anonymous reads take their budget from the config file, so SIGHUP can change it.
    vars.retain(|(k, _)| k != "KAIROS_RATE_LIMITS__READ__ANONYMOUS" && k != "KAIROS_LOG");
    for (k, v) in [
        ("KAIROS_REDIS_URL", redis.clone()),
        ("KAIROS_STORAGE_MODE", "strict".to_string()),
        ("KAIROS_CONFIG", config.display().to_string()),
        ("KAIROS_MARKET_LEASE_MS", "1000".to_string()),
        ("KAIROS_KILL_SWITCH__APPROVALS", "2".to_string()),
        ("KAIROS_TIME__NTP_SERVERS", ntp.server()),
        ("KAIROS_BACKUP__URL", format!("file://{}", backups.path().display())),
        ("KAIROS_BACKUP__AGE_RECIPIENT", identity.to_public().to_string()),
        ("KAIROS_BACKUP__AGE_IDENTITY_FILE", identity_file.display().to_string()),
    ] {
        set(&mut vars, k, &v);
    }
    let (mut vars_a, mut vars_b) = (vars.clone(), vars.clone());
    set(&mut vars_a, "KAIROS_INSTANCE_ID", "instance-a");
    set(&mut vars_b, "KAIROS_INSTANCE_ID", "instance-b");
    let accounts = dev_accounts(&vars_a, 2, "1000");
    let (maker, taker, m) = (&accounts.accounts[0], &accounts.accounts[1], accounts.market_id.clone());
    let (mut a, base_a) = start_server(&vars_a).await;
    let client = reqwest::Client::new();

    // 1. Preflight against the running instance.
    let (ok, report) = cli(&vars_a, &["preflight", "--url", &base_a]);
    assert!(ok && report["ok"] == true, "preflight: {report:#}");
    let mut steps = serde_json::Map::new();
    let checks = report["checks"].as_array().map_or(0, Vec::len);
    steps.insert(
        "preflight".into(),
        json!({ "passed": true, "evidence": format!("{checks} checks, none failed, against a running instance") }),
    );

    // 2. The kill switch: one operator stops trading, cancels still pass, two restart it.
    let (op1, op2) = (operator(&vars), operator(&vars));
    let bid = json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.40", "size": "5" });
    let (status, resting) = signed(&client, &base_a, maker, Method::POST, "/v1/orders", Some(bid.clone())).await;
    assert_eq!(status, 201, "{resting}");
    admin(&client, &base_a, &op1, "/v1/admin/kill-switch/proposals", json!({ "state": "disabled" })).await;
    eventually_some(3, "orders refused with 503", || async {
        let (status, body) = signed(&client, &base_a, maker, Method::POST, "/v1/orders", Some(bid.clone())).await;
        (status == 503).then_some(body)
    })
    .await;
    let cancel = format!("/v1/orders/{}", resting["id"].as_str().expect("id"));
    let (status, cancelled) = signed(&client, &base_a, maker, Method::DELETE, &cancel, None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let proposal =
        admin(&client, &base_a, &op1, "/v1/admin/kill-switch/proposals", json!({ "state": "enabled" })).await;
    assert_eq!(proposal["status"], "open", "one operator cannot restart trading: {proposal}");
    let approve = format!("/v1/admin/kill-switch/proposals/{}/approve", proposal["id"].as_str().expect("id"));
    let approved = admin(&client, &base_a, &op2, &approve, json!({})).await;
    assert_eq!(approved["status"], "applied", "{approved}");
    let resting = eventually_some(3, "orders accepted again", || async {
        let (status, body) = signed(&client, &base_a, maker, Method::POST, "/v1/orders", Some(bid.clone())).await;
        (status == 201).then_some(body)
    })
    .await;
    assert_eq!(resting["status"], "open", "{resting}");
    steps.insert("kill_switch".into(), json!({ "passed": true, "evidence": "tripped by one operator: orders 503, a cancel 200; cleared by a second operator's approval: orders 201" }));

    // 3. SIGHUP: the log level and the anonymous read budget change while reads go on; every
    // request gets an answer and none a 5xx.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, dropped, limited) =
        (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let reads = {
        let (client, base, stop) = (client.clone(), base_a.clone(), stop.clone());
        let (answered, dropped, limited) = (answered.clone(), dropped.clone(), limited.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match client.get(format!("{base}/v1/time")).send().await {
                    Ok(r) if r.status().is_server_error() => dropped.fetch_add(1, Ordering::SeqCst),
                    Ok(r) if r.status().as_u16() == 429 => limited.fetch_add(1, Ordering::SeqCst),
                    Ok(_) => answered.fetch_add(1, Ordering::SeqCst),
                    Err(_) => dropped.fetch_add(1, Ordering::SeqCst),
                };
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(limited.load(Ordering::SeqCst), 0, "the first budget is generous: nothing limited before the reload");
    std::fs::write(&config, "log = \"info\"\n[rate_limits.read]\nanonymous = 2\n").expect("config");
    signal(a.id(), "-HUP");
    eventually_some(5, "the reloaded read budget applies", || async {
        (limited.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    reads.await.expect("reads");
    assert_eq!(dropped.load(Ordering::SeqCst), 0, "a request was dropped across SIGHUP");
    assert!(answered.load(Ordering::SeqCst) > 10, "reads went on");
    steps.insert("sighup_reload".into(), json!({ "passed": true, "evidence": format!(
        "{} reads answered, {} refused by the reloaded budget, 0 dropped", answered.load(Ordering::SeqCst), limited.load(Ordering::SeqCst)
    ) }));

    // 4. Failover: b forwards to a while a holds the market, then takes it over after kill -9.
    let (mut b, base_b) = start_server(&vars_b).await;
    let take = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" });
    let (status, body) = signed(&client, &base_b, taker, Method::POST, "/v1/orders", Some(take.clone())).await;
    assert_eq!((status, body["status"].as_str()), (201, Some("filled")), "b forwards to a: {body}");
    a.kill().expect("kill -9 a");
    a.wait().expect("reaped");
    let started = Instant::now();
    let taken_over = eventually_some(15, "b takes the market over", || async {
        let (status, body) = signed(&client, &base_b, taker, Method::POST, "/v1/orders", Some(take.clone())).await;
        assert!(status == 201 || status == 409, "{status}: {body}");
        (status == 201).then_some(body)
    })
    .await;
    assert_eq!(taken_over["status"], "filled", "matched a's rebuilt bid: {taken_over}");
    let took = started.elapsed().as_millis();
    eprintln!("runbook: b took the market over {took} ms after kill -9 of a");
    steps.insert("failover".into(), json!({ "passed": true, "evidence": format!("instance b filled against a's rebuilt book {took} ms after kill -9 of a") }));

    // 5. Backup, destroy, restore, verify.
    signal(b.id(), "-TERM");
    assert!(b.wait().expect("wait").success());
    let before = verified(&vars, "before");
    let (ok, taken) = cli(&vars, &["backup"]);
    assert!(ok, "backup: {taken}");
    let name = db.url.rsplit('/').next().expect("database name").to_string();
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::AnyConnection::connect(&admin_url).await.expect("admin");
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn).await.expect("destroy");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("re-create");
    }
    let (ok, restored) = cli(&vars, &["restore"]);
    assert!(ok, "restore: {restored}");
    assert_eq!(restored["restored"]["sha256"], taken["sha256"]);
    assert_eq!(verified(&vars, "after"), before, "the same heads and row counts after the restore");
    steps.insert(
        "backup_restore".into(),
        json!({ "passed": true, "evidence": format!(
        "database dropped and restored from {}: audit {} rows, ledger {} rows, same heads; orders verify agrees",
        taken["url"].as_str().unwrap_or("?"), before["audit"]["rows"], before["ledger"]["rows"]
    ) }),
    );

    // The evidence `kairos-api release-gate --runbook-report FILE` reads.
    if let Ok(path) = std::env::var("RUNBOOK_DRILL_REPORT") {
        let report =
            json!({ "finished_at_us": kairos_domain::now_us(), "stack": "postgresql+redis (strict)", "steps": steps });
        std::fs::write(&path, report.to_string()).expect("write the drill report");
    }
}
