//! A keeper's sends through a proxy in front of the local chain that loses answers: a
//! transaction executed whose answer never came is found by its signature and not sent again;
//! a transaction lost before the chain saw it is rebuilt after its blockhash expires; a
//! refusal that means "already done" ends the work; a real refusal is an error. With the
//! chain's websocket, the landing wakes the sender instead of its polls; without a working
//! one, polling carries on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use kairos_flash::FlashChain;
use kairos_flash::sender::{Outcome, SendError, SendPolicy, send};
use kairos_flash::terms::market_id;
use kairos_flash_bets::instruction::{MarketTerms, create_market};
use kairos_flash_bets::rule::Rule;
use kairos_local_chain::{FlashGenesis, LocalChain};
use solana_keypair::Keypair;
use solana_signer::Signer as _;

/// What the proxy does to the next `sendTransaction`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loss {
    None,
    /// Forward it, then answer 502: the chain executed it, the sender never heard.
    DropAnswer,
    /// Answer 502 without forwarding: the chain never saw it.
    DropRequest,
}

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    loss: Mutex<Vec<Loss>>,
    /// Every `sendTransaction` body that reached the proxy.
    sends: Mutex<usize>,
    /// How many `getSignatureStatuses` polls still get a 502 instead of their answer.
    status_losses: Mutex<usize>,
    /// Every `getSignatureStatuses` that reached the proxy.
    status_polls: Mutex<usize>,
}

async fn relay(State(p): State<Arc<Proxy>>, body: String) -> (StatusCode, String) {
    let is_send = body.contains("\"sendTransaction\"");
    let loss = if is_send {
        *p.sends.lock().expect("sends") += 1;
        let mut plan = p.loss.lock().expect("loss");
        if plan.is_empty() { Loss::None } else { plan.remove(0) }
    } else if body.contains("\"getSignatureStatuses\"") {
        *p.status_polls.lock().expect("polls") += 1;
        let mut left = p.status_losses.lock().expect("status losses");
        if *left > 0 {
            *left -= 1;
            return (StatusCode::BAD_GATEWAY, String::new());
        }
        Loss::None
    } else {
        Loss::None
    };
    if loss == Loss::DropRequest {
        return (StatusCode::BAD_GATEWAY, String::new());
    }
    let answer = p
        .client
        .post(&p.upstream)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("upstream")
        .text()
        .await
        .expect("text");
    if loss == Loss::DropAnswer { (StatusCode::BAD_GATEWAY, String::new()) } else { (StatusCode::OK, answer) }
}

async fn proxy(upstream: &str, loss: Vec<Loss>) -> (Arc<Proxy>, String) {
    let p = Arc::new(Proxy {
        upstream: upstream.to_string(),
        client: reqwest::Client::new(),
        loss: Mutex::new(loss),
        sends: Mutex::new(0),
        status_losses: Mutex::new(0),
        status_polls: Mutex::new(0),
    });
    let app = Router::new().route("/", post(relay)).with_state(p.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (p, format!("http://{addr}"))
}

async fn setup(oracle: &Keypair) -> LocalChain {
    let local = LocalChain::start("127.0.0.1:0".parse().expect("addr")).await.expect("start");
    let key = kairos_flash_circuit::keys::test_keys::keys(4).solana_vk().expect("vk");
    let genesis = FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: 0, keys: vec![(4, 4, key)] };
    local.initialize_flash(genesis).await.expect("initialize");
    FlashChain::new(local.url(), kairos_flash_bets::ID, 0)
        .fund(&oracle.pubkey(), 10_000_000_000, 0)
        .await
        .expect("fund");
    local
}

fn now_s() -> i64 {
    std::time::SystemTime::UNIX_EPOCH.elapsed().expect("clock").as_secs() as i64
}

/// A create_market for a fresh id, and the id.
async fn create(
    chain: &FlashChain,
    oracle: &Keypair,
    lock_in_s: i64,
) -> ([u8; 32], solana_program::instruction::Instruction) {
    let id = market_id(&uuid::Uuid::now_v7());
    let mint = chain.collateral().await.expect("collateral").mint;
    let terms = MarketTerms {
        market_id: id,
        circuit_id: 4,
        rule: Rule::threshold(5),
        lock_at: now_s() + lock_in_s,
        resolve_by: now_s() + 600,
    };
    (id, create_market(&kairos_flash_bets::ID, &oracle.pubkey(), &mint, terms))
}

const FAST: SendPolicy =
    SendPolicy { poll: Duration::from_millis(100), resend: Duration::from_secs(60), give_up: Duration::from_secs(20) };

