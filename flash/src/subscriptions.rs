//! Solana's websocket subscriptions (solana-client's `PubsubClient`) where they save polling:
//! a sender is told when its signature lands instead of asking every 400 ms, and chain-sync
//! is pushed the program's accounts as they change instead of reading them all each run.
//! Polling stays the fallback everywhere: a subscription that cannot be opened, or whose
//! stream ends, leaves its caller polling as it would without one, and says so in the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use solana_commitment_config::CommitmentConfig;
use solana_program::pubkey::Pubkey;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::response::UiAccountEncoding;

use crate::chain::ChainError;

/// How long opening a connection may take before the caller polls instead.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// After a connection could not be opened, callers poll for this long before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(10);

/// One shared websocket connection for short subscriptions (signatures), opened on first use
/// and opened again after it fails.
pub struct Subscriptions {
    url: String,
    client: tokio::sync::Mutex<Option<Arc<PubsubClient>>>,
    /// Set when opening failed: no new attempt before this instant.
    retry_at: std::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriptions").finish_non_exhaustive()
    }
}

impl Subscriptions {
    pub fn new(url: &str) -> Self {
        Self { url: url.to_string(), client: tokio::sync::Mutex::new(None), retry_at: std::sync::Mutex::new(None) }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection, opened when there is none; `None` while it cannot be opened (the
    /// caller polls).
    pub async fn client(&self) -> Option<Arc<PubsubClient>> {
        let mut client = self.client.lock().await;
        if let Some(open) = client.as_ref() {
            return Some(open.clone());
        }
        if self.retry_at.lock().ok().and_then(|at| *at).is_some_and(|at| Instant::now() < at) {
            return None;
        }
        match tokio::time::timeout(CONNECT_TIMEOUT, PubsubClient::new(self.url.as_str())).await {
            Ok(Ok(open)) => {
                let open = Arc::new(open);
                *client = Some(open.clone());
                Some(open)
            }
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no connection within {CONNECT_TIMEOUT:?}"),
                };
                tracing::warn!(error = %why, "websocket subscriptions unavailable; polling instead");
                if let Ok(mut at) = self.retry_at.lock() {
                    *at = Some(Instant::now() + RETRY_AFTER);
                }
                None
            }
        }
    }

    /// Drops `failed` (a subscribe on it was refused or its stream ended), so the next caller
    /// opens a new connection.
    pub async fn forget(&self, failed: &Arc<PubsubClient>) {
        let mut client = self.client.lock().await;
        if client.as_ref().is_some_and(|open| Arc::ptr_eq(open, failed)) {
            *client = None;
        }
    }
}

/// What following a program's accounts reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramEvent {
    /// The subscription is open: every change from now on will be reported.
    Subscribed,
    /// An account of the program as of `slot` (the notification's context).
    Account { address: Pubkey, slot: u64, data: Vec<u8> },
}

/// Follows every account `program` owns at `finalized` over its own connection, calling
/// `on_event` for each, until the stream ends (`Ok`: the server dropped it) or the
/// subscription cannot be made (`Err`). Either way the caller has lost the stream and must
/// read the chain again.
pub async fn follow_program(
    url: &str,
    program: Pubkey,
    mut on_event: impl FnMut(ProgramEvent),
) -> Result<(), ChainError> {
    let rpc = |e: &dyn std::fmt::Display| ChainError::Rpc(format!("websocket subscription: {e}"));
    let client = tokio::time::timeout(CONNECT_TIMEOUT, PubsubClient::new(url))
        .await
        .map_err(|_| rpc(&"no connection in time"))?
        .map_err(|e| rpc(&e))?;
    let config = RpcProgramAccountsConfig {
        account_config: RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            commitment: Some(CommitmentConfig::finalized()),
            ..RpcAccountInfoConfig::default()
        },
        ..RpcProgramAccountsConfig::default()
    };
    let (mut stream, _unsubscribe) = client.program_subscribe(&program, Some(config)).await.map_err(|e| rpc(&e))?;
    on_event(ProgramEvent::Subscribed);
    while let Some(update) = stream.next().await {
        let Ok(address) = update.value.pubkey.parse::<Pubkey>() else {
            tracing::error!(account = %update.value.pubkey, "a program notification names no address");
            continue;
        };
        let Some(data) = update.value.account.data.decode() else {
            tracing::error!(account = %address, "a program notification's data does not decode");
            continue;
        };
        on_event(ProgramEvent::Account { address, slot: update.context.slot, data });
    }
    Ok(())
}
