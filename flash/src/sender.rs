//! Sending a keeper's transaction so that it lands once: a recent blockhash, a compute-unit
//! limit and price (the recent median for the accounts it writes, capped), confirmation
//! tracking, re-sending the same bytes while the blockhash is valid and rebuilding after it
//! expires. Before every build the caller's `done` reads the chain: when the action already
//! happened (an earlier send whose answer was lost, another keeper), nothing more is sent. A
//! refusal is checked the same way, so "already done" ends the work instead of being retried.
//!
//! With a websocket endpoint, each transaction's signature is subscribed to before it is sent,
//! so its landing wakes the sender at once and the status is polled only every `resend`
//! (to re-send and to notice expiry) instead of every `poll`; without one, or when the
//! subscription fails or ends, the sender polls every `poll` as before.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_program::instruction::Instruction;
use solana_rpc_client_api::config::{RpcSendTransactionConfig, RpcSignatureSubscribeConfig};
use solana_signer::Signer as _;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;
use tokio::sync::oneshot;

use crate::chain::{ChainError, FlashChain};
use crate::wallet_tx::compute_budget;

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This transaction landed (confirmed) in `slot`.
    Landed { signature: String, slot: u64 },
    /// The chain already shows the action done; nothing (more) was sent.
    AlreadyDone,
}

impl Outcome {
    /// What a keeper records: the signature when this send landed (else none), and its slot
    /// as the database's integer (0 when the chain already showed the action done).
    pub fn record(&self) -> (Option<&str>, i64) {
        match self {
            Outcome::Landed { signature, slot } => (Some(signature.as_str()), i64::try_from(*slot).unwrap_or(i64::MAX)),
            Outcome::AlreadyDone => (None, 0),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The program (or the runtime) refused the transaction, and the action is not done.
    #[error("refused: {0}")]
    Refused(TransactionError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("not confirmed within {0:?}")]
    Timeout(Duration),
}

/// How patiently to send.
#[derive(Debug, Clone, Copy)]
pub struct SendPolicy {
    /// Between status polls.
    pub poll: Duration,
    /// Between re-sends of the same bytes while unconfirmed.
    pub resend: Duration,
    /// Give up after this long (the job's run has its own timeout too).
    pub give_up: Duration,
}

impl SendPolicy {
    pub const DEFAULT: SendPolicy = SendPolicy {
        poll: Duration::from_millis(400),
        resend: Duration::from_secs(2),
        give_up: Duration::from_secs(90),
    };
}

fn rpc(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(e.to_string())
}

/// Sends `instructions` paid for and signed by `payer` (and `signers`), asking for `units`
/// compute units, until it lands or `done` says the action happened.
pub async fn send<F, Fut>(
    chain: &FlashChain,
    payer: &Keypair,
    signers: &[&Keypair],
    instructions: &[Instruction],
    units: u32,
    policy: SendPolicy,
    done: F,
) -> Result<Outcome, SendError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<bool, ChainError>>,
{
    let started = Instant::now();
    let rpc_client = chain.rpc();
    let writable: Vec<_> =
        instructions.iter().flat_map(|ix| ix.accounts.iter().filter(|a| a.is_writable).map(|a| a.pubkey)).collect();
    loop {
        if done().await? {
            return Ok(Outcome::AlreadyDone);
        }
        let price = chain.priority_fee(&writable).await?;
        let (blockhash, last_valid) =
            rpc_client.get_latest_blockhash_with_commitment(CommitmentConfig::confirmed()).await.map_err(rpc)?;
        let mut all = compute_budget(units, price).to_vec();
        all.extend_from_slice(instructions);
        let mut keys: Vec<&Keypair> = vec![payer];
        keys.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer.pubkey()), &keys, blockhash);
        let signature = tx.signatures[0];
        let mut watch = LandingWatch::open(chain, signature).await;
        let preflight = RpcSendTransactionConfig {
            skip_preflight: false,
            preflight_commitment: Some(CommitmentConfig::confirmed().commitment),
            ..Default::default()
        };
        if let Err(e) = rpc_client.send_transaction_with_config(&tx, preflight).await {
            match e.get_transaction_error() {
                // Sent before (a lost answer): track it like any other.
                Some(TransactionError::AlreadyProcessed) => {}
                Some(refusal) => {
                    return if done().await? { Ok(Outcome::AlreadyDone) } else { Err(SendError::Refused(refusal)) };
                }
                // No answer: the transaction may have landed. Track it, and re-send below.
                None => tracing::warn!(%signature, error = %e, "sendTransaction had no answer; tracking the signature"),
            }
        }
        let mut last_send = Instant::now();
        loop {
            if started.elapsed() > policy.give_up {
                return Err(SendError::Timeout(policy.give_up));
            }
            pause(&mut watch, &policy).await;
            // A poll that gets no answer says nothing about the transaction: ask again at the
            // next poll (until `give_up`) rather than lose track of one that may have landed.
            let statuses = match rpc_client.get_signature_statuses(&[signature]).await {
                Ok(statuses) => statuses,
                Err(e) => {
                    tracing::warn!(%signature, error = %e, "getSignatureStatuses failed; polling again");
                    continue;
                }
            };
            if let Some(Some(status)) = statuses.value.first() {
                if let Some(err) = &status.err {
                    return if done().await? { Ok(Outcome::AlreadyDone) } else { Err(SendError::Refused(err.clone())) };
                }
                if status.satisfies_commitment(CommitmentConfig::confirmed()) {
                    return Ok(Outcome::Landed { signature: signature.to_string(), slot: status.slot });
                }
                continue;
            }
            let height = match rpc_client.get_block_height().await {
                Ok(height) => height,
                Err(e) => {
                    tracing::warn!(%signature, error = %e, "getBlockHeight failed; polling again");
                    continue;
                }
            };
            if height > last_valid {
                // Expired unseen: it can never land now. Read the chain and build anew.
                break;
            }
            if last_send.elapsed() >= policy.resend {
                let again = RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
                if let Err(e) = rpc_client.send_transaction_with_config(&tx, again).await {
                    tracing::debug!(%signature, error = %e, "re-send failed; still tracking");
                }
                last_send = Instant::now();
            }
        }
    }
}

