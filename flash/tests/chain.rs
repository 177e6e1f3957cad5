//! Wallet transactions and the chain client against the local chain, through solana-client
//! exactly as in production: the faucet funds a wallet, the API's unsigned bet is signed by the
//! wallet alone and lands (the position and the vault hold the stake), and after a void the
//! unsigned claim returns the stake.

use std::time::Duration;

use kairos_flash::FlashChain;
use kairos_flash::terms::market_id;
use kairos_flash::wallet_tx;
use kairos_flash_bets::instruction::{MarketTerms, create_market, void_market};
use kairos_flash_bets::rule::Rule;
use kairos_flash_bets::state::{MarketStatus, Position, position_address, vault_address};
use kairos_local_chain::{FlashGenesis, LocalChain};
use solana_keypair::Keypair;
use solana_program::program_pack::Pack as _;
use solana_program::pubkey::Pubkey;
use solana_signer::Signer as _;
use solana_transaction::Transaction;

const CIRCUIT: u32 = 4;
const TICKS: usize = 4;
const SOL: u64 = 1_000_000_000;

async fn chain(oracle: &Keypair) -> (LocalChain, FlashChain) {
    let local = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("start");
    let key = kairos_flash_circuit::keys::test_keys::keys(TICKS).solana_vk().expect("vk");
    let genesis =
        FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: 250, keys: vec![(CIRCUIT, TICKS as u16, key)] };
    local.initialize_flash(genesis).await.expect("initialize");
    let chain = FlashChain::new(local.url(), kairos_flash_bets::ID, 1_000);
    (local, chain)
}

/// Signs the API's unsigned transaction as the wallet and sends it.
async fn sign_and_send(chain: &FlashChain, encoded: &str, wallet: &Keypair) -> Result<(), String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64");
    let mut tx: Transaction = bincode::deserialize(&bytes).expect("a transaction");
    let blockhash = tx.message.recent_blockhash;
    tx.try_sign(&[wallet], blockhash).map_err(|e| e.to_string())?;
    chain.rpc().send_and_confirm_transaction(&tx).await.map(|_| ()).map_err(|e| e.to_string())
}

async fn send_as(chain: &FlashChain, payer: &Keypair, ix: solana_program::instruction::Instruction) {
    let blockhash = chain.blockhash().await.expect("blockhash");
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[payer], blockhash);
    chain.rpc().send_and_confirm_transaction(&tx).await.expect("sent");
}

async fn token_balance(chain: &FlashChain, account: &Pubkey) -> u64 {
    let account = chain.rpc().get_account(account).await.expect("token account");
    spl_token_interface::state::Account::unpack(&account.data).expect("token").amount
}

#[tokio::test]
async fn a_wallet_signs_the_unsigned_bet_and_claims_its_stake_back_after_a_void() {
    let oracle = Keypair::new();
    let (_local, chain) = chain(&oracle).await;
    let collateral = chain.collateral().await.expect("the config names the mint");
    chain.fund(&oracle.pubkey(), 10 * SOL, 0).await.expect("fund the oracle");

    let id = uuid::Uuid::now_v7();
    let mid = market_id(&id);
    let now = chain.rpc().get_block_time(chain.rpc().get_slot().await.expect("slot")).await.unwrap_or(0);
    let now = if now > 0 { now } else { std::time::SystemTime::UNIX_EPOCH.elapsed().expect("clock").as_secs() as i64 };
    let terms = MarketTerms {
        market_id: mid,
        circuit_id: CIRCUIT,
        rule: Rule::threshold(5),
        lock_at: now + 2,
        resolve_by: now + 3,
    };
    send_as(&chain, &oracle, create_market(&kairos_flash_bets::ID, &oracle.pubkey(), &collateral.mint, terms)).await;
    let market = kairos_flash_bets::state::market_address(&kairos_flash_bets::ID, &mid).0;

    let wallet = Keypair::new();
    chain.fund(&wallet.pubkey(), SOL, 25_000_000).await.expect("faucet");
    chain.fund(&wallet.pubkey(), SOL, 25_000_000).await.expect("the same request again is a new transaction");
    let token = wallet_tx::associated_token_address(&wallet.pubkey(), &collateral.mint);
    assert_eq!(token_balance(&chain, &token).await, 50_000_000);

    let ctx = chain.wallet_context(&market).await.expect("context");
    let bet = wallet_tx::bet(&ctx, &wallet.pubkey(), &mid, 1, 20_000_000);
    let stranger = Keypair::new();
    assert!(sign_and_send(&chain, &bet, &stranger).await.is_err(), "only the wallet can sign its bet");
    sign_and_send(&chain, &bet, &wallet).await.expect("the wallet's bet lands");
    let position = position_address(&kairos_flash_bets::ID, &market, &wallet.pubkey(), 1).0;
    let position = Position::read(&chain.rpc().get_account(&position).await.expect("position").data).expect("read");
    assert_eq!((position.amount, position.claimed), (20_000_000, false));
    assert_eq!(token_balance(&chain, &vault_address(&kairos_flash_bets::ID, &market).0).await, 20_000_000);
    assert_eq!(token_balance(&chain, &token).await, 30_000_000);
    let on_chain = chain.market(&mid).await.expect("read").expect("exists");
    assert_eq!((on_chain.status, on_chain.totals[1]), (MarketStatus::Open, 20_000_000));

    // Past the deadline anyone may void; the claim then returns the stake.
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    send_as(&chain, &oracle, void_market(&kairos_flash_bets::ID, &mid)).await;
    let ctx = chain.wallet_context(&market).await.expect("context");
    let claim = wallet_tx::claim(&ctx, &wallet.pubkey(), &mid, 1);
    sign_and_send(&chain, &claim, &wallet).await.expect("the claim lands");
    assert_eq!(token_balance(&chain, &token).await, 50_000_000, "the whole stake back");
    assert!(sign_and_send(&chain, &wallet_tx::claim(&ctx, &wallet.pubkey(), &mid, 1), &wallet).await.is_err(), "once");
}

#[tokio::test]
async fn a_cluster_without_the_program_or_the_faucet_says_so() {
    let local = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("start");
    let chain = FlashChain::new(local.url(), kairos_flash_bets::ID, 1_000);
    assert!(matches!(chain.collateral().await, Err(kairos_flash::ChainError::NotInitialized)));
    let other = FlashChain::new(local.url(), Pubkey::new_unique(), 1_000);
    assert!(matches!(other.config().await, Err(kairos_flash::ChainError::NotInitialized)));
    drop(local);
    let down = FlashChain::new("http://127.0.0.1:9", kairos_flash_bets::ID, 1_000);
    assert!(matches!(down.blockhash().await, Err(kairos_flash::ChainError::Rpc(_))));
}
