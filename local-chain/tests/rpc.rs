//! The local chain through solana-client's nonblocking `RpcClient`, as the API and the keepers
//! use it: blockhashes, airdrops, token accounts and balances, filtered program accounts,
//! priority fees, the flash-bets program's own refusals, re-sent and expired transactions, and
//! the transaction record.

use kairos_flash_bets::FlashError;
use kairos_flash_bets::instruction::{ConfigTerms, initialize_config};
use kairos_local_chain::LocalChain;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_program::instruction::{Instruction, InstructionError};
use solana_program::program_pack::Pack as _;
use solana_program::pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_signer::Signer as _;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use spl_token_interface::state::Account as TokenAccount;

const SOL: u64 = 1_000_000_000;

async fn chain() -> (LocalChain, RpcClient) {
    let chain = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("start");
    let client = RpcClient::new_with_commitment(chain.url().to_string(), CommitmentConfig::confirmed());
    (chain, client)
}

async fn funded(client: &RpcClient) -> Keypair {
    let payer = Keypair::new();
    let sig = client.request_airdrop(&payer.pubkey(), 10 * SOL).await.expect("airdrop");
    assert!(client.confirm_transaction(&sig).await.expect("confirm"), "the airdrop landed");
    payer
}

async fn send(
    client: &RpcClient,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> solana_program::hash::Hash {
    let blockhash = client.get_latest_blockhash().await.expect("blockhash");
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &all, blockhash);
    client.send_and_confirm_transaction(&tx).await.expect("sent and confirmed");
    blockhash
}

/// A token account of `mint` owned by `owner`.
async fn token_account(client: &RpcClient, payer: &Keypair, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
    let account = Keypair::new();
    let rent = client.get_minimum_balance_for_rent_exemption(TokenAccount::LEN).await.expect("rent");
    let ixs = [
        solana_system_interface::instruction::create_account(
            &payer.pubkey(),
            &account.pubkey(),
            rent,
            TokenAccount::LEN as u64,
            &spl_token_interface::ID,
        ),
        spl_token_interface::instruction::initialize_account3(&spl_token_interface::ID, &account.pubkey(), mint, owner)
            .expect("init"),
    ];
    send(client, payer, &ixs, &[&account]).await;
    account.pubkey()
}

fn price_ix(micro_lamports: u64) -> Instruction {
    let mut data = vec![3u8];
    data.extend_from_slice(&micro_lamports.to_le_bytes());
    Instruction::new_with_bytes(solana_program::pubkey!("ComputeBudget111111111111111111111111111111"), &data, vec![])
}

#[tokio::test]
async fn a_wallet_and_a_keeper_see_a_chain_through_solana_client() {
    let (chain, client) = chain().await;
    assert!(client.get_version().await.expect("version").solana_core.starts_with("3.1"));
    let slot = client.get_slot().await.expect("slot");
    let payer = funded(&client).await;
    assert_eq!(client.get_balance(&payer.pubkey()).await.expect("balance"), 10 * SOL);
    assert!(client.get_slot().await.expect("slot") >= slot);

    // Collateral: a token account, minted into, read back exactly.
    let owner = Keypair::new();
    let account = token_account(&client, &payer, &chain.collateral_mint, &owner.pubkey()).await;
    chain.mint_collateral(account, 1_500_000).await.expect("mint");
    let balance = client.get_token_account_balance(&account).await.expect("token balance");
    assert_eq!((balance.amount.as_str(), balance.decimals, balance.ui_amount_string.as_str()), ("1500000", 6, "1.5"));

    // Program accounts, filtered as chain-sync filters them.
    let filters = vec![
        RpcFilterType::DataSize(TokenAccount::LEN as u64),
        RpcFilterType::Memcmp(Memcmp::new_base58_encoded(32, owner.pubkey().as_ref())),
    ];
    let config = RpcProgramAccountsConfig {
        filters: Some(filters),
        account_config: RpcAccountInfoConfig::default(),
        ..RpcProgramAccountsConfig::default()
    };
    let found = client.get_program_ui_accounts_with_config(&spl_token_interface::ID, config).await.expect("gpa");
    assert_eq!(found.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [account]);
    let token = TokenAccount::unpack(&found[0].1.data.decode().expect("base64 data")).expect("a token account");
    assert_eq!((token.mint, token.owner, token.amount), (chain.collateral_mint, owner.pubkey(), 1_500_000));
    let accounts = client.get_multiple_accounts(&[account, Pubkey::new_unique()]).await.expect("multiple");
    assert!(accounts[0].is_some() && accounts[1].is_none());

    // A priced transaction shows in the recent prioritization fees of the accounts it wrote.
    let to = Pubkey::new_unique();
    send(
        &client,
        &payer,
        &[price_ix(5_000), solana_system_interface::instruction::transfer(&payer.pubkey(), &to, SOL)],
        &[],
    )
    .await;
    let fees = client.get_recent_prioritization_fees(&[to]).await.expect("fees");
    assert_eq!(fees.iter().map(|f| f.prioritization_fee).collect::<Vec<_>>(), [5_000]);
    assert!(client.get_recent_prioritization_fees(&[Pubkey::new_unique()]).await.expect("fees").is_empty());
}

