//! A local chain set up as an operator would for the flash jobs (the program initialized with
//! the oracle's key and a 4-tick verifying key, the oracle funded, its key in a 0600
//! file, the proving key saved where the keepers read it), a fake CoinGecko feed, pending
//! markets written as the API writes them, and the environment a `kairos-keepers` process
//! needs to run them. Shared by the handover test and the 100-market bench.
#![allow(dead_code)] // each crate that includes it uses its own part

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::response::IntoResponse;
use kairos_domain::now_us;
use kairos_flash::terms::{self, Circuit, MarketRequest, RuleSpec};
use kairos_flash::{FlashChain, wallet_tx};
use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::storage::Db;
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use solana_keypair::Keypair;
use solana_signer::Signer as _;

pub(crate) const CIRCUIT: u32 = 4;
pub(crate) const TICKS: i64 = 4;

pub(crate) struct FlashWorld {
    pub(crate) chain: LocalChain,
    pub(crate) rpc: FlashChain,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) key_file: PathBuf,
    pub(crate) feed_url: String,
}

impl FlashWorld {
    pub(crate) async fn new() -> FlashWorld {
        let dir = tempfile::tempdir().expect("dir");
        let key_file = dir.path().join("oracle.json");
        let oracle = kairos_flash::oracle_key::load_or_create(&key_file).expect("key");
        let chain = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("chain");
        // A release build of the program refuses the published test keys (the bench runs
        // there): it gets a key of its own, made here in a moment at this size.
        let mut keys = if cfg!(debug_assertions) {
            kairos_flash_circuit::keys::test_keys::keys(TICKS as usize)
        } else {
            kairos_flash_circuit::keys::Keys::setup(TICKS as usize, &mut rand_core::OsRng).expect("setup")
        };
        keys.save(&dir.path().join("keys")).expect("save keys");
        let genesis = FlashGenesis {
            oracles: vec![oracle.pubkey()],
            fee_bps: 100,
            keys: vec![(CIRCUIT, TICKS as u16, keys.solana_vk().expect("vk"))],
        };
        chain.initialize_flash(genesis).await.expect("initialize");
        let rpc = FlashChain::new(chain.url(), kairos_flash_bets::ID, 0);
        rpc.fund(&oracle.pubkey(), 100_000_000_000, 0).await.expect("fund the oracle");
        let feed_url = feed().await;
        FlashWorld { chain, rpc, dir, key_file, feed_url }
    }