#[tokio::test]
async fn a_lost_answer_is_tracked_not_sent_again_and_already_done_ends_the_work() {
    let oracle = Keypair::new();
    let local = setup(&oracle).await;
    let (p, url) = proxy(local.url(), vec![Loss::DropAnswer]).await;
    let chain = FlashChain::new(&url, kairos_flash_bets::ID, 1_000);
    let (id, ix) = create(&chain, &oracle, 300).await;
    let exists = || async { Ok(chain.market(&id).await?.is_some()) };
    let first = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists).await.expect("sent");
    assert!(matches!(first, Outcome::Landed { .. }), "{first:?}");
    assert_eq!(*p.sends.lock().expect("sends"), 1, "found by its signature, never sent twice");
    assert!(chain.market(&id).await.expect("read").is_some());

    // Read again before sending: nothing is sent.
    let outcome = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists).await.expect("done");
    assert_eq!(outcome, Outcome::AlreadyDone);
    assert_eq!(*p.sends.lock().expect("sends"), 1);

    // The same transaction again (same blockhash, same bytes) is recognised as the one that
    // landed.
    let stale = || async { Ok(false) };
    let again = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, stale).await.expect("tracked");
    assert_eq!(again, first, "the landed transaction itself, not a second one");

    // A stale read lets a different transaction for the same action be sent (another compute
    // limit, so other bytes); the program refuses (the account exists), and a fresh read turns
    // that refusal into "already done".
    let reads = Mutex::new(0);
    let chain_ref = &chain;
    let stale_first = || {
        let first = {
            let mut n = reads.lock().expect("reads");
            *n += 1;
            *n == 1
        };
        async move { if first { Ok(false) } else { Ok(chain_ref.market(&id).await?.is_some()) } }
    };
    let outcome = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 60_000, FAST, stale_first).await.expect("done");
    assert_eq!(outcome, Outcome::AlreadyDone);
}

#[tokio::test]
async fn status_polls_without_an_answer_are_polled_again_and_nothing_is_sent_twice() {
    let oracle = Keypair::new();
    let local = setup(&oracle).await;
    let (p, url) = proxy(local.url(), vec![]).await;
    *p.status_losses.lock().expect("status losses") = 3;
    let chain = FlashChain::new(&url, kairos_flash_bets::ID, 1_000);
    let (id, ix) = create(&chain, &oracle, 300).await;
    let exists = || async { Ok(chain.market(&id).await?.is_some()) };
    let outcome = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists).await.expect("sent");
    assert!(matches!(outcome, Outcome::Landed { .. }), "the landing is still seen: {outcome:?}");
    assert_eq!(*p.status_losses.lock().expect("status losses"), 0, "the lost polls were asked");
    assert_eq!(*p.sends.lock().expect("sends"), 1);
}

#[tokio::test]
async fn a_transaction_the_chain_never_saw_is_rebuilt_after_its_blockhash_expires() {
    let oracle = Keypair::new();
    let local = Arc::new(setup(&oracle).await);
    let (p, url) = proxy(local.url(), vec![Loss::DropRequest]).await;
    let chain = FlashChain::new(&url, kairos_flash_bets::ID, 1_000);
    let (id, ix) = create(&chain, &oracle, 300).await;
    let expire = {
        let local = local.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            local.expire_blockhash().await.expect("expire");
        })
    };
    let exists = || async { Ok(chain.market(&id).await?.is_some()) };
    let outcome = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists).await.expect("sent");
    expire.await.expect("expired");
    assert!(matches!(outcome, Outcome::Landed { .. }), "{outcome:?}");
    assert_eq!(*p.sends.lock().expect("sends"), 2, "the lost one, then one rebuilt on a new blockhash");
    assert!(chain.market(&id).await.expect("read").is_some());
}

#[tokio::test]
async fn a_real_refusal_is_an_error_and_an_unreachable_chain_is_not_a_refusal() {
    let oracle = Keypair::new();
    let local = setup(&oracle).await;
    let chain = FlashChain::new(local.url(), kairos_flash_bets::ID, 1_000);
    let (id, ix) = create(&chain, &oracle, -5).await;
    let exists = || async { Ok(chain.market(&id).await?.is_some()) };
    let err = send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists)
        .await
        .expect_err("lock_at in the past");
    assert!(matches!(err, SendError::Refused(_)), "{err:?}");
    let down = FlashChain::new("http://127.0.0.1:9", kairos_flash_bets::ID, 1_000);
    let nothing = || async { Ok(false) };
    let err = send(&down, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, nothing).await.expect_err("down");
    assert!(matches!(err, SendError::Chain(_)), "{err:?}");
}

#[tokio::test]
async fn a_subscribed_signature_wakes_the_sender_and_a_dead_websocket_leaves_it_polling() {
    let oracle = Keypair::new();
    let local = setup(&oracle).await;
    let (p, url) = proxy(local.url(), vec![]).await;
    // Polls 30 s apart: only the signature's notification can end this send in time.
    let patient =
        SendPolicy { poll: Duration::from_secs(30), resend: Duration::from_secs(30), give_up: Duration::from_secs(60) };
    let chain = FlashChain::new(&url, kairos_flash_bets::ID, 1_000).with_subscriptions(Some(local.ws_url()));
    let (id, ix) = create(&chain, &oracle, 300).await;
    let exists = || async { Ok(chain.market(&id).await?.is_some()) };
    let sent = tokio::time::timeout(
        Duration::from_secs(10),
        send(&chain, &oracle, &[], std::slice::from_ref(&ix), 50_000, patient, exists),
    )
    .await
    .expect("woken by the notification, not a 30 s poll")
    .expect("sent");
    assert!(matches!(sent, Outcome::Landed { .. }), "{sent:?}");
    assert_eq!(*p.status_polls.lock().expect("polls"), 1, "one status read, after the notification");

    // No websocket listening there: the sender polls as it would without one.
    let polling = FlashChain::new(&url, kairos_flash_bets::ID, 1_000).with_subscriptions(Some("ws://127.0.0.1:9"));
    let (id, ix) = create(&polling, &oracle, 300).await;
    let exists = || async { Ok(polling.market(&id).await?.is_some()) };
    let sent = send(&polling, &oracle, &[], std::slice::from_ref(&ix), 50_000, FAST, exists).await.expect("sent");
    assert!(matches!(sent, Outcome::Landed { .. }), "{sent:?}");
}
