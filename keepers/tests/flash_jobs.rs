//! The chain jobs on both databases against the local chain, each run under a lease it
//! claimed: `flash-create` puts a pending market on chain once (a second run, or a run that
//! finds it there, sends nothing) and ends unopened a market whose betting closed first;
//! `chain-sync` brings a wallet's bet into the totals and positions; `flash-void` voids a
//! market past its deadline; a run holding a stale fence writes nothing. With the chain's
//! websocket, chain-sync applies the accounts pushed to it between full reads, and reads in
//! full again while its subscription is down.

use std::sync::Arc;
use std::time::Duration;

use kairos_domain::now_us;
use kairos_flash::{FlashChain, wallet_tx};
use kairos_keepers::flash::FlashAccess;
use kairos_keepers::jobs::{ChainSync, FlashCreate, FlashVoid, Job, JobContext};
use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::config::{KeeperSettings, RawSources, load_keepers_from};
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use kairos_platform::storage::{Db, keeper_jobs, scratch};
use solana_keypair::Keypair;
use solana_signer::Signer as _;

mod flash_world;
use flash_world::{pending_with, sign_and_send};

const CIRCUIT: u32 = 4;

fn settings(db_url: &str, rpc: &str, key_file: &std::path::Path, data: &std::path::Path) -> KeeperSettings {
    settings_with(db_url, rpc, key_file, data, &[])
}

fn settings_with(
    db_url: &str,
    rpc: &str,
    key_file: &std::path::Path,
    data: &std::path::Path,
    more: &[(&str, String)],
) -> KeeperSettings {
    let mut vars = vec![
        ("KAIROS_PROFILE", "test".to_string()),
        ("KAIROS_DATABASE_URL", db_url.to_string()),
        ("KAIROS_DATA_DIR", data.display().to_string()),
        ("KAIROS_SOLANA__RPC_URL", rpc.to_string()),
        ("KAIROS_FLASH__ORACLE_KEYPAIR_FILE", key_file.display().to_string()),
        ("KAIROS_FLASH__CIRCUIT_ID", CIRCUIT.to_string()),
        ("KAIROS_FLASH__TICKS", "4".to_string()),
    ];
    vars.extend(more.iter().cloned());
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

async fn get(db: &Db, id: &str) -> FlashMarketRow {
    flash_markets::get(db, id).await.expect("read").expect("row")
}

/// A local chain whose flash program takes the oracle's key (kept in `<dir>/oracle.json`),
/// with the oracle funded.
async fn chain_with_oracle() -> (tempfile::TempDir, std::path::PathBuf, Keypair, LocalChain, FlashChain) {
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("oracle.json");
    let oracle = kairos_flash::oracle_key::load_or_create(&key_file).expect("key");
    let local = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("chain");
    let key = kairos_flash_circuit::keys::test_keys::keys(4).solana_vk().expect("vk");
    let genesis = FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: 100, keys: vec![(CIRCUIT, 4, key)] };
    local.initialize_flash(genesis).await.expect("initialize");
    let rpc = FlashChain::new(local.url(), kairos_flash_bets::ID, 0);
    rpc.fund(&oracle.pubkey(), 100_000_000_000, 0).await.expect("fund the oracle");
    (dir, key_file, oracle, local, rpc)
}

#[tokio::test]
async fn markets_are_created_once_synced_and_voided_after_their_deadline() {
    let (dir, key_file, oracle, local, rpc) = chain_with_oracle().await;

    for db in scratch::all().await {
        let label = db.label;
        let store = Db::connect(&db.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        let s = settings(&db.url, local.url(), &key_file, dir.path());
        let access = Arc::new(FlashAccess::new(&s.core));
        let create = FlashCreate::new(access.clone(), Duration::from_secs(5));
        let sync = ChainSync::new(access.clone(), Duration::from_secs(5));
        let void = FlashVoid::new(access.clone(), Duration::from_secs(15));

        let long = pending_with(&store, 1, Some(60)).await;
        let short = pending_with(&store, 1, Some(6)).await;
        let late = pending_with(&store, 1, Some(1)).await;
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

/// Waits up to 10 s for `done`.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn chain_sync_applies_pushed_accounts_between_full_reads_and_reads_in_full_without_them() {
    let (dir, key_file, _oracle, local, rpc) = chain_with_oracle().await;

    for db in scratch::all().await {
        let label = db.label;
        let store = Db::connect(&db.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        let ws = [("KAIROS_SOLANA__WS_URL", local.ws_url().to_string())];
        let s = settings_with(&db.url, local.url(), &key_file, dir.path(), &ws);
        let access = Arc::new(FlashAccess::new(&s.core));
        let create = FlashCreate::new(access.clone(), Duration::from_secs(5));
        // Full reads an hour apart: between the first and the next, only pushes can bring a bet.
        let sync = ChainSync::with_full_read_every(access.clone(), Duration::from_secs(5), Duration::from_secs(3_600));
        let market = pending_with(&store, 1, Some(60)).await;
        let ctx = lease(&store, &create, "host/1").await;
        create.run(&ctx).await.expect("create (its send woken by the signature's notification)");
        assert_eq!(get(&store, &market.id).await.status, "open", "{label}");

        let sync_ctx = lease(&store, &sync, "host/1").await;
        sync.run(&sync_ctx).await.expect("the first run reads in full and subscribes");
        assert_eq!(sync.full_reads(), 1, "{label}");
        until("the subscription", async || sync.subscribed()).await;

        let address = market.address.parse().expect("address");
        let mid = kairos_keepers::flash::market_id(&market.market_id).expect("id");
        let bet = async |amount: u64| {
            let wallet = Keypair::new();
            rpc.fund(&wallet.pubkey(), 1_000_000_000, amount).await.expect("faucet");
            let ctx_tx = rpc.wallet_context(&address).await.expect("context");
            sign_and_send(&rpc, &wallet_tx::bet(&ctx_tx, &wallet.pubkey(), &mid, 0, amount), &wallet).await;
        };
        bet(2_000_000).await;
        until("the pushed bet", async || {
            sync.run(&sync_ctx).await.expect("sync");
            get(&store, &market.id).await.totals == [2_000_000, 0]
        })
        .await;
        assert_eq!(sync.full_reads(), 1, "{label}: applied from the subscription, not a read");
        let positions = flash_markets::positions(&store, &market.id, None).await.expect("positions");
        assert_eq!(positions.iter().map(|p| p.amount).collect::<Vec<_>>(), [2_000_000], "{label}");

        // The chain drops its subscribers: the next run reads in full and subscribes again.
        local.drop_subscribers().await.expect("drop");
        until("the subscription to end", async || !sync.subscribed()).await;
        bet(3_000_000).await;
        sync.run(&sync_ctx).await.expect("sync");
        assert_eq!(sync.full_reads(), 2, "{label}: read in full while not subscribed");
        assert_eq!(get(&store, &market.id).await.totals, [5_000_000, 0], "{label}");
        until("the new subscription", async || sync.subscribed()).await;
        store.close().await;
    }
}
