//! The chain jobs on both databases against the local chain, each run under a lease it
//! claimed: `flash-create` puts a pending market on chain once (a second run, or a run that
//! finds it there, sends nothing) and ends unopened a market whose betting closed first;
//! `chain-sync` brings a wallet's bet into the totals and positions; `flash-void` voids a
//! market past its deadline; a run holding a stale fence writes nothing.

use std::sync::Arc;
use std::time::Duration;

use kairos_domain::now_us;
use kairos_flash::terms::{self, Circuit, MarketRequest, RuleSpec};
use kairos_flash::{FlashChain, wallet_tx};
use kairos_keepers::flash::FlashAccess;
use kairos_keepers::jobs::{ChainSync, FlashCreate, FlashVoid, Job, JobContext};
use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::config::{KeeperSettings, RawSources, load_keepers_from};
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use kairos_platform::storage::{Db, keeper_jobs, scratch};
use solana_keypair::Keypair;
use solana_signer::Signer as _;

const CIRCUIT: u32 = 4;

fn settings(db_url: &str, rpc: &str, key_file: &std::path::Path, data: &std::path::Path) -> KeeperSettings {
    let vars = [
        ("KAIROS_PROFILE", "test".to_string()),
        ("KAIROS_DATABASE_URL", db_url.to_string()),
        ("KAIROS_DATA_DIR", data.display().to_string()),
        ("KAIROS_SOLANA__RPC_URL", rpc.to_string()),
        ("KAIROS_FLASH__ORACLE_KEYPAIR_FILE", key_file.display().to_string()),
        ("KAIROS_FLASH__CIRCUIT_ID", CIRCUIT.to_string()),
        ("KAIROS_FLASH__TICKS", "4".to_string()),
    ];
    let raw = RawSources::from_vars(vars.into_iter().map(|(k, v)| (k.to_string(), v))).expect("sources");
    let (settings, problems) = load_keepers_from(&raw);
    assert!(problems.is_empty(), "{problems:?}");
    settings
}

/// Claims `job`'s lease as `holder` and gives the run's context.
async fn lease(db: &Db, job: &dyn Job, holder: &str) -> JobContext {
    let now = now_us();
    keeper_jobs::register(db, job.name(), true, 1_000, now).await.expect("register");
    let claim = keeper_jobs::claim(db, job.name(), holder, now, now + 60_000_000).await.expect("claim").expect("free");
    JobContext { db: db.clone(), holder: holder.to_string(), fence: claim.fence }
}

/// A pending market as the API records it, betting for `betting_s`, ticks 1 s apart.
async fn pending(db: &Db, betting_s: i64) -> FlashMarketRow {
    let id = uuid::Uuid::now_v7();
    let request = MarketRequest {
        rule: RuleSpec::Threshold { strike: "10".into() },
        symbol: "bitcoin".into(),
        betting_s: betting_s.max(10),
        tick_interval_s: 1,
    };
    let circuit = Circuit { circuit_id: CIRCUIT, ticks: 4, resolve_window_s: 10 };
    let now_s = now_us() / 1_000_000 + 1;
    let t = terms::terms(&request, circuit, &kairos_flash_bets::ID, &id, now_s).expect("terms");
    // Shorter than the API allows, so the test reaches the deadline quickly.
    let lock_at_s = now_s + betting_s;
    let row = FlashMarketRow {
        id: id.to_string(),
        market_id: hex::encode(t.market_id),
        address: t.address.to_string(),
        symbol: "bitcoin".into(),
        rule_kind: "threshold".into(),
        rule_params: vec![10_000_000],
        outcome_count: 2,
        circuit_id: i64::from(CIRCUIT),
        ticks: 4,
        tick_interval_s: 1,
        oracle: None,
        created_at_us: now_us(),
        lock_at_us: lock_at_s * 1_000_000,
        deadline_at_us: (lock_at_s + 1) * 1_000_000,
        status: "pending".into(),
        commitment: None,
        winning_outcome: None,
        totals: vec![0, 0],
        create_signature: None,
        lock_signature: None,
        resolve_signature: None,
        void_signature: None,
        slot: 0,
        created_by: "user:test".into(),
    };
    let mut conn = db.pool().acquire().await.expect("conn");
    flash_markets::insert_in(&mut conn, &row).await.expect("insert");
    row
}

async fn get(db: &Db, id: &str) -> FlashMarketRow {
    flash_markets::get(db, id).await.expect("read").expect("row")
}

