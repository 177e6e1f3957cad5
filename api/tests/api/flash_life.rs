//! A flash market's whole life on both databases, through the API and the keepers' jobs against
//! the local chain over JSON-RPC, with a local fake price feed: an operator opens the market,
//! two wallets sign the API's bet transactions, the keepers create it, take its ticks, lock,
//! prove and resolve it, and the winner signs the API's claim. Then the other endings: a feed
//! that answers 500, 429 or garbage gives no tick and the market voids at its deadline, and a
//! market locked with a commitment the keepers cannot prove misses its deadline and is voided,
//! not resolved late.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use kairos_domain::{Role, now_us};
use kairos_flash::FlashChain;
use kairos_keepers::flash::FlashAccess;
use kairos_keepers::jobs::{ChainSync, FlashCreate, FlashOracleJob, FlashVoid, Job, JobContext};
use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::config::{KeeperSettings, RawSources, load_keepers_from};
use kairos_platform::storage::{Db, flash_ticks, keeper_jobs, scratch};
use reqwest::Method;
use serde_json::{Value, json};
use solana_keypair::Keypair;
use solana_signer::Signer as _;

use crate::flash::sign_and_send;
use crate::support::{TestApp, spawn};

const CIRCUIT: u32 = 4;
const TICKS: usize = 4;

