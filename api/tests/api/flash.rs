//! Flash markets through the API on both databases, against the local chain over JSON-RPC:
//! the config wallets read, operators opening markets (audited, refused to others and for bad
//! terms), the public reads, the faucet, and unsigned bet transactions that a wallet signs and
//! lands; every refusal in the JSON error envelope. Also: no chain configured (503) and the dev
//! profile starting its own chain.

use base64::Engine as _;
use kairos_domain::Role;
use kairos_flash::FlashChain;
use kairos_flash_bets::instruction::{MarketTerms, create_market};
use kairos_flash_bets::rule::Rule;
use kairos_flash_bets::state::{Position, market_address, position_address};
use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::storage::{flash_markets, scratch};
use reqwest::Method;
use serde_json::json;
use solana_keypair::Keypair;
use solana_signer::Signer as _;
use solana_transaction::Transaction;

use crate::support::{TestApp, error_code, spawn};

const CIRCUIT: u32 = 4;
const TICKS: usize = 4;

/// A local chain with the program initialized (the oracle named, the 4-tick test key stored).
async fn chain(oracle: &Keypair) -> LocalChain {
    let chain = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("start");
    let key = kairos_flash_circuit::keys::test_keys::keys(TICKS).solana_vk().expect("vk");
    let genesis =
        FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: 100, keys: vec![(CIRCUIT, TICKS as u16, key)] };
    chain.initialize_flash(genesis).await.expect("initialize");
    chain
}

async fn spawn_on(db: &scratch::ScratchDb, chain: &LocalChain) -> TestApp {
    let circuit = CIRCUIT.to_string();
    let ticks = TICKS.to_string();
    spawn(
        db,
        &[
            ("KAIROS_SOLANA__RPC_URL", chain.url()),
            ("KAIROS_FLASH__CIRCUIT_ID", &circuit),
            ("KAIROS_FLASH__TICKS", &ticks),
        ],
    )
    .await
}

/// What the `flash-create` keeper does: creates the market on chain as the oracle and records it.
async fn create_on_chain(app: &TestApp, rpc: &FlashChain, oracle: &Keypair, id: &str) {
    let row = flash_markets::get(app.state().db(), id).await.expect("read").expect("row");
    let market_id: [u8; 32] = hex::decode(&row.market_id).expect("hex").try_into().expect("32 bytes");
    let collateral = rpc.collateral().await.expect("collateral");
    let terms = MarketTerms {
        market_id,
        circuit_id: CIRCUIT,
        rule: Rule::threshold(row.rule_params[0]),
        lock_at: row.lock_at_us / 1_000_000,
        resolve_by: row.deadline_at_us / 1_000_000,
    };
    let ix = create_market(&kairos_flash_bets::ID, &oracle.pubkey(), &collateral.mint, terms);
    let blockhash = rpc.blockhash().await.expect("blockhash");
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&oracle.pubkey()), &[oracle], blockhash);
    let signature = rpc.rpc().send_and_confirm_transaction(&tx).await.expect("created");
    let mut conn = app.state().db().pool().acquire().await.expect("connection");
    let (oracle, signature) = (oracle.pubkey().to_string(), signature.to_string());
    let recorded = flash_markets::record_created_in(&mut conn, id, &oracle, Some(&signature), 1).await.expect("record");
    assert!(recorded);
}