#[tokio::test]
async fn refusals_re_sends_and_expired_blockhashes_behave_as_on_a_cluster() {
    let (chain, client) = chain().await;
    let payer = funded(&client).await;

    // The program is there, and refuses what it must: only the upgrade authority initializes.
    let fee_owner = Keypair::new();
    let fee_account = token_account(&client, &payer, &chain.collateral_mint, &fee_owner.pubkey()).await;
    let terms = || ConfigTerms {
        admin_threshold: 1,
        admins: vec![payer.pubkey()],
        oracles: vec![payer.pubkey()],
        fee_bps: 100,
    };
    let id = kairos_flash_bets::ID;
    let blockhash = client.get_latest_blockhash().await.expect("blockhash");
    let wrong = initialize_config(&id, &payer.pubkey(), &chain.collateral_mint, &fee_account, terms());
    let tx = Transaction::new_signed_with_payer(&[wrong], Some(&payer.pubkey()), &[&payer], blockhash);
    let err = client.send_transaction(&tx).await.expect_err("not the upgrade authority");
    assert_eq!(
        err.get_transaction_error(),
        Some(TransactionError::InstructionError(0, InstructionError::Custom(FlashError::NotUpgradeAuthority as u32))),
        "{err}"
    );
    let authority = chain.upgrade_authority.insecure_clone();
    client.request_airdrop(&authority.pubkey(), SOL).await.expect("airdrop");
    let init = initialize_config(&id, &authority.pubkey(), &chain.collateral_mint, &fee_account, terms());
    let blockhash = client.get_latest_blockhash().await.expect("blockhash");
    let tx = Transaction::new_signed_with_payer(&[init], Some(&authority.pubkey()), &[&authority], blockhash);
    let sig = client.send_and_confirm_transaction(&tx).await.expect("initialized");
    let (config, _) = kairos_flash_bets::state::config_address(&id);
    assert_eq!(client.get_account(&config).await.expect("config").owner, id);

    // The answer was lost and the same transaction goes again: it does not run twice.
    let err = client.send_transaction(&tx).await.expect_err("already processed");
    assert_eq!(err.get_transaction_error(), Some(TransactionError::AlreadyProcessed), "{err}");
    let skip = RpcSendTransactionConfig { skip_preflight: true, ..RpcSendTransactionConfig::default() };
    assert_eq!(client.send_transaction_with_config(&tx, skip).await.expect("deduplicated"), sig);
    let statuses = client.get_signature_statuses(&[sig]).await.expect("statuses").value;
    let status = statuses[0].clone().expect("landed");
    assert!(status.err.is_none() && status.satisfies_commitment(CommitmentConfig::finalized()), "{status:?}");
    let record = client
        .get_transaction(&sig, solana_transaction_status_client_types::UiTransactionEncoding::Base64)
        .await
        .expect("the transaction's record");
    assert_eq!(record.slot, status.slot);
    assert!(record.transaction.meta.expect("meta").err.is_none());

    // A blockhash past its life is refused; a rebuilt transaction goes through.
    let old = client.get_latest_blockhash().await.expect("blockhash");
    chain.expire_blockhash().await.expect("expire");
    assert!(!client.is_blockhash_valid(&old, CommitmentConfig::confirmed()).await.expect("valid?"));
    let transfer = solana_system_interface::instruction::transfer(&payer.pubkey(), &Pubkey::new_unique(), SOL);
    let stale =
        Transaction::new_signed_with_payer(std::slice::from_ref(&transfer), Some(&payer.pubkey()), &[&payer], old);
    let err = client.send_transaction(&stale).await.expect_err("expired");
    assert_eq!(err.get_transaction_error(), Some(TransactionError::BlockhashNotFound), "{err}");
    send(&client, &payer, &[transfer], &[]).await;
}