/// A CoinGecko-format feed: `bitcoin` at the price held, one dollar more at every call (so each
/// tick shows which call it came from), `failcoin` 500, `limitcoin` 429, `junkcoin` garbage. No
/// `last_updated_at`, so a price is as fresh as the call.
async fn feed(price_micros: Arc<AtomicU64>) -> String {
    async fn answer(
        State(price): State<Arc<AtomicU64>>,
        Query(q): Query<std::collections::HashMap<String, String>>,
    ) -> axum::response::Response {
        let id = q.get("ids").cloned().unwrap_or_default();
        match id.as_str() {
            "bitcoin" => {
                let micros = price.fetch_add(1_000_000, Ordering::SeqCst);
                let text = format!("{{\"bitcoin\":{{\"usd\":{}.{:06}}}}}", micros / 1_000_000, micros % 1_000_000);
                ([("content-type", "application/json")], text).into_response()
            }
            "limitcoin" => (axum::http::StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
            "junkcoin" => ([("content-type", "application/json")], "{\"junkcoin\":{\"usd\":\"lots\"}}").into_response(),
            _ => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api/v3/simple/price", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route("/api/v3/simple/price", axum::routing::get(answer)).with_state(price_micros);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The chain, its oracle (funded, its key in a 0600 file) and the 4-tick test key, saved where
/// the keepers read it.
struct World {
    chain: LocalChain,
    rpc: FlashChain,
    dir: tempfile::TempDir,
    feed_url: String,
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("dir");
        let oracle = kairos_flash::oracle_key::load_or_create(&dir.path().join("oracle.json")).expect("key");
        let chain = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("chain");
        let mut keys = kairos_flash_circuit::keys::test_keys::keys(TICKS);
        keys.save(&dir.path().join("keys")).expect("save keys");
        let genesis = FlashGenesis {
            oracles: vec![oracle.pubkey()],
            fee_bps: 100,
            keys: vec![(CIRCUIT, TICKS as u16, keys.solana_vk().expect("vk"))],
        };
        chain.initialize_flash(genesis).await.expect("initialize");
        let rpc = FlashChain::new(chain.url(), kairos_flash_bets::ID, 0);
        rpc.fund(&oracle.pubkey(), 100_000_000_000, 0).await.expect("fund the oracle");
        let price = Arc::new(AtomicU64::new(150_000_000));
        let feed_url = feed(price).await;
        World { chain, rpc, dir, feed_url }
    }

    async fn api(&self, db: &scratch::ScratchDb) -> TestApp {
        let (circuit, ticks) = (CIRCUIT.to_string(), TICKS.to_string());
        spawn(
            db,
            &[
                ("KAIROS_SOLANA__RPC_URL", self.chain.url()),
                ("KAIROS_FLASH__CIRCUIT_ID", &circuit),
                ("KAIROS_FLASH__TICKS", &ticks),
                ("KAIROS_FLASH__RESOLVE_WINDOW_S", "10"),
            ],
        )
        .await
    }

    /// The keepers' settings for `db_url`, proving with the key in `keys`.
    fn keepers(&self, db_url: &str, keys: &str, data: &std::path::Path) -> KeeperSettings {
        let vars = [
            ("KAIROS_PROFILE", "test".to_string()),
            ("KAIROS_DATABASE_URL", db_url.to_string()),
            ("KAIROS_DATA_DIR", data.display().to_string()),
            ("KAIROS_SOLANA__RPC_URL", self.chain.url().to_string()),
            ("KAIROS_SOLANA__WS_URL", self.chain.ws_url().to_string()),
            ("KAIROS_FLASH__ORACLE_KEYPAIR_FILE", self.dir.path().join("oracle.json").display().to_string()),
            ("KAIROS_FLASH__PROVING_KEY_DIR", self.dir.path().join(keys).display().to_string()),
            ("KAIROS_FLASH__CIRCUIT_ID", CIRCUIT.to_string()),
            ("KAIROS_FLASH__TICKS", TICKS.to_string()),
            ("KAIROS_FLASH__PRICE_FEED", self.feed_url.clone()),
            ("KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE", "6000".to_string()),
            ("KAIROS_FLASH__PRICE_FEED_CACHE_S", "1".to_string()),
        ];
        let raw = RawSources::from_vars(vars.into_iter().map(|(k, v)| (k.to_string(), v))).expect("sources");
        let (settings, problems) = load_keepers_from(&raw);
        assert!(problems.is_empty(), "{problems:?}");
        settings
    }
}

/// The four flash jobs, each under a lease claimed once for the whole test.
struct Keepers {
    jobs: Vec<(Arc<dyn Job>, JobContext)>,
    oracle: FlashOracleJob,
}

impl Keepers {
    async fn new(db: &Db, settings: &KeeperSettings, holder: &str) -> Keepers {
        let (jobs, oracle) = Keepers::jobs(settings);
        let mut leased = Vec::new();
        for job in jobs {
            let ctx = lease(db, job.as_ref(), holder).await;
            leased.push((job, ctx));
        }
        Keepers { jobs: leased, oracle }
    }

    fn jobs(settings: &KeeperSettings) -> (Vec<Arc<dyn Job>>, FlashOracleJob) {
        let access = Arc::new(FlashAccess::new(&settings.core));
        let oracle = FlashOracleJob::new(access.clone(), settings);
        let jobs: Vec<Arc<dyn Job>> = vec![
            Arc::new(FlashCreate::new(access.clone(), Duration::from_secs(1))),
            Arc::new(oracle.clone()),
            Arc::new(ChainSync::new(access.clone(), Duration::from_secs(1))),
            Arc::new(FlashVoid::new(access, Duration::from_secs(1))),
        ];
        (jobs, oracle)
    }

    /// One run of each job (or of the one named); the errors they report.
    async fn run(&self, only: Option<&str>) -> Vec<String> {
        let mut errors = Vec::new();
        for (job, ctx) in self.jobs.iter().filter(|(j, _)| only.is_none_or(|o| j.name() == o)) {
            if let Err(e) = job.run(ctx).await {
                errors.push(format!("{}: {e}", job.name()));
            }
        }
        errors
    }
}

async fn lease(db: &Db, job: &dyn Job, holder: &str) -> JobContext {
    let now = now_us();
    keeper_jobs::register(db, job.name(), true, 1_000, now).await.expect("register");
    let claim = keeper_jobs::claim(db, job.name(), holder, now, now + 600_000_000).await.expect("claim").expect("free");
    JobContext { db: db.clone(), holder: holder.to_string(), fence: claim.fence }
}

async fn market(app: &TestApp, id: &str) -> Value {
    let (status, m) = app.get_json(&format!("/v1/flash-markets/{id}")).await;
    assert_eq!(status, 200, "{m}");
    m
}

/// Runs the keepers every 100 ms until the market's status is `want` (or the time is up).
async fn run_until(app: &TestApp, keepers: &Keepers, id: &str, want: &str, within: Duration) -> (Value, Vec<String>) {
    let started = Instant::now();
    let mut errors = Vec::new();
    loop {
        errors.extend(keepers.run(None).await);
        let m = market(app, id).await;
        if m["status"] == want && keepers.oracle.in_flight() == 0 {
            // A lock-and-resolve task that failed after the last run reports it on the next.
            errors.extend(keepers.run(Some("flash-oracle")).await);
            return (market(app, id).await, errors);
        }
        assert!(
            started.elapsed() < within,
            "market {id} is {} after {within:?}, not {want}; errors: {errors:?}",
            m["status"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open(app: &TestApp, op: &str, symbol: &str, strike: &str) -> String {
    let terms = json!({ "rule": { "kind": "threshold", "strike": strike }, "symbol": symbol, "betting_s": 10, "tick_interval_s": 1 });
    let (status, m) = app.send(Method::POST, "/v1/admin/flash-markets", Some(op), Some(terms)).await;
    assert_eq!(status, 201, "{m}");
    m["id"].as_str().expect("id").to_string()
}

/// A wallet with 100 collateral from the faucet.
async fn wallet(app: &TestApp) -> Keypair {
    let wallet = Keypair::new();
    let body = json!({ "wallet": wallet.pubkey().to_string(), "amount": "100" });
    let (status, funded) = app.send(Method::POST, "/v1/flash/faucet", None, Some(body)).await;
    assert_eq!(status, 200, "{funded}");
    wallet
}

/// Signs and sends the API's transaction of `kind` (`bet`/`claim`) for `wallet`.
async fn transact(
    app: &TestApp,
    rpc: &FlashChain,
    id: &str,
    kind: &str,
    wallet: &Keypair,
    body: Value,
) -> Result<(), String> {
    let (status, built) =
        app.send(Method::POST, &format!("/v1/flash-markets/{id}/transactions/{kind}"), None, Some(body)).await;
    if status != 200 {
        return Err(format!("{status}: {built}"));
    }
    sign_and_send(rpc, built["transaction"].as_str().expect("transaction"), wallet).await
}

async fn balance(rpc: &FlashChain, wallet: &Keypair) -> u64 {
    let mint = rpc.collateral().await.expect("collateral").mint;
    let ata = kairos_flash::wallet_tx::associated_token_address(&wallet.pubkey(), &mint);
    let answer = rpc.rpc().get_token_account_balance(&ata).await.expect("balance");
    answer.amount.parse().expect("amount")
}

/// Waits until the market's betting has closed (its lock time, from the API).
async fn after(app: &TestApp, id: &str, field: &str) {
    let m = market(app, id).await;
    let at = chrono_like_us(m[field].as_str().expect("time"));
    let wait = at - now_us();
    if wait > 0 {
        tokio::time::sleep(Duration::from_micros(wait as u64 + 1_100_000)).await;
    }
}

/// The API's RFC 3339 times as epoch microseconds.
fn chrono_like_us(text: &str) -> i64 {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).expect("rfc3339");
    (t.unix_timestamp_nanos() / 1_000) as i64
}

async fn whole_life(world: &World, db: scratch::ScratchDb) {
    let label = db.label;
    let app = world.api(&db).await;
    let store = app.state().db().clone();
    let data = tempfile::tempdir().expect("data");
    let keepers = Keepers::new(&store, &world.keepers(&db.url, "keys", data.path()), "host/1").await;
    let (_, op) = app.user(Role::Operator).await;
    let id = open(&app, &op, "bitcoin", "100").await;
    let (created, errors) = run_until(&app, &keepers, &id, "open", Duration::from_secs(10)).await;
    assert!(errors.is_empty(), "{label}: {errors:?}");
    assert!(created["signatures"]["create"].is_string(), "{label}: {created}");

    let (yes, no) = (wallet(&app).await, wallet(&app).await);
    let bet = |w: &Keypair, outcome: u8, amount: &str| json!({ "wallet": w.pubkey().to_string(), "outcome": outcome, "amount": amount });
    transact(&app, &world.rpc, &id, "bet", &yes, bet(&yes, 1, "30")).await.expect("yes bets");
    transact(&app, &world.rpc, &id, "bet", &no, bet(&no, 0, "20")).await.expect("no bets");

    // The price stays above the strike: outcome 1 wins.
    let (resolved, errors) = run_until(&app, &keepers, &id, "resolved", Duration::from_secs(40)).await;
    let resolved_at = now_us();
    assert!(errors.is_empty(), "{label}: {errors:?}");
    assert_eq!(resolved["winning_outcome"], 1, "{label}: {resolved}");
    assert_eq!(resolved["totals"], json!(["20", "30"]), "{label}: {resolved}");
    for s in ["create", "lock", "resolve"] {
        assert!(resolved["signatures"][s].is_string(), "{label}: {s} in {resolved}");
    }
    let ticks = flash_ticks::of(&store, &id).await.expect("ticks");
    let row = kairos_platform::storage::flash_markets::get(&store, &id).await.expect("read").expect("row");
    assert_eq!(ticks.len(), TICKS, "{label}");
    for (i, t) in ticks.iter().enumerate() {
        let slot = row.lock_at_us + i as i64 * 1_000_000;
        assert!((slot..slot + 1_000_000).contains(&t.received_at_us), "{label}: tick {i} outside its slot: {ticks:?}");
        assert!(t.price >= 150_000_000 && t.source == "http", "{label}: {ticks:?}");
    }
    assert!(ticks.windows(2).all(|w| w[0].price < w[1].price), "{label}: each tick is its own observation: {ticks:?}");
    let last_tick_at = row.lock_at_us + TICKS as i64 * 1_000_000;
    eprintln!(
        "[figure] {label}: last tick slot closed → resolve confirmed and recorded in {} ms (deadline {} ms after it)",
        (resolved_at - last_tick_at) / 1_000,
        (row.deadline_at_us - last_tick_at) / 1_000
    );
    let sealed = kairos_platform::storage::flash_markets::sealed_salt(&store, &id).await.expect("read");
    assert!(sealed.is_some_and(|s| s.len() > 60), "{label}: the salt is stored sealed");

    // The winner takes the pool less the 1% fee on the losing side; the loser has nothing to claim.
    let before = balance(&world.rpc, &yes).await;
    transact(&app, &world.rpc, &id, "claim", &yes, json!({ "wallet": yes.pubkey().to_string(), "outcome": 1 }))
        .await
        .expect("the winner claims");
    assert_eq!(balance(&world.rpc, &yes).await - before, 30_000_000 + 20_000_000 - 200_000, "{label}");
    let lost =
        transact(&app, &world.rpc, &id, "claim", &no, json!({ "wallet": no.pubkey().to_string(), "outcome": 0 })).await;
    assert!(lost.is_err(), "{label}: a losing position pays nothing");
    assert!(keepers.run(Some("chain-sync")).await.is_empty());
    let (_, positions) = app.get_json(&format!("/v1/flash-markets/{id}/positions?wallet={}", yes.pubkey())).await;
    let want =
        json!({ "positions": [{ "wallet": yes.pubkey().to_string(), "outcome": 1, "amount": "30", "claimed": true }] });
    assert_eq!(positions, want, "{label}");
    app.stop().await;
}

#[tokio::test]
async fn a_flash_market_lives_from_the_api_through_the_keepers_to_the_winners_claim() {
    let world = World::new().await;
    let lives = scratch::all().await.into_iter().map(|db| whole_life(&world, db));
    futures_util::future::join_all(lives).await;
}

async fn endings(world: &World, db: scratch::ScratchDb) {
    let label = db.label;
    let app = world.api(&db).await;
    let store = app.state().db().clone();
    let data = tempfile::tempdir().expect("data");
    let keepers = Keepers::new(&store, &world.keepers(&db.url, "keys", data.path()), "host/2").await;
    let (_, op) = app.user(Role::Operator).await;
    let mut dead = Vec::new();
    for symbol in ["failcoin", "limitcoin", "junkcoin"] {
        dead.push(open(&app, &op, symbol, "100").await);
    }
    let late = open(&app, &op, "bitcoin", "100").await;
    let (_, errors) = run_until(&app, &keepers, &late, "open", Duration::from_secs(10)).await;
    assert!(errors.is_empty(), "{label}: {errors:?}");
    let bettor = wallet(&app).await;
    let stake = json!({ "wallet": bettor.pubkey().to_string(), "outcome": 1, "amount": "10" });
    transact(&app, &world.rpc, &dead[0], "bet", &bettor, stake.clone()).await.expect("bet on a market that will void");
    transact(&app, &world.rpc, &late, "bet", &bettor, stake).await.expect("bet on the late market");

    // The late market is locked by someone holding the oracle's key with another commitment (a
    // second oracle, a lost salt): no proof of ours can verify, so it cannot resolve before its
    // deadline.
    let oracle = kairos_flash::oracle_key::load(&world.dir.path().join("oracle.json")).expect("oracle key");
    let row = kairos_platform::storage::flash_markets::get(&store, &late).await.expect("read").expect("row");
    let market_id: [u8; 32] = hex::decode(&row.market_id).expect("hex").try_into().expect("32 bytes");
    let mut foreign = [7u8; 32];
    foreign[0] = 0;
    let (mut locked, mut errors) = (false, Vec::new());
    let started = Instant::now();
    while !errors.iter().any(|e: &String| e.contains("another commitment")) {
        assert!(started.elapsed() < Duration::from_secs(30), "{label}: {errors:?}");
        if !locked && now_us() > row.lock_at_us + 300_000 {
            let ix = kairos_flash_bets::instruction::lock_market(
                &kairos_flash_bets::ID,
                &oracle.pubkey(),
                &market_id,
                foreign,
            );
            let blockhash = world.rpc.blockhash().await.expect("blockhash");
            let tx = solana_transaction::Transaction::new_signed_with_payer(
                &[ix],
                Some(&oracle.pubkey()),
                &[&oracle],
                blockhash,
            );
            world.rpc.rpc().send_and_confirm_transaction(&tx).await.expect("the foreign lock");
            locked = true;
        }
        errors.extend(keepers.run(None).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(errors.iter().any(|e| e.contains("failcoin") || e.contains("500")), "{label}: {errors:?}");
    assert!(errors.iter().any(|e| e.contains("429")), "{label}: the rate limit is reported: {errors:?}");
    assert!(errors.iter().any(|e| e.contains("not a price")), "{label}: garbage is reported: {errors:?}");
    for id in &dead {
        assert!(flash_ticks::of(&store, id).await.expect("ticks").is_empty(), "{label}: no tick is invented");
    }
    after(&app, &late, "deadline_at").await;
    for id in dead.iter().chain([&late]) {
        let (voided, _) = run_until(&app, &keepers, id, "voided", Duration::from_secs(15)).await;
        assert!(voided["signatures"]["void"].is_string(), "{label}: {voided}");
        assert!(voided["signatures"]["resolve"].is_null(), "{label}: not resolved after its deadline: {voided}");
    }
    let late_row = kairos_platform::storage::flash_markets::get(&store, &late).await.expect("read").expect("row");
    assert_eq!(late_row.lock_signature, None, "{label}: the keepers never locked it");
    // Every stake comes back.
    let before = balance(&world.rpc, &bettor).await;
    for id in [&dead[0], &late] {
        let claim = json!({ "wallet": bettor.pubkey().to_string(), "outcome": 1 });
        transact(&app, &world.rpc, id, "claim", &bettor, claim).await.expect("a refund");
    }
    assert_eq!(balance(&world.rpc, &bettor).await - before, 20_000_000, "{label}");
    app.stop().await;
}

#[tokio::test]
async fn a_dead_feed_or_a_missed_deadline_ends_the_market_voided_and_refunded() {
    let world = World::new().await;
    let runs = scratch::all().await.into_iter().map(|db| endings(&world, db));
    futures_util::future::join_all(runs).await;
}