/// Signs the API's unsigned transaction as `wallet` and sends it.
pub(crate) async fn sign_and_send(rpc: &FlashChain, encoded: &str, wallet: &Keypair) -> Result<(), String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let mut tx: Transaction = bincode::deserialize(&bytes).expect("a transaction");
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[wallet], blockhash).map_err(|e| e.to_string())?;
    rpc.rpc().send_and_confirm_transaction(&tx).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn operators_open_flash_markets_and_wallets_bet_with_transactions_they_sign() {
    let oracle = Keypair::new();
    let chain = chain(&oracle).await;
    let rpc = FlashChain::new(chain.url(), kairos_flash_bets::ID, 1_000);
    rpc.fund(&oracle.pubkey(), 10_000_000_000, 0).await.expect("fund the oracle");
    for db in scratch::all().await {
        let app = spawn_on(&db, &chain).await;
        let label = &db.label;
        let (_, op) = app.user(Role::Operator).await;
        let (_, user) = app.user(Role::User).await;

        let (status, config) = app.get_json("/v1/flash/config").await;
        assert_eq!(status, 200, "{label}: {config}");
        assert_eq!(
            config,
            json!({
                "cluster": "localnet", "rpc_url": chain.url(), "program_id": kairos_flash_bets::ID.to_string(),
                "collateral_mint": chain.collateral_mint.to_string(),
            })
        );

        // Operators open markets; nobody else may.
        let terms = json!({ "rule": { "kind": "threshold", "strike": "65000.5" }, "symbol": "bitcoin", "betting_s": 30, "tick_interval_s": 2 });
        let (status, body) = app.send(Method::POST, "/v1/admin/flash-markets", None, Some(terms.clone())).await;
        assert_eq!((status, error_code(&body).as_str()), (401, "missing_credentials"), "{label}: {body}");
        let (status, body) = app.send(Method::POST, "/v1/admin/flash-markets", Some(&user), Some(terms.clone())).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_role"), "{label}: {body}");
        let (status, market) = app.send(Method::POST, "/v1/admin/flash-markets", Some(&op), Some(terms.clone())).await;
        assert_eq!(status, 201, "{label}: {market}");
        let id = market["id"].as_str().expect("id").to_string();
        assert_eq!(market["status"], "pending");
        assert_eq!(market["rule"], json!({ "kind": "threshold", "strike": "65000.5" }));
        assert_eq!((market["outcome_count"].clone(), market["totals"].clone()), (json!(2), json!(["0", "0"])));
        assert_eq!(market["signatures"], json!({ "create": null, "lock": null, "resolve": null, "void": null }));
        let row = flash_markets::get(app.state().db(), &id).await.expect("read").expect("row");
        let market_id: [u8; 32] = hex::decode(&row.market_id).expect("hex").try_into().expect("32 bytes");
        assert_eq!(market["address"], market_address(&kairos_flash_bets::ID, &market_id).0.to_string());
        assert_eq!(
            row.deadline_at_us - row.lock_at_us,
            (TICKS as i64 * 2 + 120) * 1_000_000,
            "ticks after lock, then the window"
        );
        let (_, audit) = app.send(Method::GET, "/v1/admin/audit?action=flash_market.open", Some(&op), None).await;
        let audited = audit["data"].as_array().expect("rows");
        assert!(audited.iter().any(|r| r["target"] == format!("flash_market:{id}")), "{label}: {audit}");

        for (bad, status, code) in [
            (
                json!({ "rule": { "kind": "threshold", "strike": "0" }, "symbol": "bitcoin", "betting_s": 30, "tick_interval_s": 2 }),
                422,
                "invalid_terms",
            ),
            (
                json!({ "rule": { "kind": "buckets", "edges": ["2", "1"] }, "symbol": "bitcoin", "betting_s": 30, "tick_interval_s": 2 }),
                422,
                "invalid_terms",
            ),
            (
                json!({ "rule": { "kind": "twap", "strike": "1" }, "symbol": "bitcoin", "betting_s": 5, "tick_interval_s": 2 }),
                422,
                "invalid_terms",
            ),
            (
                json!({ "rule": { "kind": "twap", "strike": "1" }, "symbol": "BTC/USD", "betting_s": 30, "tick_interval_s": 2 }),
                422,
                "invalid_terms",
            ),
            (
                json!({ "rule": { "kind": "median", "strike": "1" }, "symbol": "bitcoin", "betting_s": 30, "tick_interval_s": 2 }),
                400,
                "invalid_json",
            ),
        ] {
            let (s, body) = app.send(Method::POST, "/v1/admin/flash-markets", Some(&op), Some(bad.clone())).await;
            assert_eq!((s, error_code(&body).as_str()), (status, code), "{label}: {bad} → {body}");
        }

        // The public reads.
        let (_, second) = app.send(Method::POST, "/v1/admin/flash-markets", Some(&op), Some(terms.clone())).await;
        let (status, page) = app.get_json("/v1/flash-markets?limit=1").await;
        assert_eq!((status, page["data"][0]["id"].as_str()), (200, Some(id.as_str())), "{label}: {page}");
        let cursor = page["next_cursor"].as_str().expect("a second page").to_string();
        let (_, rest) = app.get_json(&format!("/v1/flash-markets?limit=1&cursor={cursor}")).await;
        assert_eq!((rest["data"][0]["id"].clone(), rest["next_cursor"].clone()), (second["id"].clone(), json!(null)));
        let (_, none_open) = app.get_json("/v1/flash-markets?status=open").await;
        assert_eq!(none_open["data"], json!([]));
        let (status, one) = app.get_json(&format!("/v1/flash-markets/{id}")).await;
        assert_eq!((status, one["id"].as_str()), (200, Some(id.as_str())));
        let (status, body) = app.get_json("/v1/flash-markets/00000000-0000-7000-8000-000000000000").await;
        assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
        let (status, body) = app.get_json("/v1/flash-markets/abc").await;
        assert_eq!((status, error_code(&body).as_str()), (400, "invalid_id"));
        let (status, body) = app.get_json("/v1/flash-markets?status=sideways").await;
        assert_eq!(status, 400, "{body}");
        let (status, positions) = app.get_json(&format!("/v1/flash-markets/{id}/positions")).await;
        assert_eq!((status, positions), (200, json!({ "positions": [] })));
        let (status, body) = app.get_json(&format!("/v1/flash-markets/{id}/positions?wallet=nope")).await;
        assert_eq!((status, error_code(&body).as_str()), (400, "invalid_wallet"));

        // A wallet gets SOL and collateral from the faucet, then bets with a transaction it signs.
        let wallet = Keypair::new();
        let (status, funded) = app
            .send(
                Method::POST,
                "/v1/flash/faucet",
                None,
                Some(json!({ "wallet": wallet.pubkey().to_string(), "amount": "100" })),
            )
            .await;
        assert_eq!((status, funded["amount"].as_str()), (200, Some("100")), "{label}: {funded}");
        for (bad, status, code) in [
            (json!({ "wallet": "not-base58!", "amount": "1" }), 400, "invalid_wallet"),
            (json!({ "wallet": wallet.pubkey().to_string(), "amount": "0" }), 422, "invalid_amount"),
            (json!({ "wallet": wallet.pubkey().to_string(), "amount": "10000.000001" }), 422, "invalid_amount"),
        ] {
            let (s, body) = app.send(Method::POST, "/v1/flash/faucet", None, Some(bad.clone())).await;
            assert_eq!((s, error_code(&body).as_str()), (status, code), "{label}: {bad} → {body}");
        }
        let bet_path = format!("/v1/flash-markets/{id}/transactions/bet");
        let bet = json!({ "wallet": wallet.pubkey().to_string(), "outcome": 1, "amount": "25.5" });
        let (status, body) = app.send(Method::POST, &bet_path, None, Some(bet.clone())).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "market_not_open"), "pending takes no bets: {body}");
        create_on_chain(&app, &rpc, &oracle, &id).await;
        let (status, built) = app.send(Method::POST, &bet_path, None, Some(bet.clone())).await;
        assert_eq!(status, 200, "{label}: {built}");
        let transaction = built["transaction"].as_str().expect("transaction");
        assert!(sign_and_send(&rpc, transaction, &Keypair::new()).await.is_err(), "only the wallet can sign it");
        sign_and_send(&rpc, transaction, &wallet).await.expect("the bet lands");
        let market = market_address(&kairos_flash_bets::ID, &market_id).0;
        let position = position_address(&kairos_flash_bets::ID, &market, &wallet.pubkey(), 1).0;
        let position = Position::read(&rpc.rpc().get_account(&position).await.expect("position").data).expect("read");
        assert_eq!(position.amount, 25_500_000, "{label}");
        let on_chain = rpc.market(&market_id).await.expect("read").expect("market");
        assert_eq!(on_chain.totals[1], 25_500_000);

        for (bad, status, code) in [
            (json!({ "wallet": "xyz", "outcome": 1, "amount": "1" }), 400, "invalid_wallet"),
            (json!({ "wallet": wallet.pubkey().to_string(), "outcome": 2, "amount": "1" }), 422, "invalid_outcome"),
            (json!({ "wallet": wallet.pubkey().to_string(), "outcome": 0, "amount": "0" }), 422, "invalid_amount"),
            (json!({ "wallet": wallet.pubkey().to_string(), "outcome": 0, "amount": "-1" }), 422, "invalid_amount"),
            (
                json!({ "wallet": wallet.pubkey().to_string(), "outcome": 0, "amount": "1.0000001" }),
                422,
                "invalid_amount",
            ),
        ] {
            let (s, body) = app.send(Method::POST, &bet_path, None, Some(bad.clone())).await;
            assert_eq!((s, error_code(&body).as_str()), (status, code), "{label}: {bad} → {body}");
        }
        let (status, body) = app
            .send(
                Method::POST,
                "/v1/flash-markets/00000000-0000-7000-8000-000000000000/transactions/bet",
                None,
                Some(bet),
            )
            .await;
        assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
        let claim = json!({ "wallet": wallet.pubkey().to_string(), "outcome": 1 });
        let (status, body) =
            app.send(Method::POST, &format!("/v1/flash-markets/{id}/transactions/claim"), None, Some(claim)).await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (409, "market_not_open"),
            "an open market pays nothing yet: {body}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn without_a_chain_the_flash_routes_say_so() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (status, body) = app.get_json("/v1/flash/config").await;
    assert_eq!((status, error_code(&body).as_str()), (503, "chain_unavailable"), "{body}");
    let wallet = Keypair::new().pubkey().to_string();
    let (status, body) =
        app.send(Method::POST, "/v1/flash/faucet", None, Some(json!({ "wallet": wallet, "amount": "1" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (503, "chain_unavailable"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_dev_profile_starts_its_own_chain_and_initializes_the_program() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_PROFILE", "dev")]).await;
    let (status, config) = app.get_json("/v1/flash/config").await;
    assert_eq!((status, config["cluster"].as_str()), (200, Some("localnet")), "{config}");
    let url = config["rpc_url"].as_str().expect("the local chain's url").to_string();
    let data = app.state().settings().core.data_dir.clone();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("local-chain.json")).expect("chain file"))
            .expect("json");
    assert_eq!(file["rpc_url"].as_str(), Some(url.as_str()), "the keepers find the chain here");
    let key = data.join(kairos_platform::config::DEV_ORACLE_KEYPAIR_FILE);
    let oracle = kairos_flash::oracle_key::load(&key).expect("a 0600 oracle key");
    let rpc = FlashChain::new(&url, kairos_flash_bets::ID, 0);
    assert_eq!(rpc.config().await.expect("initialized").oracles, vec![oracle.pubkey()]);
    let lamports = rpc.rpc().get_balance(&oracle.pubkey()).await.expect("balance");
    assert!(lamports >= 100_000_000_000, "the dev oracle can pay for the keepers' transactions: {lamports}");
    // The dev proving key was made under the data directory and its verifying key stored, so
    // the keepers' flash-oracle can resolve what the API opens.
    let keys = kairos_flash_circuit::keys::Keys::load(&data.join(kairos_platform::config::DEV_PROVING_KEY_DIR))
        .expect("the dev proving key");
    let slot = kairos_flash_bets::state::vk_address(&kairos_flash_bets::ID, 1).0;
    let stored = rpc.rpc().get_account(&slot).await.expect("the verifying key's account");
    let stored = kairos_flash_bets::state::VerifyingKeyAccount::read(&stored.data).expect("a verifying key");
    assert_eq!((stored.hash, usize::from(stored.ticks)), (keys.vk_hash().expect("hash"), keys.ticks));
    app.stop().await;
}