/// The websocket subscriptions through solana-client's own `PubsubClient`: a program's
/// accounts (filtered), a signature subscribed before and after it lands, slots, and the end
/// of every stream when the chain drops its subscribers.
#[tokio::test]
async fn subscriptions_push_accounts_signatures_and_slots_through_solana_s_pubsub_client() {
    use futures_util::StreamExt as _;
    use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
    use solana_rpc_client_api::config::RpcSignatureSubscribeConfig;
    use std::time::Duration;

    let (chain, client) = chain().await;
    let pubsub = PubsubClient::new(chain.ws_url()).await.expect("websocket");
    let payer = funded(&client).await;
    let owner = Keypair::new();
    let config = RpcProgramAccountsConfig {
        filters: Some(vec![
            RpcFilterType::DataSize(TokenAccount::LEN as u64),
            RpcFilterType::Memcmp(Memcmp::new_base58_encoded(32, owner.pubkey().as_ref())),
        ]),
        account_config: RpcAccountInfoConfig {
            encoding: Some(solana_rpc_client_api::response::UiAccountEncoding::Base64),
            commitment: Some(CommitmentConfig::finalized()),
            ..RpcAccountInfoConfig::default()
        },
        ..RpcProgramAccountsConfig::default()
    };
    let (mut accounts, _unsubscribe) =
        pubsub.program_subscribe(&spl_token_interface::ID, Some(config)).await.expect("programSubscribe");
    let (mut slots, _unsubscribe_slots) = pubsub.slot_subscribe().await.expect("slotSubscribe");
    let wait = Duration::from_secs(10);

    // Another owner's token account is not this subscription's.
    token_account(&client, &payer, &chain.collateral_mint, &Pubkey::new_unique()).await;
    let account = token_account(&client, &payer, &chain.collateral_mint, &owner.pubkey()).await;
    let update = tokio::time::timeout(wait, accounts.next()).await.expect("a notification in time").expect("open");
    assert_eq!(update.value.pubkey, account.to_string(), "the filtered account, not the other owner's");
    let token = TokenAccount::unpack(&update.value.account.data.decode().expect("base64")).expect("token account");
    assert_eq!((token.owner, token.amount), (owner.pubkey(), 0));
    chain.mint_collateral(account, 7).await.expect("mint");
    let update = tokio::time::timeout(wait, accounts.next()).await.expect("a notification in time").expect("open");
    let token = TokenAccount::unpack(&update.value.account.data.decode().expect("base64")).expect("token account");
    assert_eq!(token.amount, 7, "the account as the mint left it");
    assert!(update.context.slot >= 1);
    let slot = tokio::time::timeout(wait, slots.next()).await.expect("a slot in time").expect("open");
    assert!(slot.slot >= 1);

    // A signature subscribed before it is sent, and one subscribed after it landed.
    let blockhash = client.get_latest_blockhash().await.expect("blockhash");
    let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &Pubkey::new_unique(), SOL);
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[&payer], blockhash);
    let config = RpcSignatureSubscribeConfig {
        commitment: Some(CommitmentConfig::confirmed()),
        enable_received_notification: None,
    };
    let (mut before, _u) =
        pubsub.signature_subscribe(&tx.signatures[0], Some(config.clone())).await.expect("signatureSubscribe");
    client.send_transaction(&tx).await.expect("sent");
    let landed = tokio::time::timeout(wait, before.next()).await.expect("notified in time").expect("open");
    assert!(matches!(
        landed.value,
        solana_rpc_client_api::response::RpcSignatureResult::ProcessedSignature(ref r) if r.err.is_none()
    ));
    let (mut after, _u) =
        pubsub.signature_subscribe(&tx.signatures[0], Some(config)).await.expect("signatureSubscribe");
    let landed_before = tokio::time::timeout(wait, after.next()).await.expect("notified at once").expect("open");
    assert_eq!(landed_before.context.slot, landed.context.slot);

    // Dropped by the chain: the stream ends, which is how a subscriber knows to poll again.
    chain.drop_subscribers().await.expect("drop");
    let ended = tokio::time::timeout(wait, async { while accounts.next().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the subscription's stream ends when the chain drops it");
}
