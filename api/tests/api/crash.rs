//! Real server processes killed with SIGKILL, on SQLite and PostgreSQL.
//!
//! - Under load: every acknowledged order must exist exactly once after a restart, the rebuilt
//!   books must be the books the stored orders make, every reservation in the ledger must be
//!   held by a live order, and the ledger must still verify.
//! - Two instances on one database: the one holding a market's lease is killed; the other
//!   answers 409 `market_moved` until the lease lapses, then takes the market over with its book.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kairos_load::{Accounts, Plan, run};
use kairos_platform::storage::scratch::{self, ScratchDb};
use kairos_platform::storage::{Db, ledger, orders};
use kairos_venues::paper::consistency;

/// Every server binds port 0 and the test reads the address it got from its start-up log line.
pub(crate) fn env(db: &ScratchDb, data: &std::path::Path) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("KAIROS_PROFILE", "test"),
        ("KAIROS_METRICS_BIND", "127.0.0.1:0"),
        ("KAIROS_JWT_SECRET", "test-jwt-secret-Zq8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0"),
        ("KAIROS_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ("KAIROS_RISK__MAX_OPEN_ORDERS", "0"),
        // Errors, and the one line that says where the server listens.
        ("KAIROS_LOG", "error,kairos_api::http::server=info"),
        ("KAIROS_LOG_FORMAT", "json"),
        ("KAIROS_BIND", "127.0.0.1:0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.push(("KAIROS_DATA_DIR".into(), data.display().to_string()));
    vars.push(("KAIROS_DATABASE_URL".into(), db.url.clone()));
    for class in ["READ", "TRADE", "CANCEL", "AUTH"] {
        for kind in ["ANONYMOUS", "USER", "KEY", "ACCOUNT"] {
            vars.push((format!("KAIROS_RATE_LIMITS__{class}__{kind}"), "1000000".into()));
        }
    }
    vars
}

pub(crate) fn kairos_api(vars: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-api"));
    cmd.env_clear().envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// Starts `kairos-api serve`; returns it with its base URL, once it answers `/health`. The
/// address is the one its "kairos-api listening" log line names; the rest of its log is passed
/// through to the test's stderr.
pub(crate) async fn start_server(vars: &[(String, String)]) -> (Child, String) {
    let mut child = kairos_api(vars).arg("serve").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            match parsed["addr"].as_str() {
                Some(addr) if parsed["message"] == "kairos-api listening" => {
                    if let Some(found) = found.take() {
                        let _ = found.send(addr.to_string());
                    }
                }
                _ => eprintln!("{line}"),
            }
        }
    });
    let Ok(addr) = address.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not say where it listens within 60 s");
    };
    let base = format!("http://{addr}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if reqwest::get(format!("{base}/health")).await.is_ok_and(|r| r.status().is_success()) {
            return (child, base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not answer /health within 60 s");
}

/// Orders stored so far, all users together.
/// Runs `kairos-api replay`; returns whether it exited 0 and the report it printed.
fn replay_cli(vars: &[(String, String)]) -> (bool, serde_json::Value) {
    let out = kairos_api(vars).arg("replay").output().expect("replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("replay printed no report ({e}): {stdout} / {}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.success(), report)
}

async fn stored_orders(store: &Db) -> i64 {
    use sqlx::Row as _;
    sqlx::query("SELECT COUNT(*) FROM orders")
        .fetch_one(store.pool())
        .await
        .and_then(|r| r.try_get::<i64, _>(0))
        .expect("count orders")
}

/// Acknowledged orders before the kill: enough that a lost or doubled one would show.
const ORDERS_BEFORE_KILL: i64 = 50;

/// `kairos-api dev-accounts`: market makers with API keys and `credit` units each, and a market.
pub(crate) fn dev_accounts(vars: &[(String, String)], makers: usize, credit: &str) -> Accounts {
    let makers = makers.to_string();
    let out = kairos_api(vars).args(["dev-accounts", "--makers", &makers, "--credit", credit]).output().expect("run");
    assert!(out.status.success(), "dev-accounts: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("accounts json")
}

/// Orders running against a server until `stop` is set.
pub(crate) struct Load {
    pub stop: Arc<AtomicBool>,
    pub report: tokio::task::JoinHandle<kairos_load::Report>,
}

/// Starts kairos-load at `concurrency` against `base` and returns once the database holds
/// [`ORDERS_BEFORE_KILL`] orders: a kill then comes with enough stored, however fast this
/// machine is.
pub(crate) async fn load_until_stored(
    base: &str,
    accounts: Accounts,
    concurrency: usize,
    store: &Db,
    label: &str,
) -> Load {
    let plan =
        Plan { base_url: base.to_string(), accounts, concurrency, duration: Duration::from_secs(600), rate: None };
    let stop = Arc::new(AtomicBool::new(false));
    let report = tokio::spawn({
        let stop = stop.clone();
        async move { run(&plan, stop).await }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored_orders(store).await < ORDERS_BEFORE_KILL {
        assert!(Instant::now() < deadline, "{label}: the load stored too few orders in 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Load { stop, report }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_under_load_loses_and_doubles_nothing() {
    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let mut vars = env(&db, data.path());
        // The restarted server is the same instance (on another port): it takes its own market
        // lease back at once, as a deployment that names its instances does.
        vars.push(("KAIROS_INSTANCE_ID".into(), "crash-test".into()));
        let accounts = dev_accounts(&vars, 4, "100000");
        let market_id = accounts.market_id.clone();

        let (mut server, base) = start_server(&vars).await;
        let store = Db::connect(&db.url, 2).await.expect("db");
        let Load { stop, report: load } = load_until_stored(&base, accounts, 16, &store, db.label).await;
        server.kill().expect("kill -9");
        server.wait().expect("reaped");
        // Requests keep going until one meets the dead server.
        let felt = Instant::now();
        while !load.is_finished() && felt.elapsed() < Duration::from_millis(500) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let report = load.await.expect("load");
        assert!(!report.acked.is_empty(), "{}: no order acknowledged before the kill: {}", db.label, report.summary());
        assert!(
            report.errors.keys().any(|k| k == "connect" || k == "transport"),
            "the kill was felt: {:?}",
            report.errors
        );

        let (mut server, base) = start_server(&vars).await;
        for acked in &report.acked {
            let stored = orders::get(&store, &acked.order_id).await.expect("read");
            let stored =
                stored.unwrap_or_else(|| panic!("{}: acknowledged order {} is lost", db.label, acked.order_id));
            assert_eq!((&stored.user_id, &stored.client_order_id), (&acked.user_id, &acked.client_order_id));
        }
        let mut ids: Vec<&str> = report.acked.iter().map(|a| a.order_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), report.acked.len(), "no order was acknowledged twice");

        let consistent = consistency::check(&store).await.expect("check");
        assert!(consistent.problems.is_empty(), "{}: {:?}", db.label, consistent.problems);
        let expected = consistent.books.get(&format!("{market_id}/0")).cloned().unwrap_or_default();
        let served: serde_json::Value = reqwest::get(format!("{base}/v1/markets/{market_id}/book"))
            .await
            .expect("book")
            .json()
            .await
            .expect("json");
        let levels = |side: &str| -> Vec<(String, String)> {
            served[side]
                .as_array()
                .expect("levels")
                .iter()
                .map(|l| (l["price"].as_str().unwrap_or("").to_string(), l["size"].as_str().unwrap_or("").to_string()))
                .collect()
        };
        assert_eq!((levels("bids"), levels("asks")), (expected.bids.clone(), expected.asks.clone()), "{}", db.label);
        let verified = ledger::verify(&store).await.expect("verify");
        assert!(verified.is_ok(), "{}: {verified:?}", db.label);
        // The durable log alone re-derives every order, fill and ledger movement...
        let replayed = replay_cli(&vars);
        assert!(replayed.0, "{}: replay found mismatches: {}", db.label, replayed.1);
        assert!(replayed.1["orders"].as_u64().is_some_and(|n| n >= report.acked.len() as u64), "{}", replayed.1);
        // ...and one corrupted fill makes it fail, naming that fill's order.
        let fill_order: String = sqlx::query_scalar("SELECT order_id FROM fills ORDER BY id LIMIT 1")
            .fetch_one(store.pool())
            .await
            .expect("a fill");
        sqlx::query(
            "UPDATE fills SET size_micros = size_micros + 1 WHERE id = (SELECT id FROM fills ORDER BY id LIMIT 1)",
        )
        .execute(store.pool())
        .await
        .expect("corrupt");
        let corrupted = replay_cli(&vars);
        assert!(!corrupted.0, "{}: a corrupted fill must fail the replay", db.label);
        let first = corrupted.1["mismatches"][0].as_str().unwrap_or_default().to_string();
        assert!(first.contains(&fill_order), "{}: {first}", db.label);
        eprintln!(
            "{}: crash test: {} orders acknowledged before and after the kill, books rebuilt: {} live; replay: {}",
            db.label,
            report.acked.len(),
            consistent.live_orders,
            replayed.1
        );
        server.kill().expect("kill");
        server.wait().expect("reaped");
        store.close().await;
    }
}

/// A signed order request with a market maker's key.
async fn signed_post(
    client: &reqwest::Client,
    base: &str,
    account: &kairos_load::Account,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    signed(client, base, account, reqwest::Method::POST, "/v1/orders", Some(body)).await
}

/// A request signed with a market maker's key, as market makers send them.
pub(crate) async fn signed(
    client: &reqwest::Client,
    base: &str,
    account: &kairos_load::Account,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::URL_SAFE.decode(&account.secret).expect("secret");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let ts = (kairos_domain::now_us() / 1_000).to_string();
    let signature = kairos_load::sign(&secret, &ts, method.as_str(), path, body.as_bytes());
    let mut req = client
        .request(method, format!("{base}{path}"))
        .header("KAIROS-KEY", &account.key_id)
        .header("KAIROS-TIMESTAMP", ts)
        .header("KAIROS-SIGNATURE", signature);
    if !body.is_empty() {
        req = req.header("content-type", "application/json").body(body);
    }
    let res = req.send().await.expect("send");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_instance_holding_a_market_dies_another_takes_it_over() {
    for db in scratch::all().await {
        let data = tempfile::tempdir().expect("data");
        let mut vars = env(&db, data.path());
        vars.push(("KAIROS_MARKET_LEASE_MS".into(), "1000".into()));
        let (mut vars_a, mut vars_b) = (vars.clone(), vars);
        vars_a.push(("KAIROS_INSTANCE_ID".into(), "instance-a".into()));
        vars_b.push(("KAIROS_INSTANCE_ID".into(), "instance-b".into()));
        let accounts = dev_accounts(&vars_a, 2, "1000");
        let (maker, taker, m) = (&accounts.accounts[0], &accounts.accounts[1], accounts.market_id.clone());
        let (mut a, base_a) = start_server(&vars_a).await;
        let (mut b, base_b) = start_server(&vars_b).await;
        let client = reqwest::Client::new();

        let bid = serde_json::json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.40", "size": "5" });
        let (status, body) = signed_post(&client, &base_a, maker, bid).await;
        assert_eq!(status, 201, "{}: {body}", db.label);
        let take = serde_json::json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" });
        let (status, body) = signed_post(&client, &base_b, taker, take.clone()).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("filled")), "{}: b forwards to a: {body}", db.label);

        a.kill().expect("kill -9 a");
        a.wait().expect("reaped");
        let started = Instant::now();
        let mut moved_answers = 0;
        let taken_over = loop {
            let (status, body) = signed_post(&client, &base_b, taker, take.clone()).await;
            match status {
                201 => break body,
                409 => {
                    assert_eq!(body["error"]["code"], "market_moved", "{body}");
                    moved_answers += 1;
                }
                other => panic!("{}: unexpected {other}: {body}", db.label),
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{}: b never took the market over", db.label);
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(taken_over["status"], "filled", "{}: matched a's rebuilt bid: {taken_over}", db.label);
        let book: serde_json::Value =
            reqwest::get(format!("{base_b}/v1/markets/{m}/book")).await.expect("book").json().await.expect("json");
        assert_eq!(book["bids"], serde_json::json!([{ "price": "0.4", "size": "1" }]), "{}", db.label);
        let store = Db::connect(&db.url, 2).await.expect("db");
        let lease = kairos_platform::storage::market_leases::get(&store, &m).await.expect("lease").expect("held");
        // b holds it; others reach it on its internal listener.
        assert_eq!(lease.owner, "instance-b", "{}", db.label);
        assert_ne!(lease.address, base_b, "{}: forwarding never goes to the public listener", db.label);
        let consistent = consistency::check(&store).await.expect("check");
        assert!(consistent.problems.is_empty(), "{}: {:?}", db.label, consistent.problems);
        let replayed = kairos_venues::paper::replay::run(&store, &Default::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        assert!(replayed.markets >= 1 && replayed.fills >= 2, "{}: {replayed:?}", db.label);
        eprintln!("{}: takeover after {:?} ({moved_answers} market_moved answers)", db.label, started.elapsed());
        b.kill().expect("kill b");
        b.wait().expect("reaped");
        store.close().await;
    }
}