/// A subscription to one signature, opened before the transaction is sent so its landing
/// cannot be missed. Dropping it unsubscribes.
struct LandingWatch {
    /// Fires when the signature lands; closed (`Err`) when the subscription ended without it.
    landed: Option<oneshot::Receiver<()>>,
    _cancel: oneshot::Sender<()>,
}

impl LandingWatch {
    /// `None` when the chain has no websocket endpoint or the subscription cannot be made:
    /// the sender then polls.
    async fn open(chain: &FlashChain, signature: solana_signature::Signature) -> Option<Self> {
        let subscriptions = chain.subscriptions()?;
        let client = subscriptions.client().await?;
        let (subscribed_tx, subscribed) = oneshot::channel::<bool>();
        let (landed_tx, landed) = oneshot::channel();
        let (cancel, cancelled) = oneshot::channel::<()>();
        let task_client = client.clone();
        tokio::spawn(async move {
            let config = RpcSignatureSubscribeConfig {
                commitment: Some(CommitmentConfig::confirmed()),
                enable_received_notification: Some(false),
            };
            let (mut stream, unsubscribe) = match task_client.signature_subscribe(&signature, Some(config)).await {
                Ok(subscription) => subscription,
                Err(e) => {
                    tracing::warn!(%signature, error = %e, "signatureSubscribe failed; polling");
                    let _ = subscribed_tx.send(false);
                    return;
                }
            };
            let _ = subscribed_tx.send(true);
            tokio::select! {
                note = stream.next() => {
                    if note.is_some() {
                        let _ = landed_tx.send(());
                    }
                }
                _ = cancelled => {}
            }
            // Told on both paths: the server ends a notified signature subscription itself, but
            // the shared client keeps each subscription's entry until it is unsubscribed, so a
            // send that skipped this would leave one entry behind for the connection's life.
            drop(stream);
            unsubscribe().await;
        });
        match tokio::time::timeout(Duration::from_secs(3), subscribed).await {
            Ok(Ok(true)) => Some(LandingWatch { landed: Some(landed), _cancel: cancel }),
            _ => {
                subscriptions.forget(&client).await;
                None
            }
        }
    }
}

/// Waits before the next status poll: until the signature lands or `resend` passes while it
/// is subscribed, `poll` otherwise.
async fn pause(watch: &mut Option<LandingWatch>, policy: &SendPolicy) {
    let Some(landed) = watch.as_mut().and_then(|w| w.landed.as_mut()) else {
        tokio::time::sleep(policy.poll).await;
        return;
    };
    let ended = tokio::select! {
        told = landed => Some(told.is_ok()),
        () = tokio::time::sleep(policy.resend.max(policy.poll)) => None,
    };
    match ended {
        None => {}
        Some(true) => {
            if let Some(w) = watch.as_mut() {
                w.landed = None;
            }
        }
        Some(false) => {
            tracing::debug!("the signature subscription ended; polling");
            *watch = None;
        }
    }
}
