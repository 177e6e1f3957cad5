//! The CLOB's dead-man's switch kept alive: the server cancels every open order when no valid
//! heartbeat arrives for 10 s (5 s of grace). A background task beats every `every`, sends the
//! id the server last returned, retries a failed beat with jittered backoff instead of waiting
//! for the next tick, and says when the deadline is at risk, so the owner can stop quoting
//! before the exchange cancels for it. A beat the CLOB rejects ("Invalid Heartbeat ID", with
//! the id it expected) did not move the deadline: it is reported, and the expected id goes out
//! at once rather than after `every`.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::{ClobClient, ClobError, HeartbeatReply};

#[derive(Debug, Clone)]
pub struct HeartbeatConfig {
    /// Between successful beats (the docs advise 5 s).
    pub every: Duration,
    /// The server's deadline (10 s).
    pub deadline: Duration,
    /// Report `AtRisk` once this long has passed without a successful beat.
    pub at_risk_after: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
            at_risk_after: Duration::from_secs(7),
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum HeartbeatEvent {
    /// The server took the beat and returned the id to send next.
    Beat { id: String },
    /// The server refused the id sent and named the one it expects (possibly empty). The
    /// deadline did not move; if it had already passed, the server cancelled every open order.
    Rejected { expected: String },
    /// A beat failed; the next try comes after `retry_in`.
    Failed { error: String, retry_in: Duration },
    /// No beat has succeeded for `since`: the server may cancel every open order at
    /// `deadline`. Sent once per failing stretch.
    AtRisk { since: Duration, deadline: Duration },
}

/// The running task; dropping it stops the beats (and so, within the deadline, the server
/// cancels the account's open orders).
#[derive(Debug)]
pub struct Heartbeat {
    pub events: mpsc::Receiver<HeartbeatEvent>,
    stop: watch::Sender<bool>,
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Starts beating with `client` (which needs L2 credentials).
pub fn spawn(client: ClobClient, config: HeartbeatConfig) -> Heartbeat {
    let (tx, events) = mpsc::channel(64);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(run(client, config, tx, stopped));
    Heartbeat { events, stop }
}

async fn run(
    client: ClobClient,
    config: HeartbeatConfig,
    tx: mpsc::Sender<HeartbeatEvent>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut id = String::new();
    let mut last_ok = Instant::now();
    let mut failures: u32 = 0;
    let mut warned = false;
    loop {
        let wait = match client.heartbeat(&id).await {
            Ok(HeartbeatReply::Accepted { next }) => {
                id = next;
                last_ok = Instant::now();
                failures = 0;
                warned = false;
                // A full channel drops a routine beat event, never a warning (below).
                let _ = tx.try_send(HeartbeatEvent::Beat { id: id.clone() });
                config.every
            }
            Ok(HeartbeatReply::Rejected { expected }) => {
                id = expected.clone();
                if tx.send(HeartbeatEvent::Rejected { expected }).await.is_err() {
                    return;
                }
                // The first rejection in a stretch is answered at once; a server that keeps
                // rejecting is not hammered.
                let wait = if failures == 0 { Duration::ZERO } else { retry_delay(None, failures, &config) };
                failures = failures.saturating_add(1);
                if !warn_if_at_risk(&tx, last_ok, &mut warned, &config).await {
                    return;
                }
                wait
            }
            Err(e) => {
                let retry_in = retry_delay(Some(&e), failures, &config);
                failures = failures.saturating_add(1);
                if tx.send(HeartbeatEvent::Failed { error: e.to_string(), retry_in }).await.is_err() {
                    return;
                }
                if !warn_if_at_risk(&tx, last_ok, &mut warned, &config).await {
                    return;
                }
                retry_in
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => return,
        }
    }
}

/// Sends `AtRisk` once per failing stretch; `false` when nobody listens any more.
async fn warn_if_at_risk(
    tx: &mpsc::Sender<HeartbeatEvent>,
    last_ok: Instant,
    warned: &mut bool,
    config: &HeartbeatConfig,
) -> bool {
    let since = last_ok.elapsed();
    if since >= config.at_risk_after && !*warned {
        *warned = true;
        return tx.send(HeartbeatEvent::AtRisk { since, deadline: config.deadline }).await.is_ok();
    }
    true
}

/// The server's `Retry-After` when it gave one, else `retry_min · 2^failures` with jitter,
/// both capped at `retry_max`: a beat must be retried well inside the deadline.
fn retry_delay(e: Option<&ClobError>, failures: u32, config: &HeartbeatConfig) -> Duration {
    if let Some(ClobError::Status { retry_after: Some(d), .. }) = e {
        return (*d).min(config.retry_max);
    }
    crate::backoff::jittered(failures, config.retry_min, config.retry_max)
}