#[tokio::test]
async fn markets_are_created_once_synced_and_voided_after_their_deadline() {
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("oracle.json");
    let oracle = kairos_flash::oracle_key::load_or_create(&key_file).expect("key");
    let local = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("chain");
    let key = kairos_flash_circuit::keys::test_keys::keys(4).solana_vk().expect("vk");
    let genesis = FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: 100, keys: vec![(CIRCUIT, 4, key)] };
    local.initialize_flash(genesis).await.expect("initialize");
    let rpc = FlashChain::new(local.url(), kairos_flash_bets::ID, 0);
    rpc.fund(&oracle.pubkey(), 100_000_000_000, 0).await.expect("fund the oracle");

    for db in scratch::all().await {
        let label = db.label;
        let store = Db::connect(&db.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        let s = settings(&db.url, local.url(), &key_file, dir.path());
        let access = Arc::new(FlashAccess::new(&s.core));
        let create = FlashCreate::new(access.clone(), Duration::from_secs(5));
        let sync = ChainSync::new(access.clone(), Duration::from_secs(5));
        let void = FlashVoid::new(access.clone(), Duration::from_secs(15));

        let long = pending(&store, 60).await;
        let short = pending(&store, 6).await;
        let late = pending(&store, 1).await;
        tokio::time::sleep(Duration::from_millis(1_200)).await;

        let ctx = lease(&store, &create, "host/1").await;
        create.run(&ctx).await.expect("create");
        for m in [&long, &short] {
            let row = get(&store, &m.id).await;
            assert_eq!(row.status, "open", "{label}");
            assert_eq!(row.oracle.as_deref(), Some(oracle.pubkey().to_string().as_str()));
            assert!(row.create_signature.is_some(), "{label}: the create's signature is recorded");
            let id = kairos_keepers::flash::market_id(&row.market_id).expect("id");
            assert!(rpc.market(&id).await.expect("read").is_some(), "{label}: on chain");
        }
        assert_eq!(get(&store, &late.id).await.status, "voided", "{label}: betting closed before it was created");
        create.run(&ctx).await.expect("a second run finds nothing pending");

        // A wallet bets on the long market; chain-sync brings it in.
        let wallet = Keypair::new();
        rpc.fund(&wallet.pubkey(), 1_000_000_000, 40_000_000).await.expect("faucet");
        let address = long.address.parse().expect("address");
        let mid = kairos_keepers::flash::market_id(&long.market_id).expect("id");
        let ctx_tx = rpc.wallet_context(&address).await.expect("context");
        let encoded = wallet_tx::bet(&ctx_tx, &wallet.pubkey(), &mid, 1, 15_000_000);
        sign_and_send(&rpc, &encoded, &wallet).await;
        let sync_ctx = lease(&store, &sync, "host/1").await;
        sync.run(&sync_ctx).await.expect("sync");
        let row = get(&store, &long.id).await;
        assert_eq!((row.status.as_str(), row.totals.clone()), ("open", vec![0, 15_000_000]), "{label}");
        let positions = flash_markets::positions(&store, &long.id, None).await.expect("positions");
        assert_eq!(positions.len(), 1, "{label}");
        assert_eq!(
            (positions[0].wallet.clone(), positions[0].amount, positions[0].claimed),
            (wallet.pubkey().to_string(), 15_000_000, false)
        );

        // A stale fence: another holder took the lease; the old holder writes nothing.
        let stale = JobContext { fence: sync_ctx.fence - 1, ..sync_ctx.clone() };
        let err = sync.run(&stale).await.expect_err("lease lost");
        assert!(err.contains("lease lost"), "{err}");

        // Past its deadline the short market is voided, once.
        let wait = (short.deadline_at_us + 1_500_000 - now_us()).max(0);
        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
        let void_ctx = lease(&store, &void, "host/1").await;
        void.run(&void_ctx).await.expect("void");
        let row = get(&store, &short.id).await;
        assert_eq!(row.status, "voided", "{label}");
        assert!(row.void_signature.is_some(), "{label}");
        void.run(&void_ctx).await.expect("nothing left to void");
        sync.run(&sync_ctx).await.expect("sync");
        assert_eq!(get(&store, &short.id).await.status, "voided", "{label}: the chain agrees");
        assert_eq!(get(&store, &long.id).await.status, "open", "{label}: before its deadline, untouched");
        store.close().await;
    }
}

async fn sign_and_send(rpc: &FlashChain, encoded: &str, wallet: &Keypair) {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let mut tx: solana_transaction::Transaction = bincode::deserialize(&bytes).expect("tx");
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[wallet], blockhash).expect("sign");
    rpc.rpc().send_and_confirm_transaction(&tx).await.expect("the bet lands");
}
