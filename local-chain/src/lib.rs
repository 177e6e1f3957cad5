//! A local Solana chain for dev and tests that speaks Solana's JSON-RPC over HTTP on
//! localhost, so every line of chain code in the API and the keepers is solana-client over
//! HTTP, exactly as against a real cluster.
//!
//! What it is: LiteSVM (the Solana runtime as a library) with the flash-bets program registered
//! natively through `kairos-svm-shim` (the SBF toolchain cannot be installed here, so the
//! program is the host build of the same source), SPL Token, a collateral mint of six decimals,
//! and the methods a wallet, the API and the keepers use ([`node::Node::call`]).
//!
//! Websocket subscriptions (`programSubscribe`, `accountSubscribe`, `signatureSubscribe`,
//! `slotSubscribe`) are served on the same address as `ws://` ([`LocalChain::ws_url`]).
//!
//! What it is not: a validator. There is no SBF build, no consensus, no forks, no votes and no
//! gossip; everything that lands is final at once, so every commitment level is notified
//! together; native code is not metered. It never runs in `staging` or `prod`.

pub mod node;
pub mod pubsub;
pub mod rpc;

use std::net::SocketAddr;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::{IntoResponse as _, Response};
use axum::routing::post;
use serde_json::Value;
use solana_keypair::Keypair;
use solana_program::pubkey::Pubkey;
use solana_transaction_error::TransactionError;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use crate::node::FlashGenesis;
use crate::node::Node;

/// What the chain's thread is asked to do.
enum Job {
    Rpc(Value, oneshot::Sender<Value>),
    Mint(Pubkey, u64, oneshot::Sender<Result<(), String>>),
    ExpireBlockhash(oneshot::Sender<()>),
    InitializeFlash(Box<(Keypair, FlashGenesis)>, oneshot::Sender<Result<(), String>>),
    Status(String, oneshot::Sender<Option<(u64, Option<TransactionError>)>>),
    DropSubscribers(oneshot::Sender<()>),
}

/// Landed transactions a subscriber may be behind by before its connection is closed.
const EVENT_QUEUE: usize = 4_096;

/// What the HTTP and websocket handlers reach the chain through.
#[derive(Clone)]
struct Shared {
    jobs: mpsc::Sender<Job>,
    events: Arc<std::sync::Mutex<broadcast::Sender<Arc<pubsub::Landed>>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LocalChainError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the local chain has stopped")]
    Stopped,
    #[error("{0}")]
    Refused(String),
}

/// A running local chain. Dropping it (or [`LocalChain::stop`]) stops the server and the chain.
pub struct LocalChain {
    url: String,
    ws_url: String,
    jobs: mpsc::Sender<Job>,
    /// The flash-bets program's upgrade authority: the one key that may initialize its config.
    pub upgrade_authority: Keypair,
    pub collateral_mint: Pubkey,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for LocalChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalChain").field("url", &self.url).field("collateral_mint", &self.collateral_mint).finish()
    }
}