    /// What a `kairos-keepers` process on `db_url` needs to run every flash job here: chain
    /// jobs every second, leases of `lease_ms`, no dependency probes.
    pub(crate) fn keeper_vars(
        &self,
        db_url: &str,
        data: &std::path::Path,
        lease_ms: u64,
    ) -> Vec<(&'static str, String)> {
        vec![
            ("KAIROS_PROFILE", "test".into()),
            ("KAIROS_DATABASE_URL", db_url.to_string()),
            ("KAIROS_DATA_DIR", data.display().to_string()),
            ("KAIROS_LOG", "warn".into()),
            ("KAIROS_LOG_FORMAT", "json".into()),
            ("KAIROS_KEEPERS__METRICS_BIND", "127.0.0.1:0".into()),
            ("KAIROS_KEEPERS__LEASE_MS", lease_ms.to_string()),
            ("KAIROS_KEEPERS__PROBES__ENABLED", "false".into()),
            ("KAIROS_KEEPERS__FLASH_CREATE__PERIOD_S", "1".into()),
            ("KAIROS_KEEPERS__CHAIN_SYNC__PERIOD_S", "1".into()),
            ("KAIROS_KEEPERS__FLASH_VOID__PERIOD_S", "1".into()),
            ("KAIROS_SOLANA__RPC_URL", self.chain.url().to_string()),
            ("KAIROS_SOLANA__WS_URL", self.chain.ws_url().to_string()),
            ("KAIROS_FLASH__ORACLE_KEYPAIR_FILE", self.key_file.display().to_string()),
            ("KAIROS_FLASH__PROVING_KEY_DIR", self.dir.path().join("keys").display().to_string()),
            ("KAIROS_FLASH__CIRCUIT_ID", CIRCUIT.to_string()),
            ("KAIROS_FLASH__TICKS", TICKS.to_string()),
            ("KAIROS_FLASH__PRICE_FEED", self.feed_url.clone()),
            ("KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE", "6000".into()),
            ("KAIROS_FLASH__PRICE_FEED_CACHE_S", "1".into()),
            // Every process seals and opens salts with one key, as a deployment's do.
            ("KAIROS_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        ]
    }
}

/// A new wallet, funded from the faucet, signs and sends a bet of `amount` micro-units on
/// `outcome` of `m` (the transaction the API would give it).
pub(crate) async fn bet(rpc: &FlashChain, m: &FlashMarketRow, outcome: u8, amount: u64) {
    let wallet = Keypair::new();
    rpc.fund(&wallet.pubkey(), 1_000_000_000, amount).await.expect("faucet");
    let address = m.address.parse().expect("address");
    let id = kairos_keepers::flash::market_id(&m.market_id).expect("id");
    let context = rpc.wallet_context(&address).await.expect("context");
    sign_and_send(rpc, &wallet_tx::bet(&context, &wallet.pubkey(), &id, outcome, amount), &wallet).await;
}

/// Signs a base64 transaction the API built for `wallet` and sends it until it lands.
pub(crate) async fn sign_and_send(rpc: &FlashChain, encoded: &str, wallet: &Keypair) {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let mut tx: solana_transaction::Transaction = bincode::deserialize(&bytes).expect("tx");
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[wallet], blockhash).expect("sign");
    rpc.rpc().send_and_confirm_transaction(&tx).await.expect("the transaction lands");
}

/// A CoinGecko-format feed: bitcoin one dollar dearer at every call (from 150 $), so each tick
/// shows which call it came from.
async fn feed() -> String {
    async fn answer(State(price): State<Arc<AtomicU64>>) -> axum::response::Response {
        let micros = price.fetch_add(1_000_000, Ordering::SeqCst);
        let text = format!("{{\"bitcoin\":{{\"usd\":{}.{:06}}}}}", micros / 1_000_000, micros % 1_000_000);
        ([("content-type", "application/json")], text).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api/v3/simple/price", listener.local_addr().expect("addr"));
    let price = Arc::new(AtomicU64::new(150_000_000));
    let app = axum::Router::new().route("/api/v3/simple/price", axum::routing::get(answer)).with_state(price);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A pending market on bitcoin above 100 $ as the API records it: betting for 10 s, then
/// [`TICKS`] ticks `interval_s` apart, then 10 s to prove and resolve.
pub(crate) async fn pending(db: &Db, interval_s: i64) -> FlashMarketRow {
    pending_with(db, interval_s, None).await
}

/// [`pending`], or with `short_betting_s` betting for that long (shorter than the API allows)
/// and a deadline a second after the lock, for tests that reach both quickly.
pub(crate) async fn pending_with(db: &Db, interval_s: i64, short_betting_s: Option<i64>) -> FlashMarketRow {
    let id = uuid::Uuid::now_v7();
    let request = MarketRequest {
        rule: RuleSpec::Threshold { strike: "100".into() },
        symbol: "bitcoin".into(),
        betting_s: 10,
        tick_interval_s: interval_s,
    };
    let circuit = Circuit { circuit_id: CIRCUIT, ticks: TICKS as u16, resolve_window_s: 10 };
    let now_s = now_us() / 1_000_000 + 1;
    let t = terms::terms(&request, circuit, &kairos_flash_bets::ID, &id, now_s).expect("terms");
    let (lock_at_s, deadline_s) = match short_betting_s {
        Some(betting_s) => (now_s + betting_s, now_s + betting_s + 1),
        None => (t.lock_at_s, t.deadline_s),
    };
    let row = FlashMarketRow {
        id: id.to_string(),
        market_id: hex::encode(t.market_id),
        address: t.address.to_string(),
        symbol: "bitcoin".into(),
        rule_kind: t.rule_kind.to_string(),
        rule_params: t.rule.params[..usize::from(t.rule.count)].to_vec(),
        outcome_count: i64::from(t.outcome_count),
        circuit_id: i64::from(CIRCUIT),
        ticks: TICKS,
        tick_interval_s: interval_s,
        oracle: None,
        created_at_us: now_us(),
        lock_at_us: lock_at_s * 1_000_000,
        deadline_at_us: deadline_s * 1_000_000,
        status: "pending".into(),
        commitment: None,
        winning_outcome: None,
        totals: vec![0; usize::from(t.outcome_count)],
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