impl LocalChain {
    /// Starts the chain and its JSON-RPC server on `addr` (port 0 for any free port).
    pub async fn start(addr: SocketAddr) -> Result<Self, LocalChainError> {
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|source| LocalChainError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| LocalChainError::Bind { addr, source })?;
        let (jobs, mut queue) = mpsc::channel::<Job>(1_024);
        let (ready, setup) = oneshot::channel();
        let events = Arc::new(std::sync::Mutex::new(broadcast::channel(EVENT_QUEUE).0));
        let publisher = events.clone();
        std::thread::Builder::new()
            .name("local-chain".into())
            .spawn(move || {
                let (mut node, setup) = Node::new();
                let _ = ready.send(setup);
                while let Some(job) = queue.blocking_recv() {
                    match job {
                        Job::Rpc(request, reply) => {
                            // A defect in one method answers that request with an internal
                            // error instead of ending the chain for everyone.
                            let answer =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle(&mut node, &request)))
                                    .unwrap_or_else(|_| internal_error(&request));
                            let _ = reply.send(answer);
                        }
                        Job::Mint(account, amount, reply) => {
                            let _ = reply.send(node.mint_collateral(&account, amount).map(|_| ()));
                        }
                        Job::InitializeFlash(setup, reply) => {
                            let (authority, genesis) = *setup;
                            let _ = reply.send(node.initialize_flash(&authority, &genesis));
                        }
                        Job::ExpireBlockhash(reply) => {
                            node.expire_blockhash();
                            let _ = reply.send(());
                        }
                        Job::Status(signature, reply) => {
                            let _ = reply.send(node.landed_status(&signature));
                        }
                        Job::DropSubscribers(reply) => {
                            // A new channel: every connection's receiver sees the old one
                            // close and ends, as when a validator drops its websockets.
                            if let Ok(mut sender) = publisher.lock() {
                                *sender = broadcast::channel(EVENT_QUEUE).0;
                            }
                            let _ = reply.send(());
                        }
                    }
                    let landed = node.take_landed();
                    if !landed.is_empty()
                        && let Ok(sender) = publisher.lock()
                    {
                        for l in landed {
                            // No subscriber is no error.
                            let _ = sender.send(Arc::new(l));
                        }
                    }
                }
            })
            .map_err(|e| LocalChainError::Refused(format!("cannot start the chain's thread: {e}")))?;
        let setup = setup.await.map_err(|_| LocalChainError::Stopped)?;
        let shared = Shared { jobs: jobs.clone(), events };
        let app = Router::new().route("/", post(serve).get(subscribe)).with_state(shared);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the local chain's server stopped");
            }
        });
        tracing::info!(url = %format!("http://{local}"), mint = %setup.mint, "local chain listening (LiteSVM, not a validator)");
        Ok(Self {
            url: format!("http://{local}"),
            ws_url: format!("ws://{local}"),
            jobs,
            upgrade_authority: setup.upgrade_authority,
            collateral_mint: setup.mint,
            server,
        })
    }

    /// The JSON-RPC URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The websocket URL of the subscriptions (`ws://127.0.0.1:PORT`).
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// Closes every websocket connection (tests of a subscriber's fallback to polling).
    pub async fn drop_subscribers(&self) -> Result<(), LocalChainError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::DropSubscribers(reply)).await.map_err(|_| LocalChainError::Stopped)?;
        answer.await.map_err(|_| LocalChainError::Stopped)
    }

    /// Mints collateral into an existing token account of the collateral mint.
    pub async fn mint_collateral(&self, token_account: Pubkey, amount: u64) -> Result<(), LocalChainError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::Mint(token_account, amount, reply)).await.map_err(|_| LocalChainError::Stopped)?;
        answer.await.map_err(|_| LocalChainError::Stopped)?.map_err(LocalChainError::Refused)
    }

    /// Initializes the flash-bets program's config (signed by [`Self::upgrade_authority`], the
    /// only admin) and stores the genesis' verifying keys: what an operator does once on a
    /// cluster, done at start in dev and in tests.
    pub async fn initialize_flash(&self, genesis: FlashGenesis) -> Result<(), LocalChainError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::InitializeFlash(Box::new((self.upgrade_authority.insecure_clone(), genesis)), reply);
        self.jobs.send(job).await.map_err(|_| LocalChainError::Stopped)?;
        answer.await.map_err(|_| LocalChainError::Stopped)?.map_err(LocalChainError::Refused)
    }

    /// Replaces the blockhash now: transactions signed with the old one are refused.
    pub async fn expire_blockhash(&self) -> Result<(), LocalChainError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::ExpireBlockhash(reply)).await.map_err(|_| LocalChainError::Stopped)?;
        answer.await.map_err(|_| LocalChainError::Stopped)
    }

    pub fn stop(self) {
        self.server.abort();
    }
}

impl Drop for LocalChain {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The answer to a request whose handling panicked.
fn internal_error(request: &Value) -> Value {
    serde_json::json!({
        "jsonrpc": "2.0", "id": request.get("id").cloned().unwrap_or(Value::Null),
        "error": { "code": -32603, "message": "Internal error" },
    })
}

/// One request or a batch.
fn handle(node: &mut Node, request: &Value) -> Value {
    let one = |node: &mut Node, request: &Value| match rpc::parse(request) {
        Ok((method, params, id)) => rpc::answer(id, node.call(&method, &params)),
        Err(answer) => answer,
    };
    match request {
        Value::Array(batch) => Value::Array(batch.iter().map(|r| one(node, r)).collect()),
        single => one(node, single),
    }
}

async fn subscribe(State(shared): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    let Ok(events) = shared.events.lock().map(|sender| sender.subscribe()) else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let jobs = shared.jobs.clone();
    let lookup: pubsub::LandedLookup = Arc::new(move |signature| {
        let jobs = jobs.clone();
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            jobs.send(Job::Status(signature, reply)).await.ok()?;
            answer.await.ok().flatten()
        })
    });
    upgrade.on_upgrade(move |socket| pubsub::serve(socket, events, lookup))
}

async fn serve(State(shared): State<Shared>, body: axum::body::Bytes) -> axum::Json<Value> {
    let jobs = shared.jobs;
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return axum::Json(serde_json::json!({
                "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": "Parse error" },
            }));
        }
    };
    let (reply, answer) = oneshot::channel();
    if jobs.send(Job::Rpc(request, reply)).await.is_err() {
        return axum::Json(serde_json::json!({
            "jsonrpc": "2.0", "id": null, "error": { "code": -32603, "message": "the local chain has stopped" },
        }));
    }
    axum::Json(answer.await.unwrap_or(Value::Null))
}
